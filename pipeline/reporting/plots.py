"""The report's figures, drawn from the rows (and derived figures) of pipeline/reporting/rows.py.

Every figure is written as PNG and SVG. Bytes are stable for the same rows (fixed SVG hash
salt, no dates in the metadata) so two report runs can be compared byte for byte. Each
model keeps one colour in every figure so teacher vs student reads the same everywhere.
"""
from __future__ import annotations

import zlib
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from pipeline.reporting.rows import curve_verdict, label, largest_windows, model_sort, params_by_model  # noqa: E402

COLOURS = {"teacher": "#4C72B0", "student": "#DD8452", "student_d": "#55A868", "student_dt": "#64B5CD",
           "full": "#4C72B0", "ce_only": "#C44E52", "cos_only": "#8172B3",
           "no_mlm": "#937860", "random_init": "#DA8BC3", "hidden_mse": "#8C8C8C", "attn_kl": "#CCB974",
           "generated_dev": "#4C72B0", "natural_dev": "#C44E52", "handwritten": "#55A868"}
_FALLBACK = ["#8C8C8C", "#CCB974", "#64B5CD", "#2F4B7C", "#A05195", "#F95D6A"]
PRECISION_STYLES = ["-", "--", ":", "-."]
RC = {"svg.hashsalt": "distilkit-report", "svg.fonttype": "path", "font.size": 9,
      "axes.titlesize": 10, "axes.spines.top": False, "axes.spines.right": False}


def colour(name: str) -> str:
    # crc32, not hash(): the colour of an unknown model must not change between runs.
    return COLOURS.get(name) or _FALLBACK[zlib.crc32(name.encode()) % len(_FALLBACK)]


