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
from pipeline.reporting import headline, over_seeds, tables

SEEDS_DIR = "seeds"  # pipeline/seeds.py writes each seed's results into <results>/seeds/seed<N>/

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


def _json_paths(folder: Path, results: Path, skip: str | None = None) -> list[Path]:
    """JSON files under folder, hidden ones and those under results/<skip>/ left out, in name order."""
    def keep(p: Path) -> bool:
        parts = p.relative_to(results).parts
        return p.is_file() and not any(part.startswith(".") for part in parts) and parts[0] != skip
    return sorted((p for p in folder.rglob("*.json") if keep(p)), key=lambda p: p.relative_to(results).as_posix())


def collect(results: Path) -> tuple[list[dict], dict]:
    """(one record per JSON file, rows per study) of the run in the results folder; the per-seed runs under
    seeds/ are collect_seeds'. Bad files become records, never exceptions."""
    return _read(results, _json_paths(results, results, skip=SEEDS_DIR))


def _read(results: Path, paths: list[Path]) -> tuple[list[dict], dict]:
    files, data = [], {k: [] for k in rows_mod.STUDIES}
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
        if kind == "benchmark":
            data["device_accuracy"] += rows_mod.accuracy_rows(obj, rel)
    return files, rows_mod.derive(data)


def _folder_seed(recs: list[dict]) -> tuple[int | None, str]:
    """The one seed a folder's valid files carry, or (None, why not)."""
    seeds = {r["scale"].get("seed") for r in recs if r["status"] == "ok"}
    if len(seeds) == 1 and None not in seeds:
        return seeds.pop(), ""
    if seeds <= {None}:
        return None, "its valid files carry no seed" if seeds else "it holds no valid results file"
    return None, "its files carry several seeds (" + ", ".join(sorted(str(x) for x in seeds)) + ")"


def collect_seeds(results: Path) -> tuple[list[dict], dict, list[str]]:
    """(file records, {seed: rows per study}, notes) of the per-seed runs, one folder each under seeds/. A
    folder counts for the seed its files carry; one whose files carry none or several, or whose seed another
    folder also holds, is named in the notes and not used, so no seed is counted twice."""
    root, files, by_seed, notes, owner = results / SEEDS_DIR, [], {}, [], {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        recs, data = _read(results, _json_paths(folder, results))
        files += recs
        name = folder.relative_to(results).as_posix()
        seed, why = _folder_seed(recs)
        if seed is None:
            notes.append(f"{name}: not used, {why}")
        elif seed in owner:
            notes.append(f"{name}: not used, seed {seed} is also in {owner[seed]} (neither is)")
            by_seed.pop(seed, None)
        else:
            owner[seed], by_seed[seed] = name, data
    settings = {(r["scale"]["preset"], r["scale"]["teacher"], r["scale"]["corpus"]) for r in files if r["status"] == "ok"}
    if len(settings) > 1:
        notes.append("the seeds' runs differ in more than the seed (" + "; ".join(
            f"preset {p}, teacher {t}, corpus {c}" for p, t, c in sorted(settings)) + "): the spread mixes them")
    return files, by_seed, notes


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


def render(files: list[dict], data: dict, plots: list[str], seeds=((), {}, ())) -> str:
    """seeds: collect_seeds' (file records, rows per seed, notes)."""
    seed_files, by_seed, seed_notes = seeds
    ok = [f for f in files if f["status"] == "ok"]
    bad = [f for f in list(files) + list(seed_files) if f["status"] != "ok"]
    md = ["# DistilKit report: what distillation bought", "",
          f"Built by `python pipeline/report.py` from {len(files) + len(seed_files)} JSON file(s) under the results "
          f"folder{f' ({len(seed_files)} of them the per-seed runs under seeds/)' if seed_files else ''}: "
          f"{len(files) + len(seed_files) - len(bad)} valid, {len(bad)} skipped. Figures are PNG with an SVG of the "
          "same name in `plots/`. "
          "The paper is Sanh et al. 2019, *DistilBERT, a distilled version of BERT* (arXiv 1910.01108).", ""]
    gaps, holes = missing(files), partial(data)
    md += headline.headline_section(data, gaps + holes)
    md += over_seeds.section(by_seed, seed_notes)
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
    md += tables.device_accuracy_section(data["device_accuracy"])
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
    seeds = collect_seeds(results)
    # Plots go to a fresh folder swapped into place, so no stale figure outlives its data.
    partial, final = out / ".plots.partial", out / "plots"
    shutil.rmtree(partial, ignore_errors=True)
    from pipeline.reporting import plots as report_plots  # matplotlib only when figures are drawn
    plots = report_plots.draw_all(data, tables.PAPER_ABLATION, partial)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(partial, final)
    tmp = out / ".REPORT.md.tmp"
    tmp.write_text(render(files, data, plots, seeds), encoding="utf-8")
    os.replace(tmp, out / "REPORT.md")
    every = files + seeds[0]
    return {"files": len(every), "valid": sum(f["status"] == "ok" for f in every),
            "skipped": sum(f["status"] != "ok" for f in every), "plots": len(plots) // 2,
            "missing": len(missing(files)), "seeds": sorted(seeds[1]),
            "skipped_files": [f"{f['file']}: {f['status']}: {f['problems'][0]}" for f in every if f["status"] != "ok"]}


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
