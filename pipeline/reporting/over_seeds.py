"""The report's section over seeds: how much the headline figures move when only run.seed changes.

Input is one set of derived rows per seed (report.collect_seeds reads each seed's results folder, written by
pipeline/seeds.py, and derives retention and speed-ups exactly as for the main run), so a figure here is the
same figure the main tables give for one run, taken over several. A spread is the sample standard deviation
(n - 1) with the range beside it; each seed's own figure is listed too, since three seeds make a thin sample.
"""
from __future__ import annotations

import statistics

from pipeline.core.registry import QUANTIZED
from pipeline.reporting.rows import file_gates, label, model_rank, model_sort
from pipeline.reporting.tables import table

SEED_QA_SETS = ("generated_dev", "natural_dev", "natural_test")
SEEDS_COMMAND = "python pipeline/seeds.py --seeds 0,1,2"
INT8_VS_FP32 = "int8 (teacher fp32)"  # the int8 student against the fp32 teacher: what int8 and distillation buy


def spread(values) -> dict:
    """n, mean, sd (sample, None below two values), min and max of the values given."""
    vals = list(values)
    return {"n": len(vals), "mean": statistics.fmean(vals), "sd": statistics.stdev(vals) if len(vals) > 1 else None,
            "min": min(vals), "max": max(vals)}


def _row(per_seed: dict, **head) -> dict:
    return {**head, "per_seed": dict(sorted(per_seed.items())), **spread(per_seed.values())}


def qa_figures(by_seed: dict) -> list[dict]:
    """Per QA set and model: F1 over seeds, and (not for the teacher) its share of the same seed's teacher F1."""
    out = []
    for ds in SEED_QA_SETS:
        rows = {seed: {r["model"]: r for r in data["qa"] if r["dataset"] == ds} for seed, data in by_seed.items()}
        for model in model_sort(m for got in rows.values() for m in got):
            f1 = {s: got[model]["f1"] for s, got in rows.items() if model in got}
            out.append(_row(f1, dataset=ds, model=model, figure="F1"))
            kept = {s: got[model]["kept"]["f1"] for s, got in rows.items()
                    if model in got and model != "teacher" and got[model]["kept"]["f1"] is not None}
            if kept:
                out.append(_row(kept, dataset=ds, model=model, figure="% of teacher F1"))
    return out


def gate_figures(by_seed: dict) -> list[dict]:
    """Per format, then all formats: int8 files within their F1 gate, of those that ran, per seed."""
    counts = {}
    for seed, data in by_seed.items():
        for (_, fmt, precision, _), g in file_gates(data["parity"]).items():
            if precision in QUANTIZED and g["ran"]:
                for key in (fmt, "all formats"):
                    c = counts.setdefault(key, {}).setdefault(seed, [0, 0])
                    c[0] += g["passed"]
                    c[1] += 1
    keys = sorted(k for k in counts if k != "all formats") + (["all formats"] if counts else [])
    return [_row({s: c[0] for s, c in counts[k].items()}, format=k, of={s: c[1] for s, c in counts[k].items()})
            for k in keys]


def float_layer_figures(by_seed: dict) -> list[dict]:
    """Per model and format: the linear layers the export's int8 search kept float, summed over its int8 files
    (dynamic and static, every length), per seed: what passing the gate cost in speed."""
    out = {}
    for seed, data in by_seed.items():
        seen = set()
        for r in data["parity"]:
            key = (r["model"], r["format"], r["precision"], r["seq_len"])
            if r["precision"] in QUANTIZED and r.get("int8_search") and key not in seen:
                seen.add(key)
                c = out.setdefault((r["model"], r["format"]), {})
                c[seed] = c.get(seed, 0) + len(r["int8_search"].get("kept_float", []))
    return [_row(v, model=k[0], format=k[1]) for k, v in sorted(out.items(), key=lambda kv: (model_rank(kv[0][0]),
                                                                                            kv[0][1]))]


