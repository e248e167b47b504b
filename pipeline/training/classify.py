"""Sequence-classification fine-tune + evaluation: GLUE and IMDb (paper Tables 1 and 2).

    python pipeline/training/classify.py --task sst2 --model teacher=runs/paper/teacher/model \\
        --model student=runs/paper/distill/model                     # GLUE through `datasets`
    python pipeline/training/classify.py --task mytask --train train.tsv --dev dev.tsv --text-cols sentence

GLUE tasks and IMDb load through `datasets` (needs a network); any task can instead read
local TSV/CSV files with a header row. Each model is fine-tuned on the train split and
scored on the dev split with the task's GLUE metric, on the paper's scale (percent, or
correlation x 100). Writes results/glue/<task>.json (kind classification_metrics).
Run settings (seed, device, threads, results folder) and the fine-tuning settings ([classify]:
epochs, batch size, learning rate, max length) come from the usual Config options.
"""
from __future__ import annotations

import csv
import math
import random
import re
import sys
import time
from pathlib import Path

import numpy as np  # noqa: E402
import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from pipeline.config import UserError, build_parser, from_args  # noqa: E402
from pipeline.core.runs import log, write_json_atomic  # noqa: E402
from pipeline.core.registry import CLASSIFY_TASKS  # noqa: E402
from pipeline.data.classify_data import HUB_TASKS as TASKS, DataMissing  # noqa: E402

METRICS = ("accuracy", "f1", "matthews", "pearson", "spearman")


def score(metric: str, preds: np.ndarray, labels: np.ndarray) -> float:
    """The metric on the paper's scale: x 100."""
    if metric == "accuracy":
        return 100.0 * float(np.mean(preds == labels))
    if metric == "f1":  # binary, positive class 1
        tp, fp, fn = (np.sum((preds == 1) & (labels == 1)), np.sum((preds == 1) & (labels != 1)),
                      np.sum((preds != 1) & (labels == 1)))
        return 100.0 * (2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    if metric == "matthews":
        tp, tn = np.sum((preds == 1) & (labels == 1)), np.sum((preds != 1) & (labels != 1))
        fp, fn = np.sum((preds == 1) & (labels != 1)), np.sum((preds != 1) & (labels == 1))
        den = math.sqrt(float((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)))
        return 100.0 * float(tp * tn - fp * fn) / den if den else 0.0
    if metric == "spearman":
        preds, labels = (np.argsort(np.argsort(x)).astype(float) for x in (preds, labels))
    if metric in ("pearson", "spearman"):
        if np.std(preds) == 0 or np.std(labels) == 0:
            return 0.0
        return 100.0 * float(np.corrcoef(preds.astype(float), labels.astype(float))[0, 1])
    raise UserError(f"unknown metric {metric!r} (known: {', '.join(METRICS)})")


def read_table(path: Path, text_cols, label_col: str) -> list[dict]:
    """Rows {'text': tuple, 'label': str} of a TSV/CSV file with a header row."""
    if not path.is_file():
        raise UserError(f"data file not found: {path}")
    delim = "," if path.suffix.lower() == ".csv" else "\t"
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh, delimiter=delim, quoting=csv.QUOTE_MINIMAL if delim == "," else csv.QUOTE_NONE)
        header = reader.fieldnames or []
        missing = [c for c in (*text_cols, label_col) if c not in header]
        if missing:
            raise UserError(f"{path}: no column(s) {', '.join(missing)} in header {header}")
        rows = []
        for n, r in enumerate(reader, 2):
            if any(r.get(c) is None for c in (*text_cols, label_col)):
                raise UserError(f"{path}: line {n} has too few fields")
            rows.append({"text": tuple(r[c] for c in text_cols), "label": r[label_col].strip()})
    if not rows:
        raise UserError(f"{path}: no data rows")
    return rows


