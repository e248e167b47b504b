"""What every trainer shares: length-grouped epochs, parameter groups, the warm-up + linear schedule,
the optimizer step, and resumable checkpoints.

Used by the teacher's head fit, distillation (and its ablation variants), QA fine-tuning and
classification. A checkpoint is one file, written atomically, in one format:

    {"key", "step", "model", "optimizer", "scheduler", "scaler", "rng": {torch, python, numpy}, "extra"}

and one rule holds for a checkpoint that does not match: a corrupt file or one written under
another key (another config or other inputs) is a one-line UserError naming the file, never a
silent restart, so a changed option cannot quietly mix two runs or throw away hours of training.
"""
from __future__ import annotations

import math
import os
import random
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from pipeline.config import UserError

REQUIRED = ("key", "step", "model", "optimizer", "scheduler", "rng")
OnStep = Callable[[int], None]  # called with the number of optimizer steps done, after any checkpoint


def exempt_from_decay(name: str) -> bool:
    """Biases and layer-norm weights are not decayed (BERT's and DistilBERT's parameter names)."""
    return name.endswith("bias") or "layer_norm" in name.lower() or "LayerNorm" in name


def decay_groups(model, weight_decay: float, exempt: bool = True) -> list[dict]:
    """AdamW parameter groups: decayed weights, then (with `exempt`) biases and norms at 0."""
    if not exempt:
        return [{"params": list(model.parameters()), "weight_decay": weight_decay}]
    decay, keep = [], []
    for name, p in model.named_parameters():
        (keep if exempt_from_decay(name) else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": keep, "weight_decay": 0.0}]


def warmup_linear(opt, total: int, warmup: int, first_step_at_zero: bool = False):
    """Learning rate rising linearly over `warmup` steps, then falling linearly to 0 at `total`.

    Distillation and the head fit train their first step at lr / warmup; QA and classification
    fine-tuning keep the Hugging Face convention (`first_step_at_zero`: step s at s / warmup,
    so step 0 runs at lr 0), which their published recipes and earlier results used."""
    offset = 0 if first_step_at_zero else 1

    def factor(s: int) -> float:
        if s < warmup:
            return (s + offset) / max(1, warmup)
        return max(0.0, (total - s) / max(1, total - warmup))

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


def grad_scaler(enabled: bool):
    """A CUDA loss scaler for fp16 autocast, or None."""
    return torch.amp.GradScaler("cuda") if enabled else None


def backward(loss, scaler=None) -> None:
    (scaler.scale(loss) if scaler else loss).backward()


def optimizer_step(opt, sched, params, max_grad_norm: float, scaler=None) -> float:
    """Clip, step, clear the gradients and advance the schedule; returns the lr the step used."""
    if scaler:
        scaler.unscale_(opt)
    torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
    if scaler:
        scaler.step(opt)
        scaler.update()
    else:
        opt.step()
    opt.zero_grad(set_to_none=True)
    lr = sched.get_last_lr()[0]
    sched.step()
    return lr


def rng_state() -> dict:
    return {"torch": torch.get_rng_state(), "python": random.getstate(), "numpy": np.random.get_state()}


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])


class Checkpoint:
    """The resumable state of one training run at `path`, valid only for runs with the same `key`."""

    def __init__(self, path: Path, key: str):
        self.path, self.key = Path(path), key

    def load(self) -> dict | None:
        """The saved state, None when there is none; UserError when it is corrupt or not this run's."""
        if not self.path.exists():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=False)
            missing = [k for k in REQUIRED if not isinstance(state, dict) or k not in state]
            if missing:
                raise ValueError(f"missing {', '.join(missing)}")
        except Exception as e:
            raise UserError(f"checkpoint {self.path} is corrupt ({type(e).__name__}: {str(e)[:120]}); "
                            f"delete it to start this stage over") from None
        if state["key"] != self.key:
            raise UserError(f"checkpoint {self.path} belongs to a different config or input (key {state['key']} != "
                            f"{self.key}); restore that config, or delete the checkpoint to start over")
        return state

    def restore(self, state: dict, model, opt, sched, scaler=None) -> int:
        """Put a loaded state back into the training objects and the RNGs; returns the step reached."""
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        if scaler and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        set_rng_state(state["rng"])
        return state["step"]

    def save(self, step: int, model, opt, sched, scaler=None, extra: dict | None = None) -> None:
        state = {"key": self.key, "step": step, "model": model.state_dict(), "optimizer": opt.state_dict(),
                 "scheduler": sched.state_dict(), "scaler": scaler.state_dict() if scaler else None,
                 "rng": rng_state(), "extra": extra or {}}
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "wb") as fh:
            torch.save(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def plan_epoch(lengths, batch_size: int, seed: int, group_by_length: bool, drop_last: bool = True) -> list:
    """Batches (index arrays) of one epoch. Length grouping sorts within shuffled chunks of 50 batches,
    so batches hold similar lengths (little padding) yet their order stays random. drop_last=False keeps
    the short remainder as the last batch (QA: every window once an epoch)."""
    import numpy as np
    lengths = np.asarray(lengths)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    if group_by_length:
        chunk = batch_size * 50
        order = np.concatenate([c[np.argsort(lengths[c], kind="stable")]
                                for c in np.array_split(order, max(1, math.ceil(len(order) / chunk)))])
    whole = len(order) - len(order) % batch_size
    batches = [order[i:i + batch_size] for i in range(0, whole, batch_size)]
    rng.shuffle(batches)
    return batches if drop_last or whole == len(order) else batches + [order[whole:]]
