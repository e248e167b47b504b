"""Ablation stage: the paper's Table 4 variants (and the intermediate-layer loss options), each
distilled with the same budget as a fresh "full" run, with ablation.seeds seeds, and scored on
the same held-out masked positions, after a short fixed QA fine-tune on the generated dev set, and after a
classification fine-tune (ablation.classify_task, the classify section's settings) on that task's dev set.

Variants change only the loss weights or the initialisation (registry ABLATION_VARIANTS):
  ce_only      L_ce alone                      (alpha_mlm = alpha_cos = 0)
  cos_only     L_cos alone                     (alpha_ce = alpha_mlm = 0)
  no_mlm       L_ce + L_cos                    (alpha_mlm = 0)
  random_init  full loss, randomly initialised student
  hidden_mse   full loss + MSE between mapped hidden states (distill.alpha_hidden = 1)
  attn_kl      full loss + KL between mapped attention maps (distill.alpha_attn = 1)

Seed i is run.seed + i: it draws the masks, the batches, the dropout, a random student's weights
and the QA head. The results file holds one row per (variant, seed) and, per variant, the mean
and sample standard deviation over seeds, so the report can tell a real change from noise.
A finished (variant, seed) is not redone after a crash. Outputs: <out>/<variant>/seed<s>/ (log;
the student of the first seed only), ablation.json, results/mlm/ablation.json (kind ablation).
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import statistics
from pathlib import Path

from pipeline.config import UserError
from pipeline.core import distributed as dist_
from pipeline.core import results
from pipeline.core.registry import ABLATION_VARIANTS as VARIANTS
from pipeline.core.runs import log, write_json_atomic


def chosen(names: list[str]) -> list[str]:
    if names == ["all"]:
        names = [v for v in VARIANTS if v != "full"]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise UserError(f"ablation.variants: unknown variant(s) {', '.join(unknown)} "
                        f"(known: {', '.join(VARIANTS)} or 'all')")
    return ["full"] + [n for n in names if n != "full"] if names else []


def variant_cfg(cfg, name: str):
    """The DistillCfg of one variant; UserError when it names a loss option this DistillCfg lacks."""
    missing = [k for k in VARIANTS[name] if not hasattr(cfg.distill, k)]
    if missing:
        raise UserError(f"ablation variant {name} needs distill.{', distill.'.join(missing)}, "
                        "which this version's config does not have; leave the variant out")
    d = dataclasses.replace(cfg.distill, **VARIANTS[name])
    return dataclasses.replace(d, steps=cfg.ablation.steps) if cfg.ablation.steps else d


class _Seeded:
    """The stage's config (or its run section) with run.seed replaced; every other read goes
    through the stage's own view, so its checks of undeclared reads still apply."""

    def __init__(self, inner, seed: int, section: bool = False):
        self._inner, self._seed, self._section = inner, seed, section

    def __getattr__(self, name: str):
        if self._section:
            return self._seed if name == "seed" else getattr(self._inner, name)
        return _Seeded(self._inner.run, self._seed, True) if name == "run" else getattr(self._inner, name)


def mean_std(values: list) -> dict:
    """Mean and sample standard deviation (None with one value) of the non-missing values."""
    vals = [v for v in values if v is not None]
    if not vals:
        return {"mean": None, "std": None}
    return {"mean": round(statistics.fmean(vals), 5), "std": round(statistics.stdev(vals), 5) if len(vals) > 1 else None}


def summarize(rows: list[dict]) -> list[dict]:
    """Per variant, in first-seen order: seeds run, mean/std of masked accuracy, MLM loss and QA F1/EM."""
    out = []
    for name in dict.fromkeys(r["variant"] for r in rows):
        mine = [r for r in rows if r["variant"] == name]
        s = {"variant": name, "seeds": [r["seed"] for r in mine], "steps": mine[0]["steps"]}
        for k in ("masked_acc", "mlm_loss", "qa_f1", "qa_em", "cls_score"):
            if any(k in r for r in mine):
                s[k] = mean_std([r.get(k) for r in mine])
        out.append(s)
    return out


