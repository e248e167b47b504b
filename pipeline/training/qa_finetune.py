"""QA fine-tuning stage: teacher, student, and the student (D) distilled from the QA teacher.

Each model gets a span-prediction head (AutoModelForQuestionAnswering) and is trained on the
train split with the ordinary start/end cross-entropy. Student (D) adds the paper's second
distillation step: KL between the fine-tuned teacher's and the student's start (and end)
distributions at temperature T, times T^2, averaged over start and end, mixed
alpha * KL + (1 - alpha) * span loss, plus the intermediate-layer terms of layer_losses.py when
qa.alpha_hidden / alpha_attn / alpha_emb > 0. The teacher's logits and the hidden states those terms read
are computed once per window; only the attention term runs the teacher per batch (eval mode, no grad).
(D) also trains on qa_data's extra.json when there is one. The BERT teacher sees token_type_ids, DistilBERT
does not. The loop itself (batches, losses, resumable steps) is qa_loop.py; scoring and the
per-epoch curve are qa_eval.py.

A model that finished training is kept in ctx.work and not retrained after a crash.
Outputs: ctx.out/{teacher,student,student_d}/ (checkpoint + tokenizer; ask one from the shell with
`distilkit-ask --model <folder> ...`, pipeline/ask.py), predictions/, metrics.json, and
results/qa/<dataset>.json (kind qa_metrics) per evaluation set (generated dev, natural_dev when the
qa_data folder has it, handwritten). The teacher trains up to qa.teacher_epochs, scored on the dev
sets after each epoch, and stops once one more epoch moved its generated-dev F1 by less than
qa.converge_f1; the curve goes to its train.json and results/qa/teacher_curve.json (kind qa_curve).
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from pipeline.config import UserError
from pipeline.core import results as results_io
from pipeline.core.models import uses_token_types
from pipeline.core.registry import MODELS
from pipeline.core.runs import log, write_json_atomic
from pipeline.data.qa_data import load_squad_file
from pipeline.training import layer_losses
from pipeline.training.qa_eval import EpochCurve, featurize, load_qa_model, score
from pipeline.training.qa_loop import CachedTeacher, LiveTeacher, train, window_outputs


def _teacher_targets(model, feats, train_ex, cfg, device, teacher_dir: Path, source: Path):
    """(teacher_logits, teacher for the layer terms). The logits are computed once; so are the hidden states
    the layer terms read (CachedTeacher, in each window as teacher_hidden), except that the attention term
    needs a LiveTeacher run per batch (every window's attention maps would not fit in memory), whose token
    types travel in the student's windows as teacher_token_type_ids."""
    teacher, ttok = load_qa_model(teacher_dir)
    tfeats = featurize(ttok, train_ex, cfg, uses_token_types(teacher), labels=True)
    if [f["input_ids"] for f in tfeats] != [f["input_ids"] for f in feats]:
        raise UserError("teacher and student tokenizers split the QA data differently; (D) needs a shared vocabulary")
    lmap = layer_losses.prepare(cfg.qa, source, model, teacher) if layer_losses.weights(cfg.qa) else None
    if lmap and cfg.qa.alpha_attn > 0:
        for f, tf in zip(feats, tfeats):
            if "token_type_ids" in tf:
                f["teacher_token_type_ids"] = tf["token_type_ids"]
        for p in teacher.parameters():
            p.requires_grad_(False)
        return None, LiveTeacher(teacher.to(device).eval(), lmap)
    for i, f in enumerate(tfeats):
        f["id"] = i
    layers = layer_losses.teacher_hidden_states(cfg.qa, lmap) if lmap else []
    logits, hidden = window_outputs(teacher, tfeats, device, 2 * cfg.qa.batch_size, "teacher outputs", layers)
    for i in hidden:  # the same windows in the same order (checked above)
        feats[i]["teacher_hidden"] = hidden[i]
    return logits, CachedTeacher(lmap, layers) if lmap else None


def _extra_examples(data: Path) -> list[dict]:
    """qa_data's extra.json (for the (D) step only); older runs have none."""
    return load_squad_file(data / "extra.json", "reject") if (data / "extra.json").is_file() else []


def _distil_start(cfg, init: str, distilled: Path, work: Path, teacher_key: str) -> Path:
    """The checkpoint a (D) step starts from (init, qa.distil_init for student_d): the distilled student, or a
    student made of the fine-tuned QA teacher's layers (qa.distil_init_layers) and span head, kept in
    work/student_d_init/ with its init.json (the layer map the layer terms read) and rebuilt only when the teacher
    or the layers change."""
    if init == "student":
        return distilled
    from pipeline.training.student_init import build_qa_student, save_student
    out, tmp = work / "student_d_init", work / ".student_d_init.tmp"
    record = {"init": "qa_teacher", "requested_layers": cfg.qa.distil_init_layers, "teacher_key": teacher_key}
    if (out / "init.json").is_file() and {k: v for k, v in json.loads((out / "init.json").read_text()).items()
                                          if k != "copied_layers"} == record:
        return out
    teacher, _ = load_qa_model(work / "teacher")
    student, layers = build_qa_student(teacher, cfg.qa.distil_init_layers)
    shutil.rmtree(tmp, ignore_errors=True)
    save_student(student, work / "teacher", tmp)
    write_json_atomic(tmp / "init.json", {"copied_layers": layers, **record})
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    log(f"qa_finetune: student (D) starts from the QA teacher's layers {layers} and span head")
    return out


def _finetune_one(name, source: Path, train_ex, cfg, device, work: Path, key: str,
                  teacher_dir: Path | None = None, extra: list[dict] = (), curve_sets: dict | None = None,
                  stops: bool = True, init: str = "") -> dict:
    """Train one model into work/<name>/ unless a finished copy for the same model key is there.
    extra: examples added to the training set of this model only (the (D) step's extra.json).
    With curve_sets it is evaluated on them after each epoch (EpochCurve); with stops (the teacher) it trains up
    to qa.teacher_epochs and stops once converged, without (a student's curve) for qa.epochs (the (D) step:
    qa.distil_epochs when set)."""
    from pipeline.training.hardware import seed_everything
    done = work / name / "train.json"
    if done.is_file():
        info = json.loads(done.read_text())
        if info.pop("stage_key", None) == key:
            log(f"qa_finetune: {name} already trained in {work / name}, reusing it")
            return info
    seed_everything(cfg.run.seed)
    model, tok = load_qa_model(source)
    frozen = name in cfg.qa.freeze_embeddings
    model.get_input_embeddings().weight.requires_grad_(not frozen)
    train_ex = list(train_ex) + list(extra)
    feats = featurize(tok, train_ex, cfg, uses_token_types(model), labels=True)
    for i, f in enumerate(feats):
        f["id"] = i
    teacher_logits = layer_teacher = None
    if teacher_dir is not None:
        teacher_logits, layer_teacher = _teacher_targets(model, feats, train_ex, cfg, device, teacher_dir, source)
    curve = EpochCurve(model, tok, curve_sets, cfg, device, stops, name) if curve_sets else None
    epochs = cfg.qa.teacher_epochs if stops and curve else cfg.qa.distil_epochs if teacher_dir is not None else 0
    info = train(model, feats, cfg, device, f"qa {name}", teacher_logits, ckpt=work / f"{name}.ckpt.pt", key=key,
                 teacher=layer_teacher, epochs=epochs or None, on_epoch=curve,
                 lr=(cfg.qa.teacher_lr if name == "teacher" else cfg.qa.distil_lr if teacher_dir else 0) or None)
    info.update(epochs=epochs or cfg.qa.epochs, frozen_word_embeddings=frozen)
    if curve:
        # the teacher may stop before qa.teacher_epochs: record the epochs it trained, the cap is max_epochs
        info.update(curve.summary(), epochs=len(curve.curve))
    if teacher_dir is not None:
        info.update(init=init, extra_examples=len(extra), layer_losses=layer_losses.weights(cfg.qa),
                    layer_map=layer_teacher.lmap if layer_teacher else None,
                    teacher_outputs="live" if isinstance(layer_teacher, LiveTeacher) else "cached")
    tmp = work / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    write_json_atomic(tmp / "train.json", {**info, "stage_key": key})
    shutil.rmtree(work / name, ignore_errors=True)
    tmp.rename(work / name)  # the finished marker appears only with a complete checkpoint
    (work / f"{name}.ckpt.pt").unlink(missing_ok=True)
    return info


def write_curve(path: Path, scale: dict, info: dict) -> None:
    """results/qa/teacher_curve.json (kind qa_curve): the QA teacher's per-epoch dev scores."""
    if not info.get("curve"):
        return
    results_io.write(path, results_io.document(
        "qa_curve", scale, model="teacher", max_epochs=info["max_epochs"], converge_f1=info["converge_f1"],
        converged=info["converged"], steps=info["steps"], epochs=info["curve"]))


# Options that only shape the (D) step, and only the teacher: changing one of them retrains just the models
# it touches (a (D) trial keeps the trained teacher and plain student). The runner cannot do this: its fingerprint
# is per stage, and this one stage trains up to four models one after another, the QA teacher the longest, so any
# qa option re-runs the whole stage and these per-model keys decide which models actually retrain.
D_ONLY = ("distil_epochs", "distil_lr", "distil_init", "distil_init_layers", "temperature", "alpha_distil",
          "alpha_hidden", "hidden_loss", "layer_match", "alpha_attn", "alpha_emb", "extra_examples",
          "augment_share", "augment_from", "prose_questions", "augment_mask_prob", "augment_ngram_prob")
TEACHER_ONLY = ("teacher_epochs", "converge_f1", "teacher_lr")
EVAL_ONLY = ("student_curve", "teacher_layer_d")  # eval-mode scores change no weight; nor does training one more (D)
PER_MODEL = ("freeze_embeddings",)  # keyed by whether it names the model, so one model's entry retrains that one


def model_keys(cfg, ctx) -> dict:
    """A key per model from what decides its training, where the stage key covers the whole stage (every model)."""
    from pipeline.core.runs import checksums
    from pipeline.training.hardware import autocast_precision, pick_device
    precision = autocast_precision(cfg, pick_device(cfg))  # "auto" trains in bf16 on one CPU, fp32 on another
    data = ctx.inputs["qa_data"]
    sums = checksums(data)
    files = {n: sums.get(f"{n}.json") for n in ("train", "dev", "natural_dev", "extra")}
    qa_all = {k: v for k, v in cfg.section("qa").items() if k not in EVAL_ONLY + PER_MODEL}
    qa = {k: v for k, v in qa_all.items() if k not in D_ONLY}

    def key(model: str, **parts) -> str:
        parts.update(seed=cfg.run.seed, precision=precision, train=files["train"])
        if model in cfg.qa.freeze_embeddings:  # absent otherwise: keys of runs before the option stay valid
            parts["frozen_word_embeddings"] = True
        return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]
    teacher = key("teacher", qa=qa, source=checksums(ctx.inputs["teacher"] / "model"),
                  dev=[files["dev"], files["natural_dev"]])
    student = key("student", qa={k: v for k, v in qa.items() if k not in TEACHER_ONLY},
                  source=checksums(ctx.inputs["distill"]))
    # A (D) made from the QA teacher's layers owes nothing to the distilled student: a new distilled student
    # retrains only the plain one.
    start = student if cfg.qa.distil_init == "student" else "qa_teacher"
    keys = {"teacher": teacher, "student": student,
            "student_d": key("student_d", qa=qa_all, student=start, teacher=teacher, extra=files["extra"])}
    if cfg.qa.teacher_layer_d:
        keys["student_dt"] = key("student_dt", qa={k: v for k, v in qa_all.items() if k != "distil_init"},
                                 student="qa_teacher", teacher=teacher, extra=files["extra"])
    return keys


