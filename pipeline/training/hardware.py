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


def cpu_has_bf16_matmul() -> bool:
    """AMX tiles or AVX512-BF16 make bf16 matrix products cheaper than fp32 ones (a QA teacher step, batch 16
    x 240 tokens, went from 2.5 to 1.4 s on the 2-core AVX512-BF16 EPYC); without them CPU autocast only adds casts."""
    probes = (getattr(torch.cpu, name, None) for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"))
    return any(bool(probe and probe()) for probe in probes)


def autocast_precision(cfg, device: torch.device) -> str:
    """The precision training runs in: bf16/fp16 autocast on a GPU; bf16 on CPUs with AMX or AVX512-BF16 (a
    teacher-fit step went from 2.0 to 1.6 s on the 2-core Xeon); fp32 on other CPUs, where autocast is slower."""
    prec = cfg.run.precision
    if prec == "fp32":
        return "fp32"
    if device.type != "cuda":
        return "bf16" if prec == "bf16" or (prec == "auto" and cpu_has_bf16_matmul()) else "fp32"
    if prec == "auto":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return prec


def precision_line(cfg) -> str:
    """One line for the start of a run: what training computes in and why, since it decides the wall times."""
    device = pick_device(cfg)
    prec = autocast_precision(cfg, device)
    if device.type == "cuda" or prec == "bf16":
        return f"training precision: {prec} autocast on {device.type} (run.precision {cfg.run.precision})"
    if cfg.run.precision == "fp32":
        return "training precision: fp32 (run.precision fp32)"
    return ("training precision: fp32: this CPU has neither AMX nor AVX512-BF16 (where it has, bf16 autocast made "
            "a QA teacher step 1.8x faster; README's default-run wall times were measured on such a CPU)")


def autocast(cfg, device: torch.device):
    prec = autocast_precision(cfg, device)
    if prec == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16 if prec == "bf16" else torch.float16)


def needs_grad_scaler(cfg, device: torch.device) -> bool:
    return device.type == "cuda" and autocast_precision(cfg, device) == "fp16"


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)
