"""Distillation stage: the paper's triple loss, resumable, on one process or many (torchrun).

loss = alpha_ce * T^2 * KL(teacher/T || student/T)   soft targets, non-pad (or masked) positions
     + alpha_mlm * cross-entropy at masked positions
     + alpha_cos * (1 - cos(student, teacher last hidden states)) at non-pad positions

Every micro-batch has a global index g. Its masks and its dropout are drawn from seeds derived
from (seed, g) alone, so a run resumed from a checkpoint, or split over N processes with the
same effective batch, sees exactly the same batches and masks as one uninterrupted process.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import random
import signal
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from pipeline.core import distributed as dist_
from pipeline.config import UserError
from pipeline.data.corpus import load_split
from pipeline.training.hardware import autocast, needs_grad_scaler, pick_device
from pipeline.core import results
from pipeline.core.models import count_params
from pipeline.training.mlm import (encoder_and_head, evaluate, mask_tokens, pad_batch, plan_epoch,
                          special_ids, token_weights)
from pipeline.core.runs import log


def micro_seed(seed: int, g: int) -> int:
    return (seed * 1_000_003 + g * 7_919) % (2 ** 63)


def triple_loss(d, s_hidden, t_hidden, s_head, t_head, labels, attn):
    """Returns (total, {term: value}) for one micro-batch; terms with weight 0 are not computed."""
    real = attn.bool()
    terms = {}
    if d.alpha_ce > 0 or d.alpha_mlm > 0:
        sel = (labels != -100) if d.ce_masked_only else real
        s_logits = s_head(s_hidden[sel]).float()
        if d.alpha_ce > 0:
            with torch.no_grad():
                t_logits = t_head(t_hidden[sel]).float()
            T = d.temperature
            terms["ce"] = F.kl_div(F.log_softmax(s_logits / T, -1), F.softmax(t_logits / T, -1),
                                   reduction="batchmean") * T * T
        if d.alpha_mlm > 0:
            terms["mlm"] = F.cross_entropy(s_logits, labels[sel], ignore_index=-100)
    if d.alpha_cos > 0:
        s, t = s_hidden[real].float(), t_hidden[real].float()
        terms["cos"] = (1 - F.cosine_similarity(s, t, dim=-1)).mean()
    weights = {"ce": d.alpha_ce, "mlm": d.alpha_mlm, "cos": d.alpha_cos}
    total = sum(weights[k] * v for k, v in terms.items())
    return total, {k: v.item() for k, v in terms.items()}


class StudentLoss(torch.nn.Module):
    """The student forward plus the loss, as one module so DistributedDataParallel sees every use of the
    student's weights (the vocabulary head is applied to selected positions after the encoder)."""

    def __init__(self, student, d):
        super().__init__()
        self.student, self.d, self.terms = student, d, {}

    def forward(self, masked, attn, labels, t_hidden, t_head):
        encode, head = encoder_and_head(self.student)
        loss, self.terms = triple_loss(self.d, encode(masked, attn), t_hidden, head, t_head, labels, attn)
        return loss


def _optimizer(model, d):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if name.endswith("bias") or "layer_norm" in name.lower() or "LayerNorm" in name else decay).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": d.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}],
                             lr=d.lr, betas=tuple(d.betas), eps=d.adam_eps)


def _schedule(opt, total: int, warmup_frac: float):
    warm = max(1, int(round(total * warmup_frac)))
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (total - s) / max(1, total - warm)))


