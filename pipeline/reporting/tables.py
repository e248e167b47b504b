"""Markdown sections of the report: one table per study and the paper's numbers beside ours.

The paper's numbers are data, not prose, so the side-by-side tables are built from them.
"""
from __future__ import annotations

import re
from collections import defaultdict

from pipeline.reporting.rows import (DEVICE_F1_TOLERANCE, curve_verdict, label, model_rank, model_sort,
                                     params_by_model)

# Source of every constant below: Sanh, Debut, Chaumond, Wolf 2019, "DistilBERT, a distilled
# version of BERT" (arXiv 1910.01108), as summarised in /work/shared/reference/FACTS.md section 1.
PAPER_SCALE = ("teacher bert-base-uncased (110M parameters), corpus English Wikipedia + Toronto Book "
               "Corpus, 8 x 16 GB V100 for about 90 hours, effective batch up to 4K sequences")
PAPER_PARAMS_M = {"teacher": 110, "student": 66}                   # Table 3
PAPER_STSB_CPU_S = {"teacher": 668, "student": 410}                # Table 3, STS-B dev pass, CPU, batch 1
PAPER_CPU_SPEEDUP = 1.63                                           # Table 3: 668 s / 410 s
PAPER_DEVICE = "iPhone 7 Plus QA app: DistilBERT 71% faster than BERT-base excluding tokenisation"
PAPER_DEVICE_MB = 207                                              # the whole on-device model, same study
PAPER_SQUAD = {"teacher": (81.2, 88.5), "student": (77.7, 85.8), "student_d": (79.1, 86.9)}  # Table 2, EM/F1
PAPER_GLUE = {  # Table 1, GLUE dev: (BERT-base, DistilBERT)
    "CoLA": (56.3, 51.3), "MNLI": (86.7, 82.2), "MRPC": (88.6, 87.5), "QNLI": (91.8, 89.2),
    "QQP": (89.6, 88.5), "RTE": (69.3, 59.9), "SST-2": (92.7, 91.3), "STS-B": (89.0, 86.9),
    "WNLI": (53.5, 56.3), "GLUE macro": (79.5, 77.0), "IMDb": (93.46, 92.82)}  # IMDb: Table 2
PAPER_ABLATION = {"ce_only": -2.96, "cos_only": -1.46, "no_mlm": -0.31, "random_init": -3.69}  # Table 4
ABLATION_MEANING = {"full": "L_ce + L_mlm + L_cos, teacher init", "ce_only": "L_ce only",
                    "cos_only": "L_cos only (no L_ce, no L_mlm)", "no_mlm": "no L_mlm",
                    "random_init": "full loss, random init",
                    "hidden_mse": "full loss + MSE of mapped hidden states",
                    "attn_kl": "full loss + KL of mapped attention maps"}


def table(headers: list, rows: list) -> list[str]:
    def cell(v):
        return "" if v is None else str(v).replace("|", "\\|").replace("\n", " ")
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return out + [""]


def num(v, fmt=".1f"):
    return "n/a" if v is None else format(v, fmt)


def figure(name: str, plots: list[str], caption: str) -> list[str]:
    if f"{name}.png" not in plots:
        return []
    return [f"![{caption}](plots/{name}.png)", "", f"Vector version: [plots/{name}.svg](plots/{name}.svg)", ""]


def scale_section(ok: list[dict]) -> list[str]:
    md = ["## Scale of these runs", ""]
    if not ok:
        return md + ["No valid results file, so nothing below comes from a run.", ""]
    small = sorted({f"{f['scale']['preset']} (teacher {f['scale']['teacher']}, corpus {f['scale']['corpus']})"
                    for f in ok if f["scale"]["preset"] != "paper"})
    if small:
        md += [f"> **Not the paper's scale.** {len(small)} setting(s) here are not the `paper` preset: "
               + "; ".join(small) + f". The paper used {PAPER_SCALE}. Compare ratios (share of the teacher's "
               "score kept, speedup, size ratio), not absolute scores.", ""]
    md += table(["file", "kind", "preset", "teacher", "corpus", "device"],
                [[f["file"], f["kind"], f["scale"]["preset"], f["scale"]["teacher"], f["scale"]["corpus"],
                  f["scale"]["device"]] for f in ok])
    return md