def load_hub_task(task: str) -> tuple[list, list, str]:
    """A GLUE task or IMDb through `datasets` (needs a network or a local Hub-layout copy)."""
    name, conf, cols, dev_split, metric = TASKS[task]
    from pipeline.data import hf_data
    what = f"task {task}"
    ds = hf_data.load(name, conf, what=what)
    missing = [s for s in ("train", dev_split) if s not in ds]
    if missing:
        raise UserError(f"{what}: {name} has no split(s) {', '.join(missing)} (it has {', '.join(ds)})")
    hf_data.require_columns(ds, (*cols, "label"), what)
    conv = lambda split: [{"text": tuple(r[c] for c in cols), "label": str(r["label"])} for r in ds[split]]  # noqa: E731
    return conv("train"), conv(dev_split), metric


def load(task: str, cfg) -> tuple[list, list, str, dict]:
    """(train, dev, metric, what the results record about the task and its data) of an offline or hub task."""
    from pipeline.data import classify_data as CD
    if task in CD.OFFLINE_TASKS:
        t = CD.OFFLINE_TASKS[task]
        sdist = Path(cfg.classify.sdist).expanduser() if cfg.classify.sdist else None
        train, dev, source = CD.load_offline(task, sdist, Path(cfg.classify.cache_dir).expanduser(),
                                             cfg.classify.sdist_sha256)
        return train, dev, t.metric, {"title": t.title, "paper_task": t.paper_task, "data": source}
    if task not in TASKS:
        raise UserError(f"unknown task {task!r}: use one of {', '.join([*CD.OFFLINE_TASKS, *TASKS])} "
                        f"or give --train/--dev files")
    train, dev, metric = load_hub_task(task)
    t = CLASSIFY_TASKS[task]
    return train, dev, metric, {"title": t.title, "paper_task": t.paper_task,
                                "data": {"package": "datasets", "file": TASKS[task][0]}}


def load_task(args, cfg) -> tuple[list, list, str, dict]:
    if args.train or args.dev:
        if not (args.train and args.dev):
            raise UserError("local data needs both --train and --dev")
        cols = tuple(args.text_cols) or TASKS.get(args.task, (None, None, ("sentence",)))[2]
        metric = args.metric or TASKS.get(args.task, (None,) * 4 + ("accuracy",))[4]
        return (read_table(Path(args.train), cols, args.label_col), read_table(Path(args.dev), cols, args.label_col),
                metric, {"data": {"file": f"{Path(args.train).name}, {Path(args.dev).name}"}})
    train, dev, metric, info = load(args.task, cfg)
    return train, dev, args.metric or metric, info


def encode(tok, rows, labels_map, max_length, token_types: bool):
    texts = list(zip(*[r["text"] for r in rows]))
    enc = tok(*[list(t) for t in texts], truncation=True, max_length=max_length, return_token_type_ids=token_types)
    ys = [labels_map[r["label"]] if labels_map else float(r["label"]) for r in rows]
    return [{"input_ids": enc["input_ids"][i], "attention_mask": enc["attention_mask"][i],
             **({"token_type_ids": enc["token_type_ids"][i]} if token_types else {}), "y": ys[i]}
            for i in range(len(rows))]


def batches(feats, plan, device):
    """Padded tensors per batch of indices (plan: kit.plan_epoch's list of index arrays)."""
    for idx in plan:
        chunk = [feats[j] for j in idx]
        width = max(len(f["input_ids"]) for f in chunk)
        b = {k: torch.tensor([f[k] + [0] * (width - len(f[k])) for f in chunk], device=device)
             for k in ("input_ids", "attention_mask", "token_type_ids") if k in chunk[0]}
        yield b, torch.tensor([f["y"] for f in chunk], device=device)


def _label_map(train, dev, regression: bool) -> dict:
    if regression:
        return {}
    labels = sorted({r["label"] for r in train}, key=lambda s: (len(s), s))
    unknown = {r["label"] for r in dev} - set(labels)
    if unknown:
        raise UserError(f"dev labels {sorted(unknown)} never occur in the training data")
    return {lab: i for i, lab in enumerate(labels)}


