"""Ablation stage: the paper's Table 4 variants, each distilled with the same budget as a fresh
"full" run and scored on the same held-out masked positions.

Variants change only the loss weights or the initialisation:
  ce_only      L_ce alone                      (alpha_mlm = alpha_cos = 0)
  cos_only     L_cos alone                     (alpha_ce = alpha_mlm = 0)
  no_mlm       L_ce + L_cos                    (alpha_mlm = 0)
  random_init  full loss, randomly initialised student
"""
from __future__ import annotations

import dataclasses
import json

from pipeline.config import UserError
from pipeline.core import distributed as dist_
from pipeline.core import results
from pipeline.core.registry import ABLATION_VARIANTS as VARIANTS
from pipeline.core.runs import log

def chosen(names: list[str]) -> list[str]:
    if names == ["all"]:
        names = [v for v in VARIANTS if v != "full"]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise UserError(f"ablation.variants: unknown variant(s) {', '.join(unknown)} "
                        f"(known: {', '.join(VARIANTS)} or 'all')")
    return ["full"] + [n for n in names if n != "full"] if names else []


def run(cfg, ctx) -> dict:
    from transformers import BertForMaskedLM
    from pipeline.training.distill import distill
    from pipeline.training.student_init import build_student, save_student
    variants = chosen(cfg.ablation.variants)
    if not variants:
        log("ablation: no variants chosen (--ablation.variants all to run Table 4)")
        return {"variants": []}
    teacher_dir = ctx.inputs["teacher"] / "model"
    rows = []
    for name in variants:
        d = dataclasses.replace(cfg.distill, **VARIANTS[name])
        if cfg.ablation.steps:
            d = dataclasses.replace(d, steps=cfg.ablation.steps)
        student_dir = ctx.inputs["student_init"] / "model"
        if name == "random_init":
            student_dir = ctx.work / "random_init_student"
            if dist_.is_main() and not (student_dir / "config.json").exists():
                student, _ = build_student(BertForMaskedLM.from_pretrained(teacher_dir), cfg.student.layers, "random")
                save_student(student, teacher_dir, student_dir)
            dist_.barrier()
        (ctx.work / name).mkdir(exist_ok=True)
        (ctx.out / name).mkdir(exist_ok=True)
        res = distill(cfg, d, teacher_dir=teacher_dir, student_dir=student_dir, corpus_dir=ctx.inputs["corpus"],
                      work=ctx.work / name, out=ctx.out / name, key=f"{ctx.key}:{name}", desc=f"ablation {name}")
        if dist_.is_main():
            rows.append({"variant": name, "steps": res["steps"], **res["heldout"],
                         "alphas": {"ce": d.alpha_ce, "mlm": d.alpha_mlm, "cos": d.alpha_cos}})
            log(f"ablation {name}: held-out masked acc {res['heldout']['masked_acc']:.3f} loss {res['heldout']['mlm_loss']:.3f}")
    if not dist_.is_main():
        return {}
    from pipeline.training.hardware import pick_device
    result = results.document("ablation", results.run_scale(cfg, results.torch_label(pick_device(cfg))), variants=rows)
    (ctx.out / "ablation.json").write_text(json.dumps(result, indent=2) + "\n")
    results.write(ctx.results / "mlm" / "ablation.json", result)
    return {"variants": rows}