def sizes_section(sizes, mlm, plots) -> list[str]:
    md = ["## Smaller: parameters and file size (Table 3)", ""] + figure("sizes", plots, "parameters and file size")
    teacher_bytes = {(r["format"], r["precision"], r["seq_len"]): r["bytes"] for r in sizes if r["model"] == "teacher"}
    if sizes:
        rows = sorted(sizes, key=lambda r: (r["format"], r["precision"], r["seq_len"], model_rank(r["model"])))
        md += table(["model", "format", "precision", "seq len", "file size (MB)", "% of teacher file", "parameters (M)", "file"],
                    [[label(r["model"]), r["format"], r["precision"], r["seq_len"], num(r["bytes"] / 1e6, ".2f"),
                      num(100 * r["bytes"] / teacher_bytes[(r["format"], r["precision"], r["seq_len"])], ".0f")
                      if (r["format"], r["precision"], r["seq_len"]) in teacher_bytes else "n/a",
                      num(r["params"] / 1e6, ".2f"), r["file"]] for r in rows])
    else:
        md += ["No artifact sizes (results/artifacts.json) yet.", ""]
    params = params_by_model(sizes, mlm)
    t, s = params.get("teacher"), params.get("student")
    md += ["Side by side with the paper:", ""]
    md += table(["", "teacher params (M)", "student params (M)", "student / teacher"],
                [["paper (BERT-base / DistilBERT)", PAPER_PARAMS_M["teacher"], PAPER_PARAMS_M["student"],
                  f"{100 * PAPER_PARAMS_M['student'] / PAPER_PARAMS_M['teacher']:.0f}%"],
                 ["this run", num(t / 1e6, ".2f") if t else "n/a", num(s / 1e6, ".2f") if s else "n/a",
                  f"{100 * s / t:.0f}%" if t and s else "n/a"]])
    phone = sorted((r for r in sizes if r["model"] == "student" and r["format"].split()[0] in ("coreml", "tflite")),
                   key=lambda r: (r["format"], r["precision"], r["seq_len"]))
    md += table(["", "student model file on the phone"],
                [["paper (iPhone 7 Plus, Core ML)", f"{PAPER_DEVICE_MB} MB"]]
                + [[f"this run ({r['format']} {r['precision']}, seq len {r['seq_len']})", f"{r['bytes'] / 1e6:.1f} MB"]
                   for r in phone] + ([] if phone else [["this run", "no Core ML or LiteRT file exported"]]))
    return md


