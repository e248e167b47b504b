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
from pathlib import Path

import numpy as np  # noqa: E402
import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from pipeline.config import UserError, build_parser, from_args  # noqa: E402
from pipeline.core.runs import log  # noqa: E402

# task -> (datasets name, config, text columns, dev split, metric). Both repositories are Parquet
# (no loading script), with the columns and splits named here; evidence in pipeline/hf_data.py.
TASKS = {
    "cola": ("nyu-mll/glue", "cola", ("sentence",), "validation", "matthews"),
    "sst2": ("nyu-mll/glue", "sst2", ("sentence",), "validation", "accuracy"),
    "mrpc": ("nyu-mll/glue", "mrpc", ("sentence1", "sentence2"), "validation", "f1"),
    "qqp": ("nyu-mll/glue", "qqp", ("question1", "question2"), "validation", "f1"),
    "stsb": ("nyu-mll/glue", "stsb", ("sentence1", "sentence2"), "validation", "pearson"),
    "mnli": ("nyu-mll/glue", "mnli", ("premise", "hypothesis"), "validation_matched", "accuracy"),
    "qnli": ("nyu-mll/glue", "qnli", ("question", "sentence"), "validation", "accuracy"),
    "rte": ("nyu-mll/glue", "rte", ("sentence1", "sentence2"), "validation", "accuracy"),
    "wnli": ("nyu-mll/glue", "wnli", ("sentence1", "sentence2"), "validation", "accuracy"),
    "imdb": ("stanfordnlp/imdb", None, ("text",), "test", "accuracy"),
}
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


def load_task(args) -> tuple[list, list, str]:
    if args.train or args.dev:
        if not (args.train and args.dev):
            raise UserError("local data needs both --train and --dev")
        cols = tuple(args.text_cols) or TASKS.get(args.task, (None, None, ("sentence",)))[2]
        metric = args.metric or TASKS.get(args.task, (None,) * 4 + ("accuracy",))[4]
        return read_table(Path(args.train), cols, args.label_col), read_table(Path(args.dev), cols, args.label_col), metric
    if args.task not in TASKS:
        raise UserError(f"unknown task {args.task!r}: use one of {', '.join(TASKS)} or give --train/--dev files")
    name, conf, cols, dev_split, metric = TASKS[args.task]
    from pipeline.data import hf_data
    what = f"task {args.task}"
    ds = hf_data.load(name, conf, what=what)
    missing = [s for s in ("train", dev_split) if s not in ds]
    if missing:
        raise UserError(f"{what}: {name} has no split(s) {', '.join(missing)} (it has {', '.join(ds)})")
    hf_data.require_columns(ds, (*cols, "label"), what)
    conv = lambda split: [{"text": tuple(r[c] for c in cols), "label": str(r["label"])} for r in ds[split]]  # noqa: E731
    return conv("train"), conv(dev_split), args.metric or metric


def encode(tok, rows, labels_map, max_length, token_types: bool):
    texts = list(zip(*[r["text"] for r in rows]))
    enc = tok(*[list(t) for t in texts], truncation=True, max_length=max_length, return_token_type_ids=token_types)
    ys = [labels_map[r["label"]] if labels_map else float(r["label"]) for r in rows]
    return [{"input_ids": enc["input_ids"][i], "attention_mask": enc["attention_mask"][i],
             **({"token_type_ids": enc["token_type_ids"][i]} if token_types else {}), "y": ys[i]}
            for i in range(len(rows))]


def batches(feats, size, device, order):
    for i in range(0, len(order), size):
        chunk = [feats[j] for j in order[i:i + size]]
        width = max(len(f["input_ids"]) for f in chunk)
        b = {k: torch.tensor([f[k] + [0] * (width - len(f[k])) for f in chunk], device=device)
             for k in ("input_ids", "attention_mask", "token_type_ids") if k in chunk[0]}
        yield b, torch.tensor([f["y"] for f in chunk], device=device)


