"""Device, precision and seeding choices shared by every training stage."""
from __future__ import annotations

import contextlib
import functools
import os
import random
import time

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


def cpu_has_bf16_instructions() -> bool:
    probes = (getattr(torch.cpu, name, None) for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"))
    return any(bool(probe and probe()) for probe in probes)


BF16_MIN_SPEEDUP = 1.2  # a margin, so that a noisy probe on a borderline CPU cannot flip between runs


@functools.lru_cache(maxsize=None)
def cpu_bf16_speedup() -> float:
    """fp32 time over bf16-autocast time of a transformer FFN's forward and backward (384 -> 1536 -> 384 on 2,048
    tokens), best of 3 each, at the current thread count. Measured, because the instruction flags do not decide it:
    bf16 made a QA teacher step 1.8x faster on the 2-core AVX512-BF16 EPYC and 1.25x slower (2.71 s against 2.16 s)
    on the 2-core AVX512-BF16 Xeon without AMX. 0.0 where the CPU has neither AMX nor AVX512-BF16 (not timed).
    Under torchrun every rank gets rank 0's figure, so that no two ranks train in different precisions."""
    from pipeline.core import distributed
    return distributed.broadcast(_time_bf16_against_fp32() if cpu_has_bf16_instructions() else 0.0)


def _time_bf16_against_fp32() -> float:
    # The layers' initialisation would draw from the global RNG, so a trainer's dropout masks would depend on
    # whether the probe ran before it in this process (session 23: a (D) trial in a fresh process trained on
    # other masks than the pipeline's stage, which probes at start).
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        ffn = torch.nn.Sequential(torch.nn.Linear(384, 1536), torch.nn.GELU(), torch.nn.Linear(1536, 384))
        x = torch.randn(2048, 384)

    def best(enabled: bool) -> float:
        times = []
        for _ in range(4):  # the first is a warm-up
            t = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=enabled):
                y = ffn(x)
            y.float().square().mean().backward()
            times.append(time.perf_counter() - t)
        return min(times[1:])
    return best(False) / best(True)


def autocast_precision(cfg, device: torch.device) -> str:
    """The precision training runs in: bf16/fp16 autocast on a GPU; on a CPU bf16 where run.precision says so, or
    with "auto" where the probe measured bf16 at least BF16_MIN_SPEEDUP faster; else fp32."""
    prec = cfg.run.precision
    if prec == "fp32":
        return "fp32"
    if device.type != "cuda":
        return "bf16" if prec == "bf16" or (prec == "auto" and cpu_bf16_speedup() >= BF16_MIN_SPEEDUP) else "fp32"
    if prec == "auto":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return prec


def precision_line(cfg) -> str:
    """One line for the start of a run: what training computes in and why, since it decides the wall times."""
    device = pick_device(cfg)
    prec = autocast_precision(cfg, device)
    if cfg.run.precision == "fp32":
        return "training precision: fp32 (run.precision fp32)"
    if device.type == "cuda" or cfg.run.precision != "auto":
        return f"training precision: {prec} autocast on {device.type} (run.precision {cfg.run.precision})"
    speedup = cpu_bf16_speedup()
    if not speedup:
        return "training precision: fp32: this CPU has neither AMX nor AVX512-BF16"
    return (f"training precision: {prec}: bf16 autocast measured {speedup:.2f}x the speed of fp32 on this CPU "
            f"(bf16 from {BF16_MIN_SPEEDUP}x; run.precision fp32 or bf16 chooses)")


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