def latency_section(rows, plots) -> list[str]:
    md = ["## Faster: latency per runtime and device (Table 3 and the on-device study)", ""]
    md += figure("latency", plots, "median latency, speedup over the teacher on the bars")
    md += figure("latency_vs_seq_len", plots, "latency against sequence length")
    if not rows:
        md += ["No benchmark results (results/host/, results/device/) yet.", ""]
    key = lambda r: (r["panel"], r["seq_len"], r["runtime"], r["precision"], model_rank(r["model"]))  # noqa: E731
    for panel in sorted({r["panel"] for r in rows}):
        sub = sorted((r for r in rows if r["panel"] == panel), key=key)
        md += [f"### {panel}", ""]
        md += table(["model", "runtime", "precision", "seq len", "median (ms)", "p90 (ms)", "trimmed mean (ms)",
                     "n", "load (ms)", "peak mem (MB)", "speedup vs teacher"],
                    [[label(r["model"]), f"{r['runtime']} {r['runtime_version']}".strip(), r["precision"],
                      r["seq_len"], num(r["median_ms"], ".2f"), num(r["p90_ms"], ".2f"), num(r["trimmed_mean_ms"], ".2f"),
                      r["n"], num(r["load_ms"], ".0f"), num(r["peak_mem_mb"]),
                      f"{r['speedup']:.2f}x" if r["speedup"] and r["model"] != "teacher" else ""] for r in sub])
    md += ["Side by side with the paper. The paper times a whole pass over a dev set; this run times one "
           "question per call (median), so compare the speedups, not the times. Each row of this run spans its "
           "runtimes and precisions; the tables above give each one.", ""]
    spans = defaultdict(list)
    for r in rows:
        if r["speedup"] and r["model"] != "teacher":
            spans[(r["panel"], r["seq_len"], model_rank(r["model"]))].append(r["speedup"])
    ours = [[f"this run: {panel}", f"seq len {seq}, {label(m[1])}, {len(v)} runtime/precision setting(s)",
             f"{min(v):.2f}x" if f"{min(v):.2f}" == f"{max(v):.2f}" else f"{min(v):.2f}x to {max(v):.2f}x"]
            for (panel, seq, m), v in sorted(spans.items())]
    md += table(["", "setting", "student speedup over teacher"],
                [["paper, Table 3", f"CPU, batch 1, full STS-B dev pass: {PAPER_STSB_CPU_S['teacher']} s vs "
                  f"{PAPER_STSB_CPU_S['student']} s", f"{PAPER_CPU_SPEEDUP:.2f}x"],
                 ["paper, on device", PAPER_DEVICE, "71% faster"]] + (ours or [["this run", "no teacher/student pair timed", "n/a"]]))
    return md


def device_accuracy_section(rows) -> list[str]:
    md = ["## Accuracy on the phone beside the host's", ""]
    if not rows:
        return md + ["No device results with accuracy yet: the apps answer the question set the apps stage staged "
                     "(apps.questions) after timing; run pipeline/devices/device_android.py or device_ios.py.", ""]
    md += [f"Each staged file answers every question of the set on the phone; host F1 is parity's for the same file "
           f"(model, format, precision, window length) on the same set. A difference over {DEVICE_F1_TOLERANCE:g} F1 "
           "is flagged: the phone's runtime does not compute what the host's does.", ""]
    key = lambda r: (r["device"], r["runtime"], model_rank(r["model"]), r["precision"], r["seq_len"])  # noqa: E731

    def check(r):
        if r["host_f1"] is None:
            return f"no host figure: {r['host_from']}"
        return (f"**differs by {r['f1_gap']:+.2f} F1**" if r["flagged"] else "same within tolerance") + \
            ("" if r["host_from"] == "file" else f" (host: {r['host_from']})")
    md += table(["device", "runtime", "model", "format", "precision", "seq len", "questions", "device EM", "device F1",
                 "host F1", "check"],
                [[r["device"], r["runtime"], label(r["model"]), r["format"], r["precision"], r["seq_len"],
                  f"{r['questions']} {r['question_set']}", num(r["exact_match"], ".2f"), num(r["f1"], ".2f"),
                  num(r["host_f1"], ".2f"), check(r)] for r in sorted(rows, key=key)])
    groups = {}
    for r in sorted(rows, key=key):
        groups.setdefault((r["file"], r["device"], r["runtime"], r["model"], r["format"], r["precision"]), []).append(r)
    md += ["The app's own answers: each question at the window length its window choice gives it.", ""]
    return md + table(["device", "runtime", "model", "format", "precision", "questions per window length", "EM", "F1"],
                      [[d, rt, label(m), f, p, ", ".join(f"{r['seq_len']}: {r['chosen']}" for r in g),
                        num(g[0]["app"]["exact_match"], ".2f"), num(g[0]["app"]["f1"], ".2f")]
                       for (_, d, rt, m, f, p), g in groups.items()])


def _kept(kept) -> str:
    return "n/a" if kept is None else f"{kept:.1f}%"


