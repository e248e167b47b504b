"""The report's rows: every results file flattened into one list per study, plus the figures
derived from them (speedup over the teacher, share of the teacher's score kept, change of
each ablation variant, parameters per model).

The Markdown tables (tables.py) and the figures (plots.py) both read these rows and compute
none of it again, so a table and its plot cannot disagree. Nothing here imports matplotlib.
"""
from __future__ import annotations

from pathlib import Path

from pipeline.core.registry import CLASSIFY_TASKS

MODEL_ORDER = ["teacher", "student", "student_d", "student_dt"]
# student_d is the paper's (D): the general student fine-tuned with QA distillation (qa.distil_init student);
# student_dt starts from the QA teacher's layers instead (task-specific distillation, qa.teacher_layer_d).
MODEL_LABELS = {"teacher": "teacher", "student": "student", "student_d": "student (D)",
                "student_dt": "student (D) from teacher layers"}
STUDIES = ("sizes", "latency", "qa", "curve", "cls", "ablation", "mlm", "parity", "device_accuracy")
# F1 points the phone may differ from the host on the same file before the report flags it: more is not rounding,
# the phone's runtime computes something else.
DEVICE_F1_TOLERANCE = 0.5


def label(model: str) -> str:
    return MODEL_LABELS.get(model, model)


def model_rank(model: str) -> tuple:
    return (MODEL_ORDER.index(model) if model in MODEL_ORDER else 99, model)


def model_sort(models) -> list:
    return sorted(set(models), key=model_rank)


def _panel(obj: dict) -> str:
    dev = obj["device"]
    return f"{obj['source']}: {dev['name']} ({dev.get('soc') or dev.get('cpu')}, {dev['os']}, {dev['threads']} thr)"


def _fmt(row: dict) -> str:
    # One format can hold several backends (e.g. ExecuTorch XNNPACK vs portable): keep them apart.
    return f"{row['format']} ({row['backend']})" if row.get("backend") else row["format"]


def flatten(kind: str, obj: dict, rel: str) -> tuple[str, list[dict]]:
    """(study, rows) of one valid results file."""
    if kind == "artifacts":
        return "sizes", [dict(a, file=rel, format=_fmt(a)) for a in obj["artifacts"]]
    if kind == "benchmark":
        keep = ("runtime", "runtime_version", "model", "precision", "seq_len", "load_ms", "peak_mem_mb", "file_bytes")
        return "latency", [{**e["stats"], **{k: e[k] for k in keep}, "panel": _panel(obj), "source": obj["source"],
                            "file": rel} for e in obj["entries"]]
    if kind == "qa_metrics":
        return "qa", [dict(m, dataset=obj["dataset"], file=rel) for m in obj["models"]]
    if kind == "classification_metrics":
        known = CLASSIFY_TASKS.get(obj["task"])  # files without a title: the registry's, else the task name
        head = {"task": obj["task"], "metric": obj["metric"], "file": rel,
                "title": obj.get("title", known.title if known else obj["task"]),
                "paper_task": obj.get("paper_task", known.paper_task if known else obj["task"])}
        if "missing" in obj:
            return "cls", [dict(head, model=None, missing=obj["missing"])]
        return "cls", [dict(m, **head) for m in obj["models"]]
    if kind == "qa_curve":
        head = {k: obj[k] for k in ("model", "max_epochs", "converge_f1", "converged")}
        return "curve", [dict(head, epoch=e["epoch"], steps=e["steps"], seconds=e["seconds"], dataset=ds, file=rel, **sc)
                         for e in obj["epochs"] for ds, sc in e["scores"].items()]
    if kind == "ablation":
        return "ablation", _ablation_rows(obj, rel)
    if kind == "mlm_eval":
        models = obj["models"] + ([dict(obj["baseline"], baseline=True)] if "baseline" in obj else [])
        return "mlm", [dict(m, source=Path(rel).stem, file=rel) for m in models]
    return "parity", [dict(c, file=rel, format=_fmt(c)) for c in obj["checks"]]


