"""The report: what distillation bought, from every results file under results/.

    python pipeline/report.py [--results results] [--out results]

Reads each JSON file under the results folder, checks it against pipeline/schemas/, and
names any malformed, failing or foreign file without stopping. Whatever subset exists
makes a report: plots in <out>/plots/ and <out>/REPORT.md, which puts this run's figures
beside the paper's and states the scale each file came from. The same inputs give the
same bytes (no timestamps), so two runs can be diffed.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from pipeline.config import UserError
from pipeline.core.results_schema import KINDS, kind_of, validate_file
from pipeline.reporting import rows as rows_mod
from pipeline.reporting import headline, tables

# What each kind is for and who writes it, to say what is missing.
EXPECTED = [
    ("mlm_eval", None, "held-out masked LM accuracy", "results/mlm/*.json from the distill stage"),
    ("ablation", None, "Table 4 loss ablation", "results/mlm/ablation.json from the ablation stage "
                                                "(build_all --preset ablation)"),
    ("qa_metrics", None, "QA exact match / F1", "results/qa/*.json from the qa_finetune stage"),
    ("qa_curve", None, "QA teacher learning curve", "results/qa/teacher_curve.json from the qa_finetune stage"),
    ("classification_metrics", None, "classification scores (Tables 1 and 2)",
     "results/glue/*.json from the classify stage (classify.tasks)"),
    ("artifacts", None, "exported model sizes", "results/artifacts.json from the export stage"),
    ("parity", None, "exported vs PyTorch parity", "results/parity.json from the parity stage"),
    ("benchmark", "host", "host latency", "results/host/*.json from the bench_host stage"),
    ("benchmark", "device", "on-device latency",
     "results/device/*.json: run the iOS or Android app's benchmark mode and copy its JSON here"),
]


def collect(results: Path) -> tuple[list[dict], dict]:
    """(one record per JSON file, rows per study). Bad files become records, never exceptions."""
    files, data = [], {k: [] for k in rows_mod.STUDIES}
    paths = sorted((p for p in results.rglob("*.json") if p.is_file()
                    and not any(part.startswith(".") for part in p.relative_to(results).parts)),
                   key=lambda p: p.relative_to(results).as_posix())
    panel_files = {}
    for p in paths:
        rel = p.relative_to(results).as_posix()
        obj, problems = validate_file(p)
        kind = kind_of(obj)
        status = "ok" if not problems else ("foreign" if obj is not None and kind not in KINDS else "invalid")
        rec = {"file": rel, "kind": kind if kind in KINDS else None, "status": status, "problems": problems,
               "scale": obj["scale"] if status == "ok" else None,
               "source": obj.get("source") if status == "ok" else None}
        files.append(rec)
        if status != "ok":
            continue
        study, rows = rows_mod.flatten(kind, obj, rel)
        if study == "latency":
            # Two files from the same device stay apart: neither silently overwrites the other.
            for r in rows:
                owner = panel_files.setdefault(r["panel"], rel)
                if owner != rel:
                    r["panel"] += f" [{rel}]"
        data[study] += rows
    return files, rows_mod.derive(data)


def missing(files: list[dict]) -> list[str]:
    have = {(f["kind"], f["source"]) for f in files if f["status"] == "ok"}
    kinds = {k for k, _ in have}
    return [f"no {what}: expected {where}" for kind, source, what, where in EXPECTED
            if (kind, source) not in have and not (source is None and kind in kinds)]


def partial(data: dict) -> list[str]:
    """Holes inside the studies that do have results: a comparison needs both of its sides."""
    out = []
    for ds in sorted({r["dataset"] for r in data["qa"]}):
        got = {r["model"] for r in data["qa"] if r["dataset"] == ds}
        lack = [m for m in ("teacher", "student", "student_d") if m not in got]  # student_dt is optional
        if lack:
            out.append(f"QA {ds}: no {', '.join(lack)}")
    for panel in sorted({r["panel"] for r in data["latency"]}):
        got = {r["model"] for r in data["latency"] if r["panel"] == panel}
        if "teacher" not in got:
            out.append(f"latency {panel}: no teacher timed, so no speedup")
        elif got == {"teacher"}:
            out.append(f"latency {panel}: only the teacher timed")
    got = {r["variant"] for r in data["ablation"]}
    lack = [v for v in ("full", "ce_only", "cos_only", "no_mlm", "random_init") if v not in got]
    if got and lack:
        out.append(f"ablation: no {', '.join(lack)}" + (" (changes need 'full')" if "full" in lack else ""))
    out += [f"classification {r['task']}: not run ({r['missing']})" for r in data["cls"] if "missing" in r]
    sizes = {r["model"] for r in data["sizes"]}
    if sizes and "teacher" not in sizes:
        out.append("artifacts: no teacher export, so no size ratio")
    return out


def render(files: list[dict], data: dict, plots: list[str]) -> str:
    ok = [f for f in files if f["status"] == "ok"]
    bad = [f for f in files if f["status"] != "ok"]
    md = ["# DistilKit report: what distillation bought", "",
          f"Built by `python pipeline/report.py` from {len(files)} JSON file(s) under the results folder: "
          f"{len(ok)} valid, {len(bad)} skipped. Figures are PNG with an SVG of the same name in `plots/`. "
          "The paper is Sanh et al. 2019, *DistilBERT, a distilled version of BERT* (arXiv 1910.01108).", ""]
    gaps, holes = missing(files), partial(data)
    md += headline.headline_section(data, gaps + holes)
    md += tables.scale_section(ok)
    if bad:
        md += ["## Files skipped", "", "These files were not used (the rest of the report does not depend on them):", ""]
        md += tables.table(["file", "status", "problem"],
                           [[f["file"], f["status"], p] for f in bad for p in f["problems"][:5]])
    md += ["## What is missing", ""] + ([f"- {g}" for g in gaps] if gaps else ["Every study has results."]) + [""]
    if holes:
        md += ["Incomplete studies:", ""] + [f"- {h}" for h in holes] + [""]
    md += tables.sizes_section(data["sizes"], data["mlm"], plots)
    md += tables.latency_section(data["latency"], plots)
    md += tables.precision_section(data["latency"], data["sizes"])
    md += tables.qa_section(data["qa"], plots)
    md += tables.curve_section(data["curve"], plots)
    md += tables.cls_section(data["cls"], plots)
    md += tables.ablation_section(data["ablation"], plots)
    md += tables.mlm_section(data["mlm"], plots)
    md += tables.parity_section(data["parity"])
    return "\n".join(md).rstrip() + "\n"


def build(results: Path, out: Path) -> dict:
    """Write <out>/plots/ and <out>/REPORT.md from <results>; returns counts for the manifest."""
    results, out = Path(results), Path(out)
    if not results.is_dir():
        raise UserError(f"results folder not found: {results}")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create output folder {out}: {e.strerror}") from None
    files, data = collect(results)
    # Plots go to a fresh folder swapped into place, so no stale figure outlives its data.
    partial, final = out / ".plots.partial", out / "plots"
    shutil.rmtree(partial, ignore_errors=True)
    from pipeline.reporting import plots as report_plots  # matplotlib only when figures are drawn
    plots = report_plots.draw_all(data, tables.PAPER_ABLATION, partial)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(partial, final)
    tmp = out / ".REPORT.md.tmp"
    tmp.write_text(render(files, data, plots), encoding="utf-8")
    os.replace(tmp, out / "REPORT.md")
    return {"files": len(files), "valid": sum(f["status"] == "ok" for f in files),
            "skipped": sum(f["status"] != "ok" for f in files), "plots": len(plots) // 2,
            "missing": len(missing(files)),
            "skipped_files": [f"{f['file']}: {f['status']}: {f['problems'][0]}" for f in files if f["status"] != "ok"]}


def run_stage(cfg, ctx) -> dict:
    """Pipeline stage 'report': the report over cfg.run.results_dir, written there; a copy of
    REPORT.md goes into the stage folder so the run manifest records what was reported."""
    results = Path(cfg.run.results_dir)
    results.mkdir(parents=True, exist_ok=True)  # no stage has written results yet: the report says what is missing
    metrics = build(results, results)
    shutil.copyfile(results / "REPORT.md", ctx.out / "REPORT.md")
    return metrics


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="report.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", default="results", help="folder of results JSON files (read recursively)")
    parser.add_argument("--out", default=None, help="where REPORT.md and plots/ go (default: the results folder)")
    args = parser.parse_args(argv)
    try:
        m = build(Path(args.results), Path(args.out or args.results))
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = Path(args.out or args.results)
    for line in m["skipped_files"]:
        print(f"skipped {line}", file=sys.stderr)
    print(f"{m['files']} results file(s): {m['valid']} valid, {m['skipped']} skipped; "
          f"{m['plots']} plot(s); {m['missing']} result type(s) missing -> {out / 'REPORT.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