def qa_section(rows, plots) -> list[str]:
    md = ["## Accuracy kept: extractive QA (Table 2)", ""] + figure("qa_accuracy", plots, "QA EM and F1")
    by_ds = defaultdict(dict)
    for r in rows:
        by_ds[r["dataset"]][r["model"]] = r
    out = []
    for ds in sorted(by_ds):
        t = by_ds[ds].get("teacher")
        for m in model_sort(by_ds[ds]):
            r = by_ds[ds][m]
            keep = " / ".join(_kept(r["kept"][k]) for k in ("exact_match", "f1")) if t and m != "teacher" else ""
            out.append([ds, label(m), num(r["exact_match"]), num(r["f1"]), keep, r["n"], r["file"]])
    md += table(["dataset", "model", "EM", "F1", "kept of teacher (EM / F1)", "questions", "file"], out) if out \
        else ["No QA metrics (results/qa/) yet.", ""]
    pt = PAPER_SQUAD["teacher"]
    paper = [["paper, SQuAD v1.1 dev", label(m), num(em), num(f1),
              "" if m == "teacher" else f"{100 * em / pt[0]:.1f}% / {100 * f1 / pt[1]:.1f}%"]
             for m, (em, f1) in PAPER_SQUAD.items()]
    md += ["Side by side with the paper (BERT-base teacher; student (D) adds QA distillation from a "
           "QA-fine-tuned teacher):", ""]
    md += table(["", "model", "EM", "F1", "kept of teacher (EM / F1)"],
                paper + [[f"this run, {o[0]}", *o[1:5]] for o in out])
    return md + retention_table(by_ds)


def retention_table(by_ds: dict) -> list[str]:
    """One line per data set: the share of the teacher's F1 each student keeps, the paper's beside it. The paper's
    (D) is student_d; the (D) from teacher layers (student_dt) is a different method and gets its own column."""
    pt, ps, pd = (PAPER_SQUAD[m][1] for m in ("teacher", "student", "student_d"))
    rows = [["paper, SQuAD v1.1 dev", num(pt), f"{num(ps)} ({100 * ps / pt:.1f}%)", f"{num(pd)} ({100 * pd / pt:.1f}%)",
             "n/a"]]
    for ds in sorted(by_ds, key=lambda d: (d != "natural_test", d)):
        t = by_ds[ds].get("teacher")
        cell = lambda r: f"{num(r['f1'])} ({_kept(r['kept']['f1'])})" if r and t else "n/a"  # noqa: E731
        rows.append([f"this run, {ds}", num(t["f1"]) if t else "n/a",
                     *(cell(by_ds[ds].get(m)) for m in ("student", "student_d", "student_dt"))])
    return ["QA retention per data set, F1 (share of the teacher's); natural_test is the set no setting was chosen "
            "on (the paper's student keeps 97%, its student (D) 98%):", ""] + table(
        ["", "teacher", "student", "student (D) (paper's: general student + QA distillation)",
         "student (D) from teacher layers"], rows)


def curve_section(rows, plots) -> list[str]:
    md = ["## QA teacher: trained until converged", ""] + figure("qa_curve", plots, "QA teacher F1 per epoch")
    if not rows:
        return md + ["No teacher learning curve (results/qa/teacher_curve.json) yet.", ""]
    for file, v in curve_verdict(rows).items():
        change = "n/a" if v["last_change"] is None else f"{v['last_change']:+.2f}"
        md += [f"{file}: " + (f"**converged**: the last epoch changed {v['dataset']} F1 by {change} points "
                              f"(less than {v['converge_f1']:g}) after {v['epochs']} of at most {v['max_epochs']} epochs"
                              if v["converged"] else
                              f"**epoch cap reached** ({v['max_epochs']} epochs) before convergence: the last epoch "
                              f"changed {v['dataset']} F1 by {change} points (converge_f1 {v['converge_f1']:g})")
               + f"; final {v['dataset']} F1 {v['final_f1']:.1f}.", ""]
    sets = list(dict.fromkeys(r["dataset"] for r in rows))
    by = {(r["file"], r["epoch"], r["dataset"]): r for r in rows}
    epochs = sorted({(r["file"], r["epoch"]) for r in rows})
    first = {(f, e): next(r for r in rows if r["file"] == f and r["epoch"] == e) for f, e in epochs}
    md += table(["file", "epoch", "steps", "seconds"] + [f"{ds} EM / F1" for ds in sets],
                [[f, e, first[(f, e)]["steps"], num(first[(f, e)]["seconds"], ".0f")]
                 + [f"{by[(f, e, ds)]['exact_match']:.1f} / {by[(f, e, ds)]['f1']:.1f}" if (f, e, ds) in by else ""
                    for ds in sets] for f, e in epochs])
    return md


