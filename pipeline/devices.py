"""Device, precision and seeding choices shared by every training stage."""
from __future__ import annotations

import contextlib
import os
import random

import numpy as np
import torch


def pick_device(cfg) -> torch.device:
    want = cfg.run.device
    if want == "auto":
        want = "cuda" if torch.cuda.is_available() else "cpu"
    if want == "cuda" and not torch.cuda.is_available():
        from pipeline.config import UserError
        raise UserError("run.device is 'cuda' but torch sees no CUDA device")
    if want == "cuda" and "LOCAL_RANK" in os.environ:
        return torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    if cfg.run.threads:
        torch.set_num_threads(cfg.run.threads)
    return torch.device(want)


def autocast(cfg, device: torch.device):
    """bf16/fp16 autocast on a GPU; full precision on CPU, where autocast is slower than fp32 here."""
    if device.type != "cuda" or cfg.run.precision == "fp32":
        return contextlib.nullcontext()
    prec = cfg.run.precision
    if prec == "auto":
        prec = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return torch.autocast("cuda", dtype=torch.bfloat16 if prec == "bf16" else torch.float16)


def needs_grad_scaler(cfg, device: torch.device) -> bool:
    return device.type == "cuda" and (cfg.run.precision == "fp16" or
                                      (cfg.run.precision == "auto" and not torch.cuda.is_bf16_supported()))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)