def accuracy_rows(obj: dict, rel: str) -> list[dict]:
    """A device file's accuracy block: one row per staged file, with its group's own figure (the app's window choice)."""
    block = obj.get("accuracy")
    if not block:
        return []
    return [{"device": obj["device"]["name"], "file": rel, "question_set": block["question_set"],
             "questions": block["questions"], "runtime": f"{e['runtime']} {e['runtime_version']}".strip(),
             "model": e["model"], "format": _fmt(e), "precision": e["precision"], "seq_len": x["seq_len"],
             "exact_match": x["exact_match"], "f1": x["f1"], "chosen": x["chosen"], "app": e["window_choice"],
             "lengths": len(e["lengths"])}
            for e in block["entries"] for x in e["lengths"]]


def _ablation_rows(obj: dict, rel: str) -> list[dict]:
    """One row per variant: the mean over seeds (masked_acc, mlm_loss, qa_f1) and its std (None
    with one seed). A file without a summary (one seed, older runs) gives its rows as they are."""
    if "summary" not in obj:
        return [dict(v, n=1, masked_acc_std=None, qa_f1_std=None, file=rel) for v in obj["variants"]]
    out = []
    for s in obj["summary"]:
        row = {"variant": s["variant"], "n": len(s["seeds"]), "steps": s["steps"], "file": rel,
               "masked_acc": s["masked_acc"]["mean"], "masked_acc_std": s["masked_acc"]["std"],
               "mlm_loss": s["mlm_loss"]["mean"]}
        if "qa_f1" in s:
            row.update(qa_f1=s["qa_f1"]["mean"], qa_f1_std=s["qa_f1"]["std"])
        if "cls_score" in s:
            row.update(cls_score=s["cls_score"]["mean"], cls_score_std=s["cls_score"]["std"],
                       cls_task=obj.get("classify", {}).get("task"))
        out.append(row)
    return out


def retention(value, teacher) -> float | None:
    """Percent of the teacher's score a model keeps; None without a positive teacher score."""
    return 100 * value / teacher if teacher and teacher > 0 else None


def file_gates(parity) -> dict:
    """(model, format, precision, seq_len) -> {"ran": every check of that file ran, "passed": every check ran
    and passed}: a file is in its gate only when all its question sets are."""
    out = {}
    for r in parity:
        g = out.setdefault((r["model"], r["format"], r["precision"], r["seq_len"]), {"ran": True, "passed": True})
        g["ran"] = g["ran"] and bool(r.get("ran"))
        g["passed"] = g["passed"] and bool(r.get("ran")) and bool(r.get("passed"))
    return out


def params_by_model(sizes, mlm=()) -> dict:
    """Parameters per model: from the exported artifacts first, else from the masked-LM evaluations."""
    params = {}
    for r in list(sizes) + [m for m in mlm if not m.get("baseline")]:
        params.setdefault(r["model"], r["params"])
    return params


def largest_windows(sizes) -> dict:
    """One artifact per (model, format, precision): the longest sequence length exported."""
    best = {}
    for r in sizes:
        k = (r["model"], r["format"], r["precision"])
        if k not in best or r["seq_len"] > best[k]["seq_len"]:
            best[k] = r
    return best


def _speedups(rows: list[dict]) -> None:
    """Teacher median / model median on the same device, runtime, precision and length."""
    teacher = {(r["panel"], r["runtime"], r["precision"], r["seq_len"]): r["median_ms"]
               for r in rows if r["model"] == "teacher"}
    for r in rows:
        t = teacher.get((r["panel"], r["runtime"], r["precision"], r["seq_len"]))
        r["speedup"] = t / r["median_ms"] if t and r["median_ms"] > 0 else None


def _kept(rows: list[dict], group, metrics) -> None:
    """r["kept"][metric]: share of the same group's teacher score (the last teacher row of a group counts)."""
    teacher = {group(r): r for r in rows if r["model"] == "teacher"}
    for r in rows:
        t = teacher.get(group(r))
        r["has_teacher"] = t is not None
        r["kept"] = {k: retention(r[k], t[k] if t else None) for k in metrics}


def pooled_noise(std_a, std_b) -> float | None:
    """2 x the pooled standard deviation of two seed groups: a change larger than this is taken as
    beyond the noise (None without a std on both sides, i.e. with one seed)."""
    if std_a is None or std_b is None:
        return None
    return 2 * ((std_a ** 2 + std_b ** 2) / 2) ** 0.5