def subset(rows: list, cap: int, seed: int) -> list:
    """At most cap rows (0: all), the same ones for every model of a run."""
    if not cap or len(rows) <= cap:
        return rows
    keep = sorted(random.Random(seed).sample(range(len(rows)), cap))
    return [rows[i] for i in keep]


def _train(model, feats, ccfg, cfg, device, desc: str, regression: bool) -> float:
    """Fine-tune in place; returns the wall seconds."""
    from pipeline.training import kit
    from pipeline.training.hardware import autocast
    lengths = [len(f["input_ids"]) for f in feats]
    plans = [kit.plan_epoch(lengths, ccfg.batch_size, cfg.run.seed + e, True, drop_last=False)
             for e in range(ccfg.epochs)]
    steps = sum(len(p) for p in plans)
    opt = torch.optim.AdamW(kit.decay_groups(model, 0.01, exempt=False), lr=ccfg.lr)  # frozen ones get no grad
    sched = kit.warmup_linear(opt, steps, int(0.1 * steps), first_step_at_zero=True)
    model.train()
    t0 = time.time()
    with tqdm(total=steps, desc=desc, unit="step", mininterval=2) as bar:
        for plan in plans:
            for b, y in batches(feats, plan, device):
                with autocast(cfg, device):
                    loss = model(**b, labels=y.float() if regression else y).loss
                loss.backward()
                kit.optimizer_step(opt, sched, model.parameters(), 1.0)
                bar.update()
                bar.set_postfix(loss=f"{loss.item():.3f}")
    return time.time() - t0


def _predict(model, feats, ccfg, cfg, device, regression: bool) -> np.ndarray:
    from pipeline.training.hardware import autocast
    model.eval()
    order = np.argsort([len(f["input_ids"]) for f in feats], kind="stable")
    plan = [order[i:i + 2 * ccfg.batch_size] for i in range(0, len(order), 2 * ccfg.batch_size)]
    out = np.zeros(len(feats))
    with torch.no_grad(), autocast(cfg, device):
        for idx, (b, _) in zip(plan, batches(feats, plan, device)):
            logits = model(**b).logits.float()
            out[idx] = (logits[:, 0] if regression else logits.argmax(-1)).cpu().numpy()
    return out