def speed_figures(by_seed: dict) -> list[dict]:
    """Student speed-up over the teacher per timing panel, runtime and precision, at the longest window every
    seed that ran a benchmark timed (speed-up as the latency tables compute it: teacher median / student median)."""
    lens = [{r["seq_len"] for r in data["latency"]} for data in by_seed.values() if data["latency"]]
    common = set.intersection(*lens) if lens else set()
    if not common:
        return []
    seq, groups = max(common), {}
    for seed, data in by_seed.items():
        fp32_teacher = {(r["panel"], r["runtime"]): r["median_ms"] for r in data["latency"]
                        if (r["model"], r["precision"], r["seq_len"]) == ("teacher", "fp32", seq)}
        for r in data["latency"]:
            if r["model"] == "student" and r["seq_len"] == seq and r.get("speedup"):
                groups.setdefault((r["panel"], r["runtime"], r["precision"]), {})[seed] = r["speedup"]
            t = fp32_teacher.get((r["panel"], r["runtime"]))
            if (r["model"], r["precision"], r["seq_len"]) == ("student", "int8", seq) and t and r["median_ms"] > 0:
                groups.setdefault((r["panel"], r["runtime"], INT8_VS_FP32), {})[seed] = t / r["median_ms"]
    return [_row(v, panel=k[0], runtime=k[1], precision=k[2], seq_len=seq) for k, v in sorted(groups.items())]


def _f(v, fmt: str) -> str:
    return "n/a" if v is None else format(v, fmt)


def _stat_cells(r: dict, fmt: str, sd_fmt: str) -> list:
    return [r["n"], _f(r["mean"], sd_fmt), _f(r["sd"], sd_fmt), f"{_f(r['min'], fmt)} - {_f(r['max'], fmt)}"]


def _qa_table(rows) -> list[str]:
    return table(["set", "model", "figure", "seeds", "mean", "sd", "min - max", "per seed"],
                 [[r["dataset"], label(r["model"]), r["figure"], *_stat_cells(r, ".1f", ".2f"),
                   ", ".join(f"{s}: {v:.1f}" for s, v in r["per_seed"].items())] for r in rows])


def _gate_table(rows) -> list[str]:
    return table(["format", "seeds", "mean files in gate", "sd", "min - max", "per seed (in gate of ran)"],
                 [[r["format"], *_stat_cells(r, "d", ".2f"),
                   ", ".join(f"{s}: {v} of {r['of'][s]}" for s, v in r["per_seed"].items())] for r in rows])


def _float_table(rows) -> list[str]:
    return table(["model", "format", "seeds", "mean layers kept float", "sd", "min - max", "per seed"],
                 [[label(r["model"]), r["format"], *_stat_cells(r, "d", ".2f"),
                   ", ".join(f"{s}: {v}" for s, v in r["per_seed"].items())] for r in rows])


def _speed_table(rows) -> list[str]:
    return table(["panel", "runtime", "precision", "seq len", "seeds", "mean", "sd", "min - max", "per seed"],
                 [[r["panel"], r["runtime"], r["precision"], r["seq_len"], *_stat_cells(r, ".2f", ".2f"),
                   ", ".join(f"{s}: {v:.2f}x" for s, v in r["per_seed"].items())] for r in rows])


def section(by_seed: dict, notes=()) -> list[str]:
    """The Markdown section; with fewer than two seeds it says so in one line instead of a spread."""
    md = ["## Over seeds: how much the headline figures move", ""]
    md += [f"- {n}" for n in notes] + ([""] if notes else [])
    seeds = sorted(by_seed)
    if not seeds:
        return md + [f"No per-seed results under `seeds/`; `{SEEDS_COMMAND}` runs the pipeline once per seed.", ""]
    if len(seeds) == 1:
        return md + [f"Results for one seed only (seed {seeds[0]}), so no spread is shown; `{SEEDS_COMMAND}` "
                     "adds more.", ""]
    md += [f"{len(seeds)} seeds ({', '.join(map(str, seeds))}), each run with only `run.seed` changed; sd is the "
           "sample standard deviation (n - 1). A row with fewer seeds lacks that figure in some of them.", ""]
    qa, gates, speed = qa_figures(by_seed), gate_figures(by_seed), speed_figures(by_seed)
    md += ["QA F1 and the share of the same seed's teacher F1 kept:", ""]
    md += _qa_table(qa) if qa else ["No QA results in the seeds' folders.", ""]
    md += [f"int8 files ({', '.join(QUANTIZED)}) within their F1 gate, of those that ran on the host:", ""]
    md += _gate_table(gates) if gates else ["No parity results in the seeds' folders.", ""]
    floats = float_layer_figures(by_seed)
    if floats:
        md += ["Linear layers the export's int8 search kept float to pass the gate, summed over each model's int8 "
               "files in a format:", ""] + _float_table(floats)
    md += [f"Student speed-up over the teacher (same runtime and precision; `{INT8_VS_FP32}`: the int8 student "
           "against the fp32 teacher):", ""]
    md += _speed_table(speed) if speed else ["No benchmark that every seed timed at a common length.", ""]
    return md
