"""Distillation stage: the paper's triple loss, resumable, on one process or many (torchrun).

loss = alpha_ce * T^2 * KL(teacher/T || student/T)   soft targets, non-pad (or masked) positions
     + alpha_mlm * cross-entropy at masked positions
     + alpha_cos * (1 - cos(student, teacher last hidden states)) at non-pad positions
  [+ alpha_hidden / alpha_attn / alpha_emb intermediate-layer terms, pipeline/training/layer_losses.py;
     with all three at 0 the teacher's extra outputs are not even requested]

Every micro-batch has a global index g. Its masks and its dropout are drawn from seeds derived
from (seed, g) alone, so a run resumed from a checkpoint, or split over N processes with the
same effective batch, sees exactly the same batches and masks as one uninterrupted process.
"""
from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from pipeline.config import UserError
from pipeline.core import distributed as dist_
from pipeline.core import results
from pipeline.core.models import count_params
from pipeline.core.runs import log
from pipeline.data.corpus import load_split
from pipeline.training import kit, layer_losses
from pipeline.training.hardware import autocast, needs_grad_scaler, pick_device
from pipeline.training.mlm import (encoder_and_head, evaluate, mask_tokens, pad_batch,
                                   special_ids, token_weights)


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

    def __init__(self, student, d, lmap=None):
        super().__init__()
        self.student, self.d, self.lmap, self.terms = student, d, lmap, {}

    def forward(self, masked, attn, labels, t_hidden, t_head, t_out=None):
        encode, head = encoder_and_head(self.student)
        if t_out is None:  # the paper's triple loss alone: today's code path, untouched
            loss, self.terms = triple_loss(self.d, encode(masked, attn), t_hidden, head, t_head, labels, attn)
            return loss
        s_out = self.student.base_model(input_ids=masked, attention_mask=attn, **layer_losses.outputs_kwargs(self.d))
        loss, terms = triple_loss(self.d, s_out.hidden_states[-1], t_hidden, head, t_head, labels, attn)
        extra = layer_losses.layer_terms(self.d, self.lmap, s_out, t_out, attn)
        self.terms = {**terms, **{k: v.item() for k, v in extra.items()}}
        return loss + layer_losses.weighted(self.d, extra)


@dataclass
class _Run:
    """One distillation run: what it trains, on what data, with which optimizer."""
    cfg: object
    d: object
    device: torch.device
    world: int
    rank: int
    tok: object
    teacher: torch.nn.Module
    student: torch.nn.Module
    train: list
    lengths: np.ndarray
    weights: torch.Tensor
    per_step: int                    # micro-batches per optimizer step, all ranks
    n_micro: int                     # micro-batches per epoch
    total: int                       # optimizer steps
    model: torch.nn.Module           # the loss module, wrapped in DistributedDataParallel under torchrun
    loss_module: StudentLoss
    lmap: dict | None                # student layer -> teacher layer map (layer_losses.layer_map)
    opt: torch.optim.Optimizer
    sched: object
    scaler: object