def _norm(task: str) -> str:
    return re.sub(r"[^a-z0-9]", "", task.lower())


def _paper_cls(task: str):
    return PAPER_GLUE.get({_norm(k): k for k in PAPER_GLUE}.get(_norm(task), ""))


def cls_section(rows, plots) -> list[str]:
    md = ["## General student: classification (Tables 1 and 2)", ""] + figure("classification", plots,
                                                                               "classification scores")
    by_task = defaultdict(dict)
    for r in rows:
        if "missing" not in r:
            by_task[(r["task"], r["metric"])][r["model"]] = r
    out = []
    for (task, metric) in sorted(by_task):
        got = by_task[(task, metric)]
        any_row = next(iter(got.values()))
        p = _paper_cls(any_row["paper_task"])
        for m in model_sort(got):
            t = got.get("teacher")
            paper = "n/a"
            if p and m in ("teacher", "student"):
                paper = f"{p[0 if m == 'teacher' else 1]:.1f}" + ("" if m == "teacher" else f" ({100 * p[1] / p[0]:.1f}%)")
            out.append([any_row["title"], metric, label(m), num(got[m]["score"], ".2f"),
                        _kept(got[m]["kept"]["score"]) if t and m != "teacher" else "",
                        f"{any_row['paper_task']}: {paper}" if p else "n/a"])
    if out:
        md += table(["task", "metric", "model", "score", "kept of teacher",
                     "paper row: BERT-base / DistilBERT (kept)"], out)
    else:
        md += ["No classification results (results/glue/) in this run. The paper's numbers for reference:", ""]
        md += table(["task", "BERT-base", "DistilBERT", "kept"],
                    [[k, num(a, ".2f"), num(b, ".2f"), f"{100 * b / a:.1f}%"] for k, (a, b) in PAPER_GLUE.items()])
    md += [f"- {r['title']}: not run ({r['missing']})" for r in rows if "missing" in r]
    md += ["The offline tasks stand beside the paper's rows, they are not those rows: MR sentence polarity is the "
           "pool SST-2 was built from (sentences, not SST-2's phrase-labelled split), the rating regression scores "
           "the raters' mean with STS-B's metric, and the QNLI analogue is built from the kit's natural-question "
           "sets by GLUE's QNLI recipe. No licence-clean document-level review set (IMDb form) ships in a package: "
           "IMDb runs through `datasets` in the paper preset only.", ""]
    return md


def _pm(mean, std, scale=1.0, fmt=".2f") -> str:
    """'mean ± std' (std left out with one seed)."""
    if mean is None:
        return "n/a"
    return format(scale * mean, fmt) + ("" if std is None else f" ± {format(scale * std, fmt)}")


def _beyond(r, pre="") -> str:
    if r[f"{pre}delta"] is None:
        return ""
    return "n/a (1 seed)" if r[f"{pre}beyond"] is None else ("**yes**" if r[f"{pre}beyond"] else "no")


