"""The QA training loop: batches, the span and (D) losses, length-grouped epochs, resumable steps.

qa_finetune.py (the stage) calls train() for each model and window_logits() to score and label windows.
Batches are padded to their longest window only; padded positions are masked out of every softmax
(logit NEG). (D) mixes alpha * KL(teacher || student at temperature T) x T^2 with (1 - alpha) * span loss, and
adds layer_losses' terms: against hidden states computed once per window (CachedTeacher), or, for the attention
term, against a LiveTeacher (the fine-tuned QA teacher, run per batch).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from tqdm import tqdm

from pipeline.core.runs import log
from pipeline.training import kit, layer_losses

NEG = -1e4  # logit for padded positions: exp() is 0 in fp32 without the NaNs -inf would give in 0 * log 0


@dataclass
class LiveTeacher:
    """The fine-tuned QA teacher, run per (D) batch for the layer terms (eval mode, no grad)."""
    model: torch.nn.Module
    lmap: dict


@dataclass
class CachedTeacher:
    """The fine-tuned QA teacher's hidden states `layers` for the layer terms, computed once per window before
    training (window_outputs) and padded into batch["teacher_hidden"] by collate: the (D) step then runs no
    teacher forward per batch (session 17: 1.18 s a (D) step against the plain student's 1.07; with the live
    teacher, session 12 measured 0.94 against 0.80). The logits come as teacher_logits."""
    lmap: dict
    layers: list[int]

    def outputs(self, batch) -> SimpleNamespace:
        """What layer_losses.layer_terms reads of a teacher's output: hidden_states[j] for the cached j."""
        return SimpleNamespace(hidden_states=dict(zip(self.layers, batch["teacher_hidden"].float().unbind(1))))


def collate(feats: list[dict], device, teacher_logits=None) -> dict:
    width = max(len(f["input_ids"]) for f in feats)
    batch = {}
    for key in ("input_ids", "attention_mask", "token_type_ids", "teacher_token_type_ids"):
        if key in feats[0]:
            batch[key] = torch.tensor([f[key] + [0] * (width - len(f[key])) for f in feats], device=device)
    if "start" in feats[0]:
        batch["start"] = torch.tensor([f["start"] for f in feats], device=device)
        batch["end"] = torch.tensor([f["end"] for f in feats], device=device)
    if teacher_logits is not None:
        t = torch.full((len(feats), 2, width), NEG)
        for i, f in enumerate(feats):
            t[i, :, : teacher_logits[f["id"]].shape[1]] = teacher_logits[f["id"]]
        batch["teacher"] = t.to(device)
    if "teacher_hidden" in feats[0]:  # (layers, n, H) per window, zero-padded: the layer terms read real tokens only
        k, _, h = feats[0]["teacher_hidden"].shape
        t = torch.zeros(len(feats), k, width, h, dtype=feats[0]["teacher_hidden"].dtype)
        for i, f in enumerate(feats):
            t[i, :, : f["teacher_hidden"].shape[1]] = f["teacher_hidden"]
        batch["teacher_hidden"] = t.to(device)
    return batch


def forward(model, batch, **outputs) -> tuple:
    """(start, end) logits with padded positions at NEG; given outputs (output_hidden_states=True, ...),
    (start, end, the model's whole output)."""
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in batch}
    out = model(**inputs, **outputs)
    pad = batch["attention_mask"] == 0
    start, end = out.start_logits.float().masked_fill(pad, NEG), out.end_logits.float().masked_fill(pad, NEG)
    return (start, end, out) if outputs else (start, end)


def qa_distillation_loss(student_start, student_end, teacher_start, teacher_end, temperature: float):
    """KL(teacher || student) at temperature T, x T^2, averaged over the start and end distributions."""
    def kl(s, t):
        return F.kl_div(F.log_softmax(s / temperature, -1), F.log_softmax(t / temperature, -1),
                        reduction="batchmean", log_target=True) * temperature ** 2
    return (kl(student_start, teacher_start) + kl(student_end, teacher_end)) / 2


def span_loss(start, end, batch) -> torch.Tensor:
    return (F.cross_entropy(start, batch["start"]) + F.cross_entropy(end, batch["end"])) / 2