def _seed_work(ctx) -> None:
    """Put the models of the stage's last finished run (its output folder, replaced only when this run commits)
    into the work folder, where _finetune_one reuses each one whose key still matches: a finished stage's work
    folder is gone, and without this a changed (D)-only option would retrain the teacher and the plain student."""
    previous = Path(ctx.run_dir) / ctx.name
    for name in MODELS:
        if (previous / name / "train.json").is_file() and not (ctx.work / name).exists():
            shutil.copytree(previous / name, ctx.work / name)


def run(cfg, ctx) -> dict:
    from pipeline.training.hardware import pick_device
    device = pick_device(cfg)
    data = ctx.inputs["qa_data"]
    meta = json.loads((data / "meta.json").read_text()) if (data / "meta.json").is_file() else {}
    train_ex = load_squad_file(data / "train.json", "reject")
    sets = [s for s in ("dev", "natural_dev", "natural_test", "handwritten") if (data / f"{s}.json").is_file()]
    evals = {meta.get(s, {}).get("name", s): load_squad_file(data / f"{s}.json", "reject") for s in sets}
    # The curve (and the teacher's stopping rule) never reads the test set.
    not_curve = {meta.get(s, {}).get("name", s) for s in ("handwritten", "natural_test")}
    curve_sets = {ds: ex for ds, ex in evals.items() if ds not in not_curve}
    sources = {"teacher": ctx.inputs["teacher"] / "model", "student": ctx.inputs["distill"] / "model"}
    keys, training = model_keys(cfg, ctx), {}
    _seed_work(ctx)
    training["teacher"] = _finetune_one("teacher", sources["teacher"], train_ex, cfg, device, ctx.work,
                                        keys["teacher"], curve_sets=curve_sets)
    student_curve = dict(curve_sets=curve_sets, stops=False) if cfg.qa.student_curve else {}
    training["student"] = _finetune_one("student", sources["student"], train_ex, cfg, device, ctx.work, keys["student"],
                                        **student_curve)
    d_inits = {"student_d": cfg.qa.distil_init, **({"student_dt": "qa_teacher"} if cfg.qa.teacher_layer_d else {})}
    for name, init in d_inits.items():
        start = _distil_start(cfg, init, sources["student"], ctx.work, keys["teacher"])
        training[name] = _finetune_one(name, start, train_ex, cfg, device, ctx.work, keys[name], init=init,
                                       teacher_dir=ctx.work / "teacher", extra=_extra_examples(data), **student_curve)
    results = {ds: [] for ds in evals}
    (ctx.out / "predictions").mkdir()
    for name in training:
        model, tok = load_qa_model(ctx.work / name)
        for ds, examples in evals.items():
            preds, scores = score(model, tok, examples, cfg, device, f"eval {name} {ds}")
            write_json_atomic(ctx.out / "predictions" / f"{name}.{ds}.json", preds)
            results[ds].append({"model": name, **{k: round(v, 3) for k, v in scores.items()}})
            log(f"qa_finetune: {name:9s} {ds}: EM {scores['exact_match']:.1f}  F1 {scores['f1']:.1f}  (n={scores['n']})")
        shutil.copytree(ctx.work / name, ctx.out / name)
    scale = results_io.run_scale(cfg, results_io.torch_label(device))
    for ds, models in results.items():
        results_io.write(ctx.results / "qa" / f"{ds}.json", results_io.document(
            "qa_metrics", scale, dataset=ds, models=models,
            train={"dataset": meta.get("train", {}).get("name", "train"), "examples": len(train_ex),
                   "epochs": cfg.qa.epochs, "distil_epochs": cfg.qa.distil_epochs or cfg.qa.epochs,
                   "batch_size": cfg.qa.batch_size}))
    write_curve(ctx.results / "qa" / "teacher_curve.json", scale, training["teacher"])
    summary = {"scale": scale, "training": training, "metrics": results}
    write_json_atomic(ctx.out / "metrics.json", summary)
    return {"training": training, "metrics": {ds: {m["model"]: {"em": m["exact_match"], "f1": m["f1"]} for m in ms}
                                              for ds, ms in results.items()}}