def ablation_section(rows, plots) -> list[str]:
    md = ["## Ablation of the loss (Table 4)", ""] + figure("ablation", plots, "ablation")
    md += ["The paper scores each variant by GLUE macro score; this run scores it by held-out masked-token "
           "accuracy of the distilled student and, where the stage ran one, by QA F1 on the generated dev set "
           "after a short fixed QA fine-tune, and by a classification task's score after the classify "
           "section's fine-tune (ablation.classify_task), so compare the signs and the order, not the sizes. Values are "
           "mean ± sample standard deviation over the seeds; a change against 'full' is marked beyond noise "
           "when |change| > 2 x the pooled standard deviation (sqrt of the mean of the two variances).", ""]
    order = list(ABLATION_MEANING)
    out = []
    for r in sorted(rows, key=lambda r: (r["file"], order.index(r["variant"]))):
        qa = r.get("qa_f1") is not None
        out.append([r["variant"], ABLATION_MEANING[r["variant"]], _pm(r["masked_acc"], r["masked_acc_std"], 100),
                    "" if r["delta"] is None else f"{r['delta']:+.2f}", _beyond(r),
                    _pm(r.get("qa_f1"), r.get("qa_f1_std"), 1, ".1f") if qa else "",
                    "" if r["qa_delta"] is None else f"{r['qa_delta']:+.1f}", _beyond(r, "qa_"),
                    _pm(r.get("cls_score"), r.get("cls_score_std"), 1, ".1f") if r.get("cls_score") is not None else "",
                    "" if r.get("cls_delta") is None else f"{r['cls_delta']:+.1f}", _beyond(r, "cls_"), r["n"],
                    num(r["mlm_loss"], ".3f"), r["steps"],
                    f"{PAPER_ABLATION[r['variant']]:+.2f}" if r["variant"] in PAPER_ABLATION else
                    ("reference" if r["variant"] == "full" else "not in the paper"), r["file"]])
    if not out:
        md += ["No ablation results (results/mlm/ablation.json) yet. The paper's changes vs the full loss:", ""]
        out = [[v, ABLATION_MEANING[v]] + [""] * 12 + [f"{d:+.2f}", ""] for v, d in PAPER_ABLATION.items()]
    cls = next((r.get("cls_task") for r in rows if r.get("cls_task")), None) or "classification"
    md += table(["variant", "loss", "masked acc (%)", "change (points)", "beyond noise", "QA F1",
                 "QA F1 change", "beyond noise", f"{cls} score", "change", "beyond noise", "seeds", "MLM loss", "steps", "paper: change of GLUE macro",
                 "file"], out)
    return md


def mlm_section(rows, plots) -> list[str]:
    md = ["## Masked LM: teacher vs student", ""] + figure("mlm", plots, "masked-token accuracy")
    if not rows:
        return md + ["No masked-LM evaluation (results/mlm/) yet.", ""]
    md += ["The paper reports no masked-LM accuracy; this is the distillation's own held-out check.", ""]
    for src in dict.fromkeys(r["source"] for r in rows):
        got = {r["model"]: r for r in rows if r["source"] == src and not r.get("baseline")}
        if "teacher" in got and "student" in got:
            t, st = got["teacher"]["masked_acc"], got["student"]["masked_acc"]
            md += [f"{src}: student {100 * st:.1f}% vs teacher {100 * t:.1f}% held-out masked-token accuracy "
                   f"(the student keeps {100 * st / t:.0f}% of it)." if t > 0 else "", ""]
    return md + table(["evaluation", "model", "when", "masked acc (%)", "MLM loss", "masked tokens", "parameters (M)"],
                      [[r["source"], label(r["model"]) + (" (baseline)" if r.get("baseline") else ""), r["when"],
                        num(100 * r["masked_acc"], ".2f"),
                        num(r["mlm_loss"], ".3f"), r["n_masked"], num(r["params"] / 1e6, ".2f")] for r in rows])