def _teacher_inputs(batch) -> dict:
    """The batch as the live teacher sees it: its own token types (BERT), when it has them."""
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask")}
    if "teacher_token_type_ids" in batch:
        inputs["token_type_ids"] = batch["teacher_token_type_ids"]
    return inputs


def _loss(model, batch, cfg, device, teacher_logits, teacher: LiveTeacher | CachedTeacher | None = None,
          alpha: float | None = None):
    """Span loss, mixed with the QA distillation loss when the teacher's logits are given (D) at weight alpha
    (default qa.alpha_distil), plus the layer terms with a teacher: a live one gives its logits from the same
    forward that feeds them."""
    from pipeline.training.hardware import autocast
    q, live = cfg.qa, isinstance(teacher, LiveTeacher)
    with autocast(cfg, device):
        if teacher is None:
            start, end = forward(model, batch)
        else:
            start, end, s_out = forward(model, batch, **layer_losses.outputs_kwargs(q))
        if live:
            with torch.no_grad():
                t_start, t_end, t_out = forward(teacher.model, _teacher_inputs(batch), **layer_losses.outputs_kwargs(q))
    loss = span_loss(start, end, batch)
    if not live and teacher_logits is not None:
        t_start, t_end = batch["teacher"][:, 0], batch["teacher"][:, 1]
    if live or teacher_logits is not None:
        distil = qa_distillation_loss(start, end, t_start, t_end, q.temperature)
        alpha = q.alpha_distil if alpha is None else alpha
        loss = alpha * distil + (1 - alpha) * loss
    if teacher is not None:
        t_out = t_out if live else teacher.outputs(batch)
        loss = loss + layer_losses.weighted(q, layer_losses.layer_terms(q, teacher.lmap, s_out, t_out,
                                                                        batch["attention_mask"]))
    return loss


def _resume(checkpoint, model, opt, sched, scaler, desc: str, total: int, on_epoch=None) -> tuple[list, list, int]:
    """(shuffle order left, losses so far, first step) from the checkpoint, or a fresh start.
    The per-epoch evaluations saved with it go back into on_epoch, so none is redone or lost."""
    state = checkpoint.load() if checkpoint else None
    if not state:
        return [], [], 0
    first = checkpoint.restore(state, model, opt, sched, scaler)
    if on_epoch is not None:
        on_epoch.curve = list(state["extra"].get("curve", []))
    log(f"qa_finetune: {desc}: resuming at step {first} of {total}")
    return state["extra"]["order"], state["extra"]["losses"], first


def epoch_order(feats: list[dict], batch_size: int, seed: int, by_length: bool) -> list[int]:
    """One epoch's window order, batch after batch, every window once (the short batch last). By length,
    the demo's train windows (189 tokens on average) pad to 197 tokens a batch instead of 372."""
    batches = kit.plan_epoch([len(f["input_ids"]) for f in feats], batch_size, seed, by_length, drop_last=False)
    return [int(j) for b in batches for j in b]