def _student_dir(cfg, ctx, name: str, seed: int) -> Path:
    """The student the variant starts from: student_init's, or a random one drawn with `seed`."""
    if name != "random_init":
        return ctx.inputs["student_init"] / "model"
    from transformers import BertForMaskedLM
    from pipeline.training.hardware import seed_everything
    from pipeline.training.student_init import build_student, save_student
    teacher_dir = ctx.inputs["teacher"] / "model"
    folder = ctx.work / "random_init_student" / f"seed{seed}"
    if dist_.is_main() and not (folder / "config.json").exists():
        seed_everything(seed)
        student, _ = build_student(BertForMaskedLM.from_pretrained(teacher_dir), cfg.student.layers, "random")
        save_student(student, teacher_dir, folder)
    dist_.barrier()
    return folder


def qa_score(cfg, student_dir: Path, train_ex: list, dev_ex: list, seed: int) -> dict:
    """SQuAD EM/F1 on dev_ex after ablation.qa_steps QA steps of the distilled student on train_ex."""
    import math

    from pipeline.core.models import uses_token_types
    from pipeline.training import qa_eval, qa_loop
    from pipeline.training.hardware import pick_device, seed_everything
    device = pick_device(cfg)
    seed_everything(seed)  # the new QA head's weights
    model, tok = qa_eval.load_qa_model(student_dir)
    feats = qa_eval.featurize(tok, train_ex, cfg, uses_token_types(model), labels=True)
    for i, f in enumerate(feats):
        f["id"] = i
    seeded = _Seeded(cfg, seed)
    epochs = cfg.ablation.qa_steps / math.ceil(len(feats) / cfg.qa.batch_size)  # exactly qa_steps steps
    info = qa_loop.train(model, feats, seeded, device, "ablation qa", epochs=epochs)
    _, sc = qa_eval.score(model, tok, dev_ex, cfg, device, "ablation qa dev")
    return {"qa_f1": round(sc["f1"], 3), "qa_em": round(sc["exact_match"], 3), "qa_steps": info["steps"]}


def cls_score(cfg, student_dir: Path, task_data, seed: int) -> dict:
    """The distilled student's score on ablation.classify_task after the classify section's fine-tune."""
    from pipeline.training import classify
    from pipeline.training.hardware import pick_device
    task, train, dev, metric = task_data
    r = classify.fine_tune_and_score(f"s{seed}", student_dir, train, dev, metric, f"ablation {task}",
                                     _Seeded(cfg, seed), pick_device(cfg))
    return {"cls_score": r["score"]}


def _cls_sets(cfg):
    """(task, train, dev, metric) of the ablation's classification score, or None without ablation.classify_task."""
    task = cfg.ablation.classify_task
    if not task:
        return None
    from pipeline.data.classify_data import DataMissing
    from pipeline.training import classify
    try:
        train, dev, metric, _ = classify.load(task, cfg)
    except DataMissing as e:
        log(f"ablation: no classification score ({task}: {e})")
        return None
    return task, classify.subset(train, cfg.classify.max_train_rows, cfg.run.seed), dev, metric