def parity_section(rows) -> list[str]:
    md = ["## Exported models vs PyTorch (parity)", ""]
    if not rows:
        return md + ["No parity results (results/parity.json) yet.", ""]
    passed = sum(bool(r["passed"]) for r in rows)
    md += [f"{passed} of {len(rows)} checks passed; {sum(not r['ran'] for r in rows)} could not run on this host.", ""]
    md += ["int8 files are gated on the F1 change over every dev question (generated and natural pooled), given with "
           "its paired standard error: how far the change moves when rounding flips a different few near-tie answers.",
           ""]
    return md + table(["model", "format", "precision", "seq len", "ran", "max abs diff", "answer agreement",
                       "EM delta", "F1 delta", "int8 gate: F1 delta ± se (questions)", "passed", "note"],
                      [[label(r["model"]), r["format"], r["precision"], r["seq_len"], "yes" if r["ran"] else "no",
                        num(r["max_abs_diff"], ".2e"), num(r["answer_agreement"], ".3f"), num(r["em_delta"], "+.2f"),
                        num(r["f1_delta"], "+.2f"), _pooled_cell(r.get("pooled")), "yes" if r["passed"] else "NO",
                        r["note"] or ""]
                       for r in sorted(rows, key=lambda r: (r["format"], r["precision"], r["seq_len"], r["model"]))])


def _pooled_cell(p: dict | None) -> str:
    if not p or p.get("f1_delta") is None:
        return ""
    se = f" ± {p['f1_delta_se']:.2f}" if p.get("f1_delta_se") is not None else ""
    return f"{p['f1_delta']:+.2f}{se} ({p['n']})"


def precision_section(latency, sizes=()) -> list[str]:
    """Size and speed of every precision per runtime against the same runtime's fp32 teacher (issue 12):
    what int8 buys over fp32 and fp16, from the host benchmark's timings and file sizes, then the
    export's sizes of every format (Core ML too, which the host cannot time)."""
    md = ["## Every precision against the fp32 teacher", ""]
    rows = [r for r in latency if r["runtime"] != "pytorch"]
    md += _precision_sizes(sizes)
    if not rows:
        return md + ["No runtime benchmark results yet.", ""]
    base = {(r["panel"], r["runtime"], r["seq_len"]): r for r in rows if r["model"] == "teacher" and r["precision"] == "fp32"}
    for panel in sorted({r["panel"] for r in rows}):
        sub = sorted((r for r in rows if r["panel"] == panel),
                     key=lambda r: (-r["seq_len"], r["runtime"], r["precision"], model_rank(r["model"])))
        md += [f"### {panel}", ""]
        out = []
        for r in sub:
            b = base.get((panel, r["runtime"], r["seq_len"]))
            speed = b["median_ms"] / r["median_ms"] if b and r["median_ms"] > 0 else None
            size = r["file_bytes"] / b["file_bytes"] if b and b.get("file_bytes") and r.get("file_bytes") else None
            out.append([r["seq_len"], r["runtime"], r["precision"], label(r["model"]), num(r["median_ms"], ".2f"),
                        f"{speed:.2f}x" if speed else "n/a", num((r.get("file_bytes") or 0) / 1e6 or None),
                        f"{100 * size:.0f}%" if size else "n/a"])
        md += table(["seq len", "runtime", "precision", "model", "median (ms)", "speed vs fp32 teacher",
                     "file (MB)", "size vs fp32 teacher"], out)
    return md


def _precision_sizes(sizes) -> list[str]:
    base = {(r["format"], r["seq_len"]): r["bytes"] for r in sizes if r["model"] == "teacher" and r["precision"] == "fp32"}
    rows = sorted(sizes, key=lambda r: (-r["seq_len"], r["format"], r["precision"], model_rank(r["model"])))
    if not rows:
        return []
    return ["File sizes from the export (results/artifacts.json), against the fp32 teacher file of the same format:",
            ""] + table(["seq len", "format", "precision", "model", "file (MB)", "size vs fp32 teacher"],
                        [[r["seq_len"], r["format"], r["precision"], label(r["model"]), num(r["bytes"] / 1e6),
                          f"{100 * r['bytes'] / base[(r['format'], r['seq_len'])]:.0f}%"
                          if base.get((r["format"], r["seq_len"])) else "n/a"] for r in rows])