def _save(fig, out: Path, name: str) -> list[str]:
    fig.tight_layout()
    fig.savefig(out / f"{name}.png", dpi=110, metadata={"Software": None})
    fig.savefig(out / f"{name}.svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return [f"{name}.png", f"{name}.svg"]


def _grouped_bars(ax, groups, models, value, text=None, unit=""):
    """Bars for each group (x) and model (colour); text(group, model) labels a bar."""
    width = 0.8 / max(1, len(models))
    for j, m in enumerate(models):
        xs, ys, texts = [], [], []
        for i, g in enumerate(groups):
            v = value(g, m)
            if v is not None:
                xs.append(i + (j - (len(models) - 1) / 2) * width)
                ys.append(v)
                texts.append(text(g, m) if text else None)
        bars = ax.bar(xs, ys, width, color=colour(m), label=label(m))
        for b, t in zip(bars, texts):
            if t:
                ax.annotate(t, (b.get_x() + b.get_width() / 2, b.get_height()), xytext=(0, 2),
                            textcoords="offset points", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([g if isinstance(g, str) else " ".join(map(str, g)) for g in groups],
                       rotation=30 if len(groups) > 3 else 0, ha="right" if len(groups) > 3 else "center")
    ax.margins(y=0.15)
    ax.legend(fontsize=8, frameon=False)


def sizes(rows, out: Path) -> list[str]:
    """Parameters per model and file size per format/precision (Table 3's 'smaller')."""
    if not rows:
        return []
    params = params_by_model(rows)
    best = largest_windows(rows)
    models = model_sort(params)
    groups = sorted({(f, p) for _, f, p in best})
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(4 + max(6, 1.1 * len(groups)), 4),
                                 gridspec_kw={"width_ratios": [1, max(2, len(groups) / 2)]})
    teacher = params.get("teacher")
    bars = a1.bar([label(m) for m in models], [params[m] / 1e6 for m in models],
                  color=[colour(m) for m in models])
    for b, m in zip(bars, models):
        t = f"{params[m] / 1e6:.1f} M" + (f"\n{100 * params[m] / teacher:.0f}%" if teacher and m != "teacher" else "")
        a1.annotate(t, (b.get_x() + b.get_width() / 2, b.get_height()), xytext=(0, 2),
                    textcoords="offset points", ha="center", va="bottom", fontsize=7)
    a1.set_ylabel("parameters (millions)")
    a1.set_title("parameters per model")
    a1.margins(y=0.2)
    mb = {k: r["bytes"] / 1e6 for k, r in best.items()}
    _grouped_bars(a2, groups, models, lambda g, m: mb.get((m, *g)),
                  lambda g, m: f"{mb[(m, *g)]:.1f}" if (m, *g) in mb else None)
    a2.set_ylabel("file size (MB)")
    seqs = sorted({r["seq_len"] for r in best.values()})
    a2.set_title(f"exported file size per format and precision (seq len {'/'.join(map(str, seqs))})")
    return _save(fig, out, "sizes")


def latency(rows, out: Path) -> list[str]:
    """Median latency per runtime/precision, one panel per device and sequence length,
    with each student's speedup over the teacher printed on its bar."""
    if not rows:
        return []
    panels = sorted({(r["panel"], r["seq_len"]) for r in rows})
    fig, axes = plt.subplots(len(panels), 1, squeeze=False,
                             figsize=(max(7, 1.3 * max(len({(r["runtime"], r["precision"]) for r in rows}), 4)),
                                      3.4 * len(panels)))
    for ax, (panel, seq) in zip(axes[:, 0], panels):
        sub = {(r["runtime"], r["precision"], r["model"]): r for r in rows
               if r["panel"] == panel and r["seq_len"] == seq}
        groups = sorted({(rt, p) for rt, p, _ in sub})
        models = model_sort(m for _, _, m in sub)

        def text(g, m):
            r = sub.get((*g, m))
            if r is None:
                return None
            return f"{r['speedup']:.2f}x" if r.get("speedup") and m != "teacher" else f"{r['median_ms']:.1f}"

        _grouped_bars(ax, groups, models,
                      lambda g, m: sub[(*g, m)]["median_ms"] if (*g, m) in sub else None, text)
        ax.set_ylabel("median latency (ms)")
        ax.set_title(f"{panel}\nsequence length {seq}")
    fig.suptitle("median latency: teacher bars show ms, student bars their speedup over the teacher", fontsize=9)
    return _save(fig, out, "latency")


def latency_vs_seq_len(rows, out: Path) -> list[str]:
    """One line per model and precision for each device/runtime timed at several lengths."""
    series = defaultdict(list)
    for r in rows:
        series[(r["panel"], r["runtime"], r["model"], r["precision"])].append((r["seq_len"], r["median_ms"]))
    panels = sorted({(p, rt) for (p, rt, _, _), pts in series.items() if len({s for s, _ in pts}) > 1})
    if not panels:
        return []
    precisions = sorted({k[3] for k in series})
    fig, axes = plt.subplots(len(panels), 1, squeeze=False, figsize=(6.5, 3.2 * len(panels)))
    for ax, (panel, runtime) in zip(axes[:, 0], panels):
        keys = [k for k in series if k[:2] == (panel, runtime)]
        for k in sorted(keys, key=lambda k: (model_sort([x[2] for x in keys]).index(k[2]), k[3])):
            pts = sorted(series[k])
            ax.plot([s for s, _ in pts], [v for _, v in pts], marker="o", color=colour(k[2]),
                    linestyle=PRECISION_STYLES[precisions.index(k[3]) % len(PRECISION_STYLES)],
                    label=f"{label(k[2])} {k[3]}")
        ax.set_xlabel("sequence length (tokens)")
        ax.set_ylabel("median latency (ms)")
        ax.set_title(f"{panel} - {runtime}")
        ax.legend(fontsize=7, frameon=False)
    return _save(fig, out, "latency_vs_seq_len")


def _retention_text(values, kept, g, m):
    v, k = values.get((g, m)), kept.get((g, m))
    if v is None:
        return None
    return f"{v:.1f}" if m == "teacher" or k is None else f"{v:.1f}\n{k:.0f}%"


def qa_accuracy(rows, out: Path) -> list[str]:
    """EM and F1 per model with the share of the teacher's score kept (Table 2)."""
    if not rows:
        return []
    datasets = sorted({r["dataset"] for r in rows})
    fig, axes = plt.subplots(1, len(datasets), squeeze=False, figsize=(4.5 * len(datasets), 3.8))
    for ax, ds in zip(axes[0], datasets):
        vals, kept = {}, {}
        for r in rows:
            if r["dataset"] == ds:
                for g, k in (("EM", "exact_match"), ("F1", "f1")):
                    vals[(g, r["model"])], kept[(g, r["model"])] = r[k], r["kept"][k]
        models = model_sort(m for _, m in vals)
        _grouped_bars(ax, ["EM", "F1"], models, lambda g, m: vals.get((g, m)),
                      lambda g, m: _retention_text(vals, kept, g, m))
        ax.set_ylim(0, 115)
        ax.set_ylabel("score (%)")
        ax.set_title(f"QA {ds}: EM / F1 (% = kept of teacher)")
    return _save(fig, out, "qa_accuracy")


def classification(rows, out: Path) -> list[str]:
    """Classification score per task and model with retention (Tables 1 and 2)."""
    rows = [r for r in rows if "missing" not in r]
    if not rows:
        return []
    vals = {(f"{r['task']} ({r['metric']})", r["model"]): r["score"] for r in rows}
    kept = {(f"{r['task']} ({r['metric']})", r["model"]): r["kept"]["score"] for r in rows}
    groups = sorted({g for g, _ in vals})
    models = model_sort(m for _, m in vals)
    fig, ax = plt.subplots(figsize=(max(5, 1.4 * len(groups) + 2), 3.8))
    _grouped_bars(ax, groups, models, lambda g, m: vals.get((g, m)),
                  lambda g, m: _retention_text(vals, kept, g, m))
    ax.set_ylabel("score (accuracy %, or correlation x 100)")
    ax.set_title("Classification scores (% = kept of teacher)")
    return _save(fig, out, "classification")


def qa_curve(rows, out: Path) -> list[str]:
    """The QA teacher's F1 (solid) and EM (dashed) per epoch on each evaluation set."""
    if not rows:
        return []
    verdicts = curve_verdict(rows)
    fig, axes = plt.subplots(1, len(verdicts), squeeze=False, figsize=(5.5 * len(verdicts), 3.6))
    for ax, (file, v) in zip(axes[0], verdicts.items()):
        mine = [r for r in rows if r["file"] == file]
        for ds in dict.fromkeys(r["dataset"] for r in mine):
            pts = sorted((r["epoch"], r["f1"], r["exact_match"]) for r in mine if r["dataset"] == ds)
            c = colour(ds)
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", color=c, label=f"{ds} F1")
            ax.plot([p[0] for p in pts], [p[2] for p in pts], marker=".", linestyle="--", color=c, label=f"{ds} EM")
        ax.set_xlabel("epoch")
        ax.set_ylabel("score (%)")
        ax.set_xticks(sorted({r["epoch"] for r in mine}))
        ax.set_title(f"QA teacher per epoch: {'converged' if v['converged'] else 'epoch cap reached'} "
                     f"({v['epochs']}/{v['max_epochs']} epochs)")
        ax.legend(fontsize=7, frameon=False)
    return _save(fig, out, "qa_curve")


def _change_panel(ax, rows, delta, noise, xlabel, title):
    """Horizontal bars of each variant's change vs full, error bars of the pooled std (noise / 2)."""
    names = [r["variant"] for r in rows]
    vals = [r[delta] for r in rows]
    err = [r[noise] / 2 if r[noise] is not None else 0 for r in rows]
    ax.barh(names, vals, xerr=err if any(err) else None, capsize=3, color=[colour(n) for n in names],
            error_kw={"linewidth": 0.8})
    for y, (v, e) in enumerate(zip(vals, err)):  # the label sits past the error bar
        ax.annotate(f"{v:+.2f}", (v + e if v >= 0 else v - e, y), xytext=(3 if v >= 0 else -3, 0), textcoords="offset points",
                    va="center", ha="left" if v >= 0 else "right", fontsize=7)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.invert_yaxis()
    ax.margins(x=0.25)


def ablation(rows, paper_deltas: dict, out: Path) -> list[str]:
    """Table 4: change of each variant vs the full triple loss (error bars: pooled std over seeds),
    the same for QA F1 when scored, next to the paper's change."""
    if not rows:
        return []
    full = any(r["variant"] == "full" for r in rows)
    variants = [r for r in rows if r["delta"] is not None] if full else rows
    qa = [r for r in variants if r.get("qa_delta") is not None]
    fig, axes = plt.subplots(1, 3 if qa else 2, figsize=(15 if qa else 10, 0.5 * max(len(variants), 4) + 1.5))
    if full:
        _change_panel(axes[0], variants, "delta", "noise", "change of masked-token accuracy vs full (points)",
                      "this run: held-out masked LM (bars: pooled std)")
    else:
        names = [r["variant"] for r in variants]
        axes[0].barh(names, [100 * r["masked_acc"] for r in variants], color=[colour(n) for n in names])
        axes[0].set_xlabel("masked-token accuracy (%) - no 'full' run to compare with")
        axes[0].set_title("this run (held-out masked LM)")
        axes[0].invert_yaxis()
    if qa:
        _change_panel(axes[1], qa, "qa_delta", "qa_noise", "change of QA F1 vs full (points)",
                      "this run: QA F1 after a short fine-tune")
    pn = list(paper_deltas)
    _change_panel(axes[-1], [{"variant": n, "d": paper_deltas[n], "e": None} for n in pn], "d", "e",
                  "change of GLUE macro score vs full (points)", "paper, Table 4")
    return _save(fig, out, "ablation")


def mlm(rows, out: Path) -> list[str]:
    """Held-out masked-token accuracy, teacher vs student(s), per evaluation file."""
    if not rows:
        return []
    fig, ax = plt.subplots(figsize=(max(5, 0.9 * len(rows) + 2), 3.8))
    names = [f"{r['source']}\n{label(r['model'])} ({r['when']})" for r in rows]
    bars = ax.bar(range(len(rows)), [100 * r["masked_acc"] for r in rows],
                  color=[colour(r["model"]) for r in rows])
    for b, r in zip(bars, rows):
        ax.annotate(f"{100 * r['masked_acc']:.1f}", (b.get_x() + b.get_width() / 2, b.get_height()),
                    xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(names, fontsize=7, rotation=30 if len(rows) > 4 else 0, ha="right" if len(rows) > 4 else "center")
    ax.set_ylabel("masked-token accuracy (%)")
    ax.set_title("held-out masked LM accuracy")
    ax.margins(y=0.15)
    return _save(fig, out, "mlm")


def draw_all(data: dict, paper_ablation: dict, out: Path) -> list[str]:
    """Every figure the data allows; returns the file names written into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with plt.rc_context(RC):
        written += sizes(data["sizes"], out)
        written += latency(data["latency"], out)
        written += latency_vs_seq_len(data["latency"], out)
        written += qa_accuracy(data["qa"], out)
        written += qa_curve(data["curve"], out)
        written += classification(data["cls"], out)
        written += ablation(data["ablation"], paper_ablation, out)
        written += mlm(data["mlm"], out)
    return written