def _prepare(cfg, d, teacher_dir: Path, student_dir: Path, corpus_dir: Path) -> _Run:
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
    weights = token_weights(np.load(corpus_dir / "token_counts.npy"), d.mask_smoothing, special_ids(tok))
    per_step, n_micro = d.grad_accum * world, len(train) // d.batch_size
    if n_micro < per_step:
        raise UserError(f"corpus has {len(train)} sequences: fewer than one optimizer step "
                        f"({per_step} micro-batches of {d.batch_size})")
    total = d.steps or max(1, int(d.epochs * n_micro // per_step))
    lmap = layer_losses.prepare(d, student_dir, student, teacher)
    model = loss_module = StudentLoss(student, d, lmap)
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            loss_module, device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=d.alpha_ce == 0 and d.alpha_mlm == 0)  # cos-only never touches the head
    opt = torch.optim.AdamW(kit.decay_groups(student, d.weight_decay), lr=d.lr, betas=tuple(d.betas), eps=d.adam_eps)
    sched = kit.warmup_linear(opt, total, max(1, int(round(total * d.warmup_frac))))
    scaler = kit.grad_scaler(needs_grad_scaler(cfg, device))
    return _Run(cfg, d, device, world, rank, tok, teacher, student, train, np.array([len(s) for s in train]),
                weights, per_step, n_micro, total, model, loss_module, lmap, opt, sched, scaler)


def _resume(r: _Run, ckpt: kit.Checkpoint, log_path: Path, desc: str) -> int:
    """The step to start from: 0, or the checkpoint's, with the log cut back to it."""
    state, step = ckpt.load(), 0
    if state:
        step = ckpt.restore(state, r.student, r.opt, r.sched, r.scaler)
        if r.rank == 0:
            log(f"{desc}: resuming from {ckpt.path} at step {step}/{r.total}")
    dist_.barrier()  # every rank has read the checkpoint before rank 0 may replace it
    if r.rank == 0:  # drop log lines written after the checkpoint we resume from
        lines = log_path.read_text().splitlines() if log_path.exists() else []
        log_path.write_text("".join(l + "\n" for l in lines if json.loads(l)["step"] <= step))
    return step


def _teacher_forward(r: _Run, t_encode, masked, attn):
    """(last hidden states, all outputs or None): the layer outputs only when a layer term needs them."""
    if not layer_losses.weights(r.d):
        return t_encode(masked, attn), None
    out = r.teacher.base_model(input_ids=masked, attention_mask=attn, **layer_losses.outputs_kwargs(r.d))
    return out.hidden_states[-1], out


def _micro_batch(r: _Run, g: int, epochs: dict, teacher, last: bool) -> tuple[int, dict, float]:
    """Forward and backward of micro-batch g: (real tokens, loss terms, scaled loss)."""
    cfg, d = r.cfg, r.d
    epoch, idx = divmod(g, r.n_micro)
    if epoch not in epochs:  # one epoch's plan at a time
        epochs.clear()
        epochs[epoch] = kit.plan_epoch(r.lengths, d.batch_size, cfg.run.seed + epoch, d.group_by_length)
    ids, attn = pad_batch([r.train[i] for i in epochs[epoch][idx]], r.tok.pad_token_id)
    gen = torch.Generator().manual_seed(micro_seed(cfg.run.seed, g))
    masked, labels = mask_tokens(ids, attn, r.weights, d.mlm_prob, r.tok.mask_token_id, len(r.tok), gen)
    masked, labels, attn = masked.to(r.device), labels.to(r.device), attn.to(r.device)
    torch.manual_seed(micro_seed(cfg.run.seed + 1, g))  # dropout
    t_encode, t_head = teacher
    with r.model.no_sync() if r.world > 1 and not last else contextlib.nullcontext():
        with autocast(cfg, r.device):
            with torch.no_grad():
                t_hidden, t_out = _teacher_forward(r, t_encode, masked, attn)
            loss = r.model(masked, attn, labels, t_hidden, t_head, t_out) / d.grad_accum
        kit.backward(loss, r.scaler)
    return int(attn.sum()), r.loss_module.terms, loss.item()


def _train_step(r: _Run, step: int, epochs: dict, teacher) -> dict:
    """One optimizer step over grad_accum micro-batches; returns its log record."""
    t0, tokens, sums = time.time(), 0, {}
    for a in range(r.d.grad_accum):
        g = step * r.per_step + r.rank * r.d.grad_accum + a
        n, terms, loss = _micro_batch(r, g, epochs, teacher, last=a == r.d.grad_accum - 1)
        tokens += n
        for k, v in terms.items():
            sums[k] = sums.get(k, 0.0) + v / r.d.grad_accum
        sums["loss"] = sums.get("loss", 0.0) + loss
    lr = kit.optimizer_step(r.opt, r.sched, r.student.parameters(), r.d.max_grad_norm, r.scaler)
    return {"step": step + 1, **{k: round(v, 5) for k, v in sums.items()}, "lr": lr,
            "tokens_per_s": round(tokens * r.world / (time.time() - t0), 1)}


def _train(r: _Run, step: int, ckpt: kit.Checkpoint, log_path: Path, desc: str, on_step: kit.OnStep | None) -> None:
    d, teacher, epochs = r.d, encoder_and_head(r.teacher), {}
    bar = tqdm(total=r.total, initial=step, desc=desc, unit="step", disable=r.rank != 0)
    r.model.train()
    while step < r.total:
        rec = _train_step(r, step, epochs, teacher)
        step = rec["step"]
        if r.rank == 0:
            bar.update(1)
            bar.set_postfix({k: f"{v:.3g}" for k, v in rec.items() if k != "step"})
            if step % d.log_every == 0 or step == r.total:
                with open(log_path, "a") as fh:
                    fh.write(json.dumps(rec) + "\n")
            if step % d.checkpoint_every == 0 or step == r.total:
                ckpt.save(step, r.student, r.opt, r.sched, r.scaler)
        if on_step:
            on_step(step)
    bar.close()


def _finish(r: _Run, log_path: Path, out: Path, corpus_dir: Path) -> dict:
    """Rank 0 saves the student and its log and scores it on the held-out split."""
    dist_.barrier()
    result = {}
    if r.rank == 0:
        r.student.save_pretrained(out / "model")
        r.tok.save_pretrained(out / "model")
        (out / "log.jsonl").write_text(log_path.read_text())
        if r.lmap:  # the QA (D) step reads it to match the same layers
            (out / "layer_map.json").write_text(json.dumps(r.lmap) + "\n")
        ev = evaluate(r.student, load_split(corpus_dir, "heldout"), r.tok, max_batches=r.d.eval_batches,
                      device=r.device)
        logs = [json.loads(l) for l in log_path.read_text().splitlines()]
        result = {"steps": r.total, "effective_batch": r.d.batch_size * r.per_step, "world_size": r.world,
                  "params": count_params(r.student), "heldout": ev, "layer_map": r.lmap,
                  "layer_losses": layer_losses.weights(r.d),
                  "mean_tokens_per_s": round(float(np.mean([x["tokens_per_s"] for x in logs])), 1) if logs else None}
    dist_.barrier()
    return result


def distill(cfg, d, *, teacher_dir: Path, student_dir: Path, corpus_dir: Path, work: Path, out: Path,
            key: str, desc: str = "distill", on_step: kit.OnStep | None = None) -> dict:
    """Train the student in student_dir against the teacher; save it to out/model. d: a DistillCfg.

    Checkpoints go to work/checkpoint.pt under `key`; a run stopped at any point resumes from
    the last one. on_step(n) is called after optimizer step n (tests stop a run there)."""
    r = _prepare(cfg, d, teacher_dir, student_dir, corpus_dir)
    ckpt, log_path = kit.Checkpoint(work / "checkpoint.pt", key), work / "log.jsonl"
    step = _resume(r, ckpt, log_path, desc)
    _train(r, step, ckpt, log_path, desc, on_step)
    return _finish(r, log_path, out, corpus_dir)


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