def _save_checkpoint(path: Path, state: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        torch.save(state, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _load_checkpoint(path: Path, key: str) -> dict | None:
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
        if not isinstance(state, dict) or "model" not in state or "step" not in state:
            raise ValueError("missing model or step")
    except Exception as e:
        raise UserError(f"checkpoint {path} is corrupt ({type(e).__name__}: {str(e)[:120]}); "
                        f"delete it to start this stage over") from None
    if state.get("key") != key:
        raise UserError(f"checkpoint {path} belongs to a different config or input (key {state.get('key')} != {key}); "
                        f"restore that config, or delete the checkpoint to start over")
    return state


def distill(cfg, d, *, teacher_dir: Path, student_dir: Path, corpus_dir: Path, work: Path, out: Path,
            key: str, desc: str = "distill") -> dict:
    """Train the student in student_dir against the teacher; save it to out/model. d: a DistillCfg."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer
    dist_.init()
    world, rank = dist_.world(), dist_.rank()
    device = pick_device(cfg)
    tok = AutoTokenizer.from_pretrained(student_dir)
    teacher = AutoModelForMaskedLM.from_pretrained(teacher_dir).to(device).eval()
    student = AutoModelForMaskedLM.from_pretrained(student_dir).to(device)
    for p in teacher.parameters():
        p.requires_grad_(False)
    train = load_split(corpus_dir, "train")
    lengths = np.array([len(s) for s in train])
    weights = token_weights(np.load(corpus_dir / "token_counts.npy"), d.mask_smoothing, special_ids(tok))
    per_step = d.grad_accum * world                       # micro-batches per optimizer step, all ranks
    n_micro = len(train) // d.batch_size
    if n_micro < per_step:
        raise UserError(f"corpus has {len(train)} sequences: fewer than one optimizer step "
                        f"({per_step} micro-batches of {d.batch_size})")
    total = d.steps or max(1, int(d.epochs * n_micro // per_step))

    model = loss_module = StudentLoss(student, d)
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            loss_module, device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=d.alpha_ce == 0 and d.alpha_mlm == 0)  # cos-only never touches the head
    opt = _optimizer(student, d)
    sched = _schedule(opt, total, d.warmup_frac)
    scaler = torch.amp.GradScaler("cuda") if needs_grad_scaler(cfg, device) else None
    ckpt_path, log_path = work / "checkpoint.pt", work / "log.jsonl"
    state = _load_checkpoint(ckpt_path, key)
    step = 0
    if state:
        student.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        if scaler and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"]["torch"])
        random.setstate(state["rng"]["python"])
        np.random.set_state(state["rng"]["numpy"])
        step = state["step"]
        if rank == 0:
            log(f"{desc}: resuming from {ckpt_path} at step {step}/{total}")
    dist_.barrier()  # every rank has read the checkpoint before rank 0 may replace it
    if rank == 0:  # drop log lines written after the checkpoint we resume from
        lines = log_path.read_text().splitlines() if log_path.exists() else []
        log_path.write_text("".join(l + "\n" for l in lines if json.loads(l)["step"] <= step))

    t_encode, t_head = encoder_and_head(teacher)
    epochs_cache: dict[int, list] = {}
    kill_at = int(os.environ.get("DISTILKIT_KILL_AT_STEP", "0"))  # test hook: SIGKILL ourselves mid-run
    bar = tqdm(total=total, initial=step, desc=desc, unit="step", disable=rank != 0)
    model.train()
    while step < total:
        t0, tokens, sums = time.time(), 0, {}
        for a in range(d.grad_accum):
            g = step * per_step + rank * d.grad_accum + a
            epoch, idx = divmod(g, n_micro)
            if epoch not in epochs_cache:
                epochs_cache = {epoch: plan_epoch(lengths, d.batch_size, cfg.run.seed + epoch, d.group_by_length)}
            ids, attn = pad_batch([train[i] for i in epochs_cache[epoch][idx]], tok.pad_token_id)
            gen = torch.Generator().manual_seed(micro_seed(cfg.run.seed, g))
            masked, labels = mask_tokens(ids, attn, weights, d.mlm_prob, tok.mask_token_id, len(tok), gen)
            masked, labels, attn = masked.to(device), labels.to(device), attn.to(device)
            torch.manual_seed(micro_seed(cfg.run.seed + 1, g))  # dropout
            last = a == d.grad_accum - 1
            with model.no_sync() if world > 1 and not last else contextlib.nullcontext():
                with autocast(cfg, device):
                    with torch.no_grad():
                        t_hidden = t_encode(masked, attn)
                    loss = model(masked, attn, labels, t_hidden, t_head) / d.grad_accum
                (scaler.scale(loss) if scaler else loss).backward()
            terms = loss_module.terms
            tokens += int(attn.sum())
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + v / d.grad_accum
            sums["loss"] = sums.get("loss", 0.0) + loss.item()
        if scaler:
            scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(student.parameters(), d.max_grad_norm)
        if scaler:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()
        opt.zero_grad(set_to_none=True)
        lr = sched.get_last_lr()[0]
        sched.step()
        step += 1
        rec = {"step": step, **{k: round(v, 5) for k, v in sums.items()}, "lr": lr,
               "tokens_per_s": round(tokens * world / (time.time() - t0), 1)}
        if rank == 0:
            bar.update(1)
            bar.set_postfix({k: (f"{v:.3g}" if k != "step" else v) for k, v in rec.items() if k != "step"})
            if step % d.log_every == 0 or step == total:
                with open(log_path, "a") as fh:
                    fh.write(json.dumps(rec) + "\n")
            if step % d.checkpoint_every == 0 or step == total:
                _save_checkpoint(ckpt_path, {
                    "key": key, "step": step, "model": student.state_dict(), "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(), "scaler": scaler.state_dict() if scaler else None,
                    "rng": {"torch": torch.get_rng_state(), "python": random.getstate(), "numpy": np.random.get_state()}})
        if kill_at and step == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
    bar.close()
    dist_.barrier()
    result = {}
    if rank == 0:
        student.save_pretrained(out / "model")
        tok.save_pretrained(out / "model")
        (out / "log.jsonl").write_text(log_path.read_text())
        ev = evaluate(student, load_split(corpus_dir, "heldout"), tok, max_batches=d.eval_batches, device=device)
        logs = [json.loads(l) for l in log_path.read_text().splitlines()]
        result = {"steps": total, "effective_batch": d.batch_size * per_step, "world_size": world,
                  "params": count_params(student), "heldout": ev,
                  "mean_tokens_per_s": round(float(np.mean([r["tokens_per_s"] for r in logs])), 1) if logs else None}
    dist_.barrier()
    return result


def run(cfg, ctx) -> dict:
    res = distill(cfg, cfg.distill, teacher_dir=ctx.inputs["teacher"] / "model",
                  student_dir=ctx.inputs["student_init"] / "model", corpus_dir=ctx.inputs["corpus"],
                  work=ctx.work, out=ctx.out, key=ctx.key)
    if not dist_.is_main():
        return res
    teacher_metrics = json.loads((ctx.inputs["teacher"] / "metrics.json").read_text())
    teacher_eval = teacher_metrics["models"][-1]
    student_eval = dict(model="student", params=res["params"], when=f"after distillation ({res['steps']} steps)", **res["heldout"])
    result = results.document("mlm_eval", results.run_scale(cfg, results.torch_label(pick_device(cfg))),
                              models=[dict(teacher_eval, model="teacher"), student_eval],
                              param_ratio=round(res["params"] / teacher_eval["params"], 4), distill=res)
    # The stage folder's copy keeps its own format: its checksum feeds the next stages' fingerprints.
    (ctx.out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    results.write(ctx.results / "mlm" / "student.json", result)
    log(f"distill: student held-out masked acc {res['heldout']['masked_acc']:.3f} (teacher "
        f"{teacher_eval['masked_acc']:.3f}), {res['params']:,} params = {result['param_ratio']:.1%} of the teacher")
    return res