def fine_tune_and_score(name, folder, train, dev, metric, args, cfg, device) -> dict:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from pipeline.training import kit
    from pipeline.training.hardware import seed_everything
    from pipeline.core.models import uses_token_types
    seed_everything(cfg.run.seed)
    regression = metric in ("pearson", "spearman")
    labels = sorted({r["label"] for r in train}, key=lambda s: (len(s), s)) if not regression else []
    labels_map = {lab: i for i, lab in enumerate(labels)}
    unknown = {r["label"] for r in dev} - set(labels_map) if not regression else set()
    if unknown:
        raise UserError(f"dev labels {sorted(unknown)} never occur in the training data")
    if not Path(folder, "config.json").is_file():
        raise UserError(f"model {name}: no checkpoint in {folder}")
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(
        folder, num_labels=1 if regression else len(labels),
        problem_type="regression" if regression else "single_label_classification").to(device)
    use_tt = uses_token_types(model)
    tr, dv = (encode(tok, rows, labels_map, args.max_length, use_tt) for rows in (train, dev))
    steps = max(1, math.ceil(len(tr) / args.batch_size) * args.epochs)
    opt = torch.optim.AdamW(kit.decay_groups(model, 0.01, exempt=False), lr=args.lr)
    sched = kit.warmup_linear(opt, steps, int(0.1 * steps), first_step_at_zero=True)
    rng = random.Random(cfg.run.seed)
    model.train()
    bar = tqdm(total=steps, desc=f"{args.task} {name}", unit="step", mininterval=2)
    for _ in range(args.epochs):
        order = list(range(len(tr)))
        rng.shuffle(order)
        for b, y in batches(tr, args.batch_size, device, order):
            loss = model(**b, labels=y.float() if regression else y).loss
            loss.backward()
            kit.optimizer_step(opt, sched, model.parameters(), 1.0)
            bar.update()
            bar.set_postfix(loss=f"{loss.item():.3f}")
    bar.close()
    model.eval()
    preds = []
    with torch.no_grad():
        for b, _ in batches(dv, 2 * args.batch_size, device, list(range(len(dv)))):
            logits = model(**b).logits
            preds.append(logits[:, 0] if regression else logits.argmax(-1))
    preds = torch.cat(preds).cpu().numpy()
    gold = np.array([f["y"] for f in dv])
    return {"model": name, "score": round(score(metric, preds, gold), 3), "n": len(dv)}


def _extra(parser):
    parser.add_argument("--task", required=True, help=f"GLUE task or imdb ({', '.join(TASKS)}), or a name for local files")
    parser.add_argument("--model", action="append", default=[], metavar="NAME=FOLDER",
                        help="a model to fine-tune (repeat); default: teacher and distilled student of the run folder")
    parser.add_argument("--train", help="local TSV/CSV training file with a header row")
    parser.add_argument("--dev", help="local TSV/CSV evaluation file with a header row")
    parser.add_argument("--text-cols", nargs="+", default=[], help="text column(s) of local files (one or a pair)")
    parser.add_argument("--label-col", default="label", help="label column of local files")
    parser.add_argument("--metric", choices=METRICS, help="override the task's metric")


def main(argv=None) -> int:
    parser = build_parser("classify.py", __doc__.split("\n\n")[0], _extra, sections=("run", "classify"))
    args = parser.parse_args(argv)
    try:
        from pipeline.training.hardware import pick_device
        cfg = from_args(args)
        vars(args).update(cfg.section("classify"))  # the fine-tuning settings, checked by Config
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", args.task):
            raise UserError(f"task name {args.task!r}: use letters, digits, '_', '.', '-'")
        specs = args.model or [f"teacher={cfg.run_dir / 'teacher' / 'model'}", f"student={cfg.run_dir / 'distill' / 'model'}"]
        models = []
        for spec in specs:
            name, sep, folder = spec.partition("=")
            if not sep or not name or not folder:
                raise UserError(f"--model {spec!r}: expected NAME=FOLDER")
            models.append((name, folder))
        device = pick_device(cfg)
        train, dev, metric = load_task(args)
        log(f"{args.task}: {len(train)} train, {len(dev)} dev rows, metric {metric}")
        results = [fine_tune_and_score(n, f, train, dev, metric, args, cfg, device) for n, f in models]
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from pipeline.core import results as results_io
    results_io.write(Path(cfg.run.results_dir) / "glue" / f"{args.task}.json", results_io.document(
        "classification_metrics", results_io.run_scale(cfg, results_io.torch_label(device)), task=args.task,
        metric=metric, models=results,
        training={"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "train_rows": len(train)}))
    for r in results:
        print(f"{args.task} {r['model']:10s} {metric} {r['score']:.2f} (n={r['n']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