def train(model, feats: list[dict], cfg, device, desc: str, teacher_logits=None, ckpt: Path | None = None,
          key: str = "", on_step: kit.OnStep | None = None, teacher: LiveTeacher | CachedTeacher | None = None,
          epochs: float | None = None, on_epoch=None, lr: float | None = None, alpha: float | None = None) -> dict:
    """Fine-tune in place for `epochs` (default qa.epochs); (D) with teacher_logits (precomputed), and with a
    cached or live teacher for the layer terms. With `ckpt`, the training state is saved every qa.checkpoint_every steps and a run
    stopped midway resumes from the last save (a checkpoint under another key is refused).
    on_step(n) is called after optimizer step n; on_epoch(n) (an EpochCurve) after each whole epoch,
    and training stops early when it returns True. lr: the peak learning rate (default qa.lr); alpha: the weight of
    the distillation loss (default qa.alpha_distil)."""
    from pipeline.training.hardware import autocast_precision, needs_grad_scaler
    q = cfg.qa
    scaler = kit.grad_scaler(needs_grad_scaler(cfg, device))
    per_epoch = math.ceil(len(feats) / q.batch_size)
    total = max(1, round((epochs or q.epochs) * per_epoch))
    opt = torch.optim.AdamW(kit.decay_groups(model, 0.01), lr=lr or q.lr)
    sched = kit.warmup_linear(opt, total, int(q.warmup_frac * total), first_step_at_zero=True)
    model.to(device).train()
    checkpoint = kit.Checkpoint(ckpt, key) if ckpt is not None else None
    order, losses, first = _resume(checkpoint, model, opt, sched, scaler, desc, total, on_epoch)
    stop = on_epoch is not None and on_epoch.converged()  # a crash right after the stopping epoch
    t0, last = time.time(), first
    bar = tqdm(range(first, first if stop else total), desc=desc, unit="step", initial=first, total=total,
               mininterval=2)
    for step in bar:
        if not order:  # next epoch; its last batch may be short, so epochs end on their own step
            order = epoch_order(feats, q.batch_size, cfg.run.seed + step // per_epoch, q.group_by_length)
        idx, order = order[: q.batch_size], order[q.batch_size:]
        loss = _loss(model, collate([feats[i] for i in idx], device, teacher_logits), cfg, device, teacher_logits,
                     teacher, alpha)
        kit.backward(loss, scaler)
        kit.optimizer_step(opt, sched, model.parameters(), 1.0, scaler)
        losses.append(loss.item())
        if step % 10 == 0 or step == total - 1:
            bar.set_postfix(loss=f"{sum(losses[-10:]) / len(losses[-10:]):.3f}")
        epoch_end, last = on_epoch is not None and (step + 1) % per_epoch == 0, step + 1
        if epoch_end:
            stop = on_epoch(step + 1)
            model.train()
        every = q.checkpoint_every and (step + 1) % q.checkpoint_every == 0
        if checkpoint and (every or epoch_end) and step + 1 < total:  # epoch ends too: evaluations survive
            checkpoint.save(step + 1, model, opt, sched, scaler,
                            extra={"order": order, "losses": losses,
                                   "curve": on_epoch.curve if on_epoch is not None else []})
        if on_step:
            on_step(step + 1)
        if stop:
            break
    bar.close()
    secs = time.time() - t0
    ran = max(1, last - first)
    return {"steps": last, "windows": len(feats), "lr": lr or q.lr, "seconds": round(secs, 1),
            "s_per_step": round(secs / ran, 3),
            "autocast": autocast_precision(cfg, device),
            "first_loss": round(losses[0], 4), "final_loss": round(sum(losses[-10:]) / len(losses[-10:]), 4)}


def window_logits(model, feats: list[dict], device, batch_size: int, desc: str) -> dict:
    """Start/end logits of every window (trimmed to its real length), by window id."""
    return window_outputs(model, feats, device, batch_size, desc)[0]


@torch.no_grad()
def window_outputs(model, feats: list[dict], device, batch_size: int, desc: str,
                   hidden: list[int] = ()) -> tuple[dict, dict]:
    """(logits, hidden states) of every window, trimmed to its real length, by window id: logits (2, n) and,
    for the hidden-state indices in `hidden`, a (len(hidden), n, H) fp16 tensor (fp16 halves the memory and
    keeps about three decimal digits, more than the bf16 autocast that training runs in)."""
    model.to(device).eval()
    order = sorted(range(len(feats)), key=lambda i: len(feats[i]["input_ids"]))  # little padding per batch
    logits, states = {}, {}
    for i in tqdm(range(0, len(order), batch_size), desc=desc, unit="batch", mininterval=2):
        chunk = [feats[j] for j in order[i:i + batch_size]]
        if hidden:
            start, end, out = forward(model, collate(chunk, device), output_hidden_states=True)
        else:
            start, end = forward(model, collate(chunk, device))
        for k, f in enumerate(chunk):
            n = len(f["input_ids"])
            logits[f["id"]] = torch.stack([start[k, :n], end[k, :n]]).cpu()
            if hidden:
                states[f["id"]] = torch.stack([out.hidden_states[j][k, :n] for j in hidden]).to(torch.float16).cpu()
    return logits, states