def fine_tune_and_score(name, folder, train, dev, metric, task, cfg, device) -> dict:
    """Fine-tune one checkpoint on train (settings from the classify section) and score it on dev."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from pipeline.training.hardware import seed_everything
    from pipeline.core.models import uses_token_types
    ccfg = cfg.classify
    seed_everything(cfg.run.seed)
    regression = metric in ("pearson", "spearman")
    labels_map = _label_map(train, dev, regression)
    if not Path(folder, "config.json").is_file():
        raise UserError(f"model {name}: no checkpoint in {folder}")
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(
        folder, num_labels=1 if regression else len(labels_map),
        problem_type="regression" if regression else "single_label_classification").to(device)
    if ccfg.freeze_embeddings:  # the word-embedding table is most of a small model's weights, little of its compute
        model.get_input_embeddings().weight.requires_grad_(False)
    use_tt = uses_token_types(model)
    tr, dv = (encode(tok, rows, labels_map, ccfg.max_length, use_tt) for rows in (train, dev))
    seconds = _train(model, tr, ccfg, cfg, device, f"{task} {name}", regression)
    preds = _predict(model, dv, ccfg, cfg, device, regression)
    gold = np.array([f["y"] for f in dv])
    return {"model": name, "score": round(score(metric, preds, gold), 3), "n": len(dv),
            "train_seconds": round(seconds, 1)}


def write_result(cfg, device, task: str, metric: str, models: list[dict], train_rows: int, **extra) -> None:
    """results/glue/<task>.json (kind classification_metrics)."""
    from pipeline.core import results as results_io
    ccfg = cfg.classify
    results_io.write(Path(cfg.run.results_dir) / "glue" / f"{task}.json", results_io.document(
        "classification_metrics", results_io.run_scale(cfg, results_io.torch_label(device)), task=task,
        metric=metric, models=models, seed=cfg.run.seed, **extra,
        training={"epochs": ccfg.epochs, "batch_size": ccfg.batch_size, "lr": ccfg.lr, "max_length": ccfg.max_length,
                  "train_rows": train_rows, "frozen_word_embeddings": ccfg.freeze_embeddings}))


def _extra(parser):
    parser.add_argument("--task", required=True, help=f"GLUE task or imdb ({', '.join(TASKS)}), or a name for local files")
    parser.add_argument("--model", action="append", default=[], metavar="NAME=FOLDER",
                        help="a model to fine-tune (repeat); default: teacher and distilled student of the run folder")
    parser.add_argument("--train", help="local TSV/CSV training file with a header row")
    parser.add_argument("--dev", help="local TSV/CSV evaluation file with a header row")
    parser.add_argument("--text-cols", nargs="+", default=[], help="text column(s) of local files (one or a pair)")
    parser.add_argument("--label-col", default="label", help="label column of local files")
    parser.add_argument("--metric", choices=METRICS, help="override the task's metric")


def _models(specs: list[str]) -> list[tuple[str, str]]:
    models = []
    for spec in specs:
        name, sep, folder = spec.partition("=")
        if not sep or not name or not folder:
            raise UserError(f"--model {spec!r}: expected NAME=FOLDER")
        models.append((name, folder))
    return models


def main(argv=None) -> int:
    parser = build_parser("classify.py", __doc__.split("\n\n")[0], _extra, sections=("run", "classify"))
    args = parser.parse_args(argv)
    try:
        from pipeline.training.hardware import pick_device
        cfg = from_args(args)
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", args.task):
            raise UserError(f"task name {args.task!r}: use letters, digits, '_', '.', '-'")
        models = _models(args.model or [f"teacher={cfg.run_dir / 'teacher' / 'model'}",
                                        f"student={cfg.run_dir / 'distill' / 'model'}"])
        device = pick_device(cfg)
        train, dev, metric, info = load_task(args, cfg)
        train = subset(train, cfg.classify.max_train_rows, cfg.run.seed)
        log(f"{args.task}: {len(train)} train, {len(dev)} dev rows, metric {metric}")
        results = [fine_tune_and_score(n, f, train, dev, metric, args.task, cfg, device) for n, f in models]
    except (UserError, DataMissing) as e:  # data that cannot be had is a user-facing error here: one task, no run
        print(f"error: {e}", file=sys.stderr)
        return 2
    write_result(cfg, device, args.task, metric, results, len(train), **info)
    for r in results:
        print(f"{args.task} {r['model']:10s} {metric} {r['score']:.2f} (n={r['n']})")
    return 0


def run(cfg, ctx) -> dict:
    """The classify stage: teacher and distilled student on each of classify.tasks. A task whose data cannot
    be had here is named in one line and in its results file; the other tasks and stages go on."""
    from pipeline.training.hardware import pick_device
    device = pick_device(cfg)
    models = [("teacher", ctx.inputs["teacher"] / "model"), ("student", ctx.inputs["distill"] / "model")]
    summary = {}
    for task in cfg.classify.tasks:
        try:
            train, dev, metric, info = load(task, cfg)
        except DataMissing as e:
            log(f"classify: {task} skipped: {e}")
            write_result(cfg, device, task, "n/a", [], 0, missing=str(e))
            summary[task] = {"missing": str(e)}
            continue
        train = subset(train, cfg.classify.max_train_rows, cfg.run.seed)
        log(f"classify: {task}: {len(train)} train, {len(dev)} dev rows, metric {metric}")
        results = [fine_tune_and_score(n, f, train, dev, metric, task, cfg, device) for n, f in models]
        write_result(cfg, device, task, metric, results, len(train), **info)
        for r in results:
            log(f"classify: {task} {r['model']:8s} {metric} {r['score']:.2f} (n={r['n']}, {r['train_seconds']:.0f} s)")
        summary[task] = {r["model"]: r["score"] for r in results}
    write_json_atomic(ctx.out / "scores.json", summary)
    return summary


if __name__ == "__main__":
    sys.exit(main())