def _one(cfg, ctx, name: str, seed: int, qa_sets, cls_sets=None) -> dict | None:
    """Distil one (variant, seed), score it; the row, kept in work/ so a crash does not redo it."""
    from pipeline.training.distill import distill
    d = variant_cfg(cfg, name)
    work, out = ctx.work / name / f"seed{seed}", ctx.out / name / f"seed{seed}"
    done, key = work / "row.json", f"{ctx.key}:{name}:{seed}"
    if done.is_file() and json.loads(done.read_text()).get("key") == key:
        row = json.loads(done.read_text())["row"]
        log(f"ablation {name} seed {seed}: already done, reusing it")
        return row if dist_.is_main() else None
    student_dir = _student_dir(cfg, ctx, name, seed)
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    seeded = _Seeded(cfg, seed)
    res = distill(seeded, d, teacher_dir=ctx.inputs["teacher"] / "model", student_dir=student_dir,
                  corpus_dir=ctx.inputs["corpus"], work=work, out=out, key=key, desc=f"ablation {name} s{seed}")
    row = None
    if dist_.is_main():
        row = {"variant": name, "seed": seed, "steps": res["steps"], **res["heldout"],
               "alphas": {k: getattr(d, f"alpha_{k}") for k in ("ce", "mlm", "cos", "hidden", "attn", "emb")
                          if hasattr(d, f"alpha_{k}")}}
        if qa_sets:
            row.update(qa_score(cfg, out / "model", *qa_sets, seed))
        if cls_sets:
            row.update(cls_score(cfg, out / "model", cls_sets, seed))
        write_json_atomic(done, {"key": key, "row": row})
        # 7 variants x 3 seeds of demo students and optimizer states would fill gigabytes: the row is
        # what counts, so keep the first seed's student of each variant only, and no checkpoint.
        (work / "checkpoint.pt").unlink(missing_ok=True)
        if seed != cfg.run.seed:
            shutil.rmtree(out / "model", ignore_errors=True)
        qa = f", QA F1 {row['qa_f1']:.1f}" if "qa_f1" in row else ""
        log(f"ablation {name} seed {seed}: held-out masked acc {row['masked_acc']:.3f}{qa}")
    dist_.barrier()
    return row


def _qa_sets(cfg, ctx):
    """(train examples, dev examples) of the short QA fine-tune, or None when ablation.qa_steps is 0."""
    if not cfg.ablation.qa_steps:
        return None
    from pipeline.data.qa_data import load_squad_file
    data = ctx.inputs.get("qa_data")
    if data is None or not (Path(data) / "train.json").is_file():
        raise UserError("ablation.qa_steps needs the qa_data stage's output (train.json, dev.json)")
    dev = load_squad_file(Path(data) / "dev.json", "reject")
    n = cfg.ablation.qa_dev_examples
    return load_squad_file(Path(data) / "train.json", "reject"), dev[:n] if n else dev


def run(cfg, ctx) -> dict:
    variants = chosen(cfg.ablation.variants)
    if not variants:
        log("ablation: no variants chosen (--ablation.variants all to run Table 4)")
        return {"variants": []}
    for name in variants:
        variant_cfg(cfg, name)  # a variant the config cannot express fails before any training
    qa_sets, cls_sets = _qa_sets(cfg, ctx), _cls_sets(cfg)
    seeds = [cfg.run.seed + i for i in range(cfg.ablation.seeds)]
    rows = [_one(cfg, ctx, name, seed, qa_sets, cls_sets) for name in variants for seed in seeds]
    if not dist_.is_main():
        return {}
    from pipeline.training.hardware import pick_device
    summary = summarize(rows)
    qa = {"steps": cfg.ablation.qa_steps, "train_examples": len(qa_sets[0]), "dev_examples": len(qa_sets[1]),
          "batch_size": cfg.qa.batch_size, "lr": cfg.qa.lr} if qa_sets else None
    result = results.document("ablation", results.run_scale(cfg, results.torch_label(pick_device(cfg))),
                              seeds=seeds, variants=rows, summary=summary, **({"qa": qa} if qa else {}),
                              **({"classify": {"task": cls_sets[0], "metric": cls_sets[3], "train_rows": len(cls_sets[1]),
                                               "dev_rows": len(cls_sets[2])}} if cls_sets else {}))
    (ctx.out / "ablation.json").write_text(json.dumps(result, indent=2) + "\n")
    results.write(ctx.results / "mlm" / "ablation.json", result)
    return {"seeds": seeds, "summary": summary}