def _ablation_deltas(rows: list[dict]) -> None:
    """Change vs the 'full' variant of the same file, in points, and whether it exceeds the noise:
    r["delta"] / r["noise"] / r["beyond"] for masked accuracy, r["qa_delta"] / ... for QA F1."""
    full = {r["file"]: r for r in rows if r["variant"] == "full"}
    for r in rows:
        f = full.get(r["file"]) if r["variant"] != "full" else None
        for key, scale, pre in (("masked_acc", 100, ""), ("qa_f1", 1, "qa_"), ("cls_score", 1, "cls_")):
            have = f is not None and r.get(key) is not None and f.get(key) is not None
            delta = scale * (r[key] - f[key]) if have else None
            noise = pooled_noise(r.get(f"{key}_std"), f.get(f"{key}_std")) if have else None
            r[f"{pre}delta"], r[f"{pre}noise"] = delta, None if noise is None else scale * noise
            r[f"{pre}beyond"] = None if noise is None else abs(delta) > scale * noise


def curve_verdict(rows: list[dict]) -> dict:
    """Per curve file: epochs run, the deciding set (the first one), its last change of F1, and
    whether training stopped converged or at the epoch cap."""
    out = {}
    for file in dict.fromkeys(r["file"] for r in rows):
        mine = [r for r in rows if r["file"] == file]
        ds = mine[0]["dataset"]
        f1 = [r["f1"] for r in sorted(mine, key=lambda r: r["epoch"]) if r["dataset"] == ds]
        out[file] = {"dataset": ds, "epochs": len(f1), "max_epochs": mine[0]["max_epochs"],
                     "converge_f1": mine[0]["converge_f1"], "converged": mine[0]["converged"],
                     "last_change": f1[-1] - f1[-2] if len(f1) > 1 else None, "final_f1": f1[-1]}
    return out


def host_f1(row: dict, parity: list[dict]) -> tuple[float | None, str]:
    """(host F1 of the file a device row scored, on the same question set; where it comes from, or why there is none).
    The file's own parity figure where parity scored it on that set (int8: the natural-question gate); else, for an
    fp32 file whose parity check passed (identical answers to PyTorch on the dev set), PyTorch's at that length."""
    key = (row["model"], row["format"], row["precision"], row["seq_len"])
    check = next((p for p in parity if (p["model"], p["format"], p["precision"], p["seq_len"]) == key), None)
    if check is None:
        return None, "no parity check of this file"
    if not check.get("ran"):
        return None, f"parity could not run it ({check.get('note') or 'no reason recorded'})"
    own = check.get("handwritten") or {}
    if own.get("question_set") == row["question_set"] and own.get("f1") is not None:
        return own["f1"], "file"
    ref = next((p["f1"] for p in parity if p["format"] == "pytorch" and p.get("question_set") == row["question_set"]
                and (p["model"], p["seq_len"]) == (row["model"], row["seq_len"]) and p.get("f1") is not None), None)
    if row["precision"] == "fp32" and check.get("passed") and ref is not None:
        return ref, "PyTorch fp32"
    return None, f"parity scored this file on the dev set, not on {row['question_set']}"


def _device_vs_host(rows: list[dict], parity: list[dict]) -> None:
    """r["host_f1"], r["host_from"], r["f1_gap"] (device minus host) and r["flagged"] (gap over the tolerance)."""
    for r in rows:
        r["host_f1"], r["host_from"] = host_f1(r, parity)
        r["f1_gap"] = None if r["host_f1"] is None else r["f1"] - r["host_f1"]
        r["flagged"] = r["f1_gap"] is not None and abs(r["f1_gap"]) > DEVICE_F1_TOLERANCE


def derive(data: dict) -> dict:
    """Add the derived figures to the rows of every study, in place; returns data."""
    _speedups(data["latency"])
    _kept(data["qa"], lambda r: r["dataset"], ("exact_match", "f1"))
    _kept([r for r in data["cls"] if "missing" not in r], lambda r: (r["task"], r["metric"]), ("score",))
    _ablation_deltas(data["ablation"])
    _device_vs_host(data["device_accuracy"], data["parity"])
    return data
