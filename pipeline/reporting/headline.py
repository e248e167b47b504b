"""The report's first screen: the paper's three claims (smaller, faster, kept) beside this run's answers,
and what is missing. Every figure is one the full tables below also show, computed from the same rows."""
from __future__ import annotations

from collections import defaultdict

from pipeline.reporting.rows import file_gates, label, params_by_model
from pipeline.reporting.tables import (PAPER_CPU_SPEEDUP, PAPER_GLUE, PAPER_PARAMS_M, PAPER_SQUAD, _paper_cls,
                                       table)

HEADLINE_QA_SETS = ("natural_test", "natural_dev", "generated_dev")  # the first one present leads


def smaller(sizes, mlm, parity) -> str:
    params = params_by_model(sizes, mlm)
    t, s = params.get("teacher"), params.get("student")
    if not (t and s):
        return "no parameter counts yet"
    text = f"student {s / 1e6:.1f}M parameters = {100 * s / t:.0f}% of the teacher's {t / 1e6:.1f}M"
    gated = {k: g["passed"] for k, g in file_gates(parity).items()}
    fp32 = [r["bytes"] for r in sizes if r["model"] == "teacher" and r["precision"] == "fp32"]
    ok = [r for r in sizes if r["model"] == "student" and gated.get((r["model"], r["format"], r["precision"],
                                                                     r["seq_len"]))]
    if ok and fp32:
        best = min(ok, key=lambda r: r["bytes"])
        text += (f"; smallest gated student file {best['bytes'] / 1e6:.1f} MB ({best['format']} {best['precision']}, "
                 f"seq {best['seq_len']}) = {100 * best['bytes'] / max(fp32):.0f}% of the fp32 teacher file")
    return text


def faster(latency) -> str:
    parts = []
    for source in ("device", "host"):
        rows = [r for r in latency if r["source"] == source and r["model"] == "student" and r.get("speedup")
                and r["precision"] == "fp32" and r["seq_len"] == max(x["seq_len"] for x in latency)]
        for r in sorted(rows, key=lambda r: (r["panel"], r["runtime"])):
            parts.append(f"{source} {r['runtime']} {r['speedup']:.2f}x")
    if not parts:
        return "no latency measured yet"
    seq = max(x["seq_len"] for x in latency)
    return f"student / teacher speed-up, fp32, seq {seq}: " + ", ".join(parts)


def kept_qa(qa) -> str:
    by = defaultdict(dict)
    for r in qa:
        by[r["dataset"]][r["model"]] = r
    ds = next((d for d in HEADLINE_QA_SETS if d in by), min(by, default=None))
    if ds is None or "teacher" not in by[ds]:
        return "no QA results yet"
    got = by[ds]
    parts = [f"{label(m)} {got[m]['kept']['f1']:.1f}%" for m in ("student", "student_d", "student_dt") if m in got]
    return f"QA F1 on {ds} (teacher {got['teacher']['f1']:.1f}): " + ", ".join(parts)


def kept_cls(cls) -> list[str]:
    out = []
    for r in sorted((r for r in cls if r.get("model") == "student" and r.get("kept")), key=lambda r: r["task"]):
        p = _paper_cls(r["paper_task"])
        paper = f" (paper's {r['paper_task']}: {100 * p[1] / p[0]:.1f}%)" if p else ""
        out.append(f"{r['title']}: student {r['kept']['score']:.1f}% of the teacher's {r['metric']}{paper}")
    return out


def headline_section(data: dict, gaps: list[str]) -> list[str]:
    pt, ps, pd = (PAPER_SQUAD[m][1] for m in ("teacher", "student", "student_d"))
    glue_t, glue_s = PAPER_GLUE["GLUE macro"]
    rows = [
        ["Smaller", f"student has {PAPER_PARAMS_M['student']}M of BERT-base's {PAPER_PARAMS_M['teacher']}M parameters "
                    f"({100 * PAPER_PARAMS_M['student'] / PAPER_PARAMS_M['teacher']:.0f}%)",
         smaller(data["sizes"], data["mlm"], data["parity"])],
        ["Faster", f"{PAPER_CPU_SPEEDUP:.2f}x on CPU (Table 3); 71% faster on an iPhone 7 Plus", faster(data["latency"])],
        ["Kept (QA)", f"SQuAD F1: student {100 * ps / pt:.1f}%, student (D) {100 * pd / pt:.1f}% of BERT-base",
         kept_qa(data["qa"])],
        ["Kept (GLUE)", f"GLUE macro {100 * glue_s / glue_t:.1f}% of BERT-base (Table 1)",
         "; ".join(kept_cls(data["cls"])) or "no classification results yet"],
    ]
    md = ["## The paper's claims and this run's answers", ""]
    md += table(["claim", "paper", "this run"], rows)
    md += ["Missing: " + ("; ".join(gaps) if gaps else "nothing") + ".", ""]
    return md
