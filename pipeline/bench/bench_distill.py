"""Distillation throughput benchmark: tokens/s and peak memory of the distill stage.

Runs a few optimizer steps of the real distillation code on a run folder whose corpus,
teacher and student_init stages are done (they are run first if missing), in a scratch
folder, and prints the figures so that later changes can be compared:

    python pipeline/bench/bench_distill.py                       # demo preset, 5 steps
    python pipeline/bench/bench_distill.py --steps 10 --distill.batch_size 16 --distill.grad_accum 8

The first step is excluded from the mean (allocator and thread-pool warm-up).
"""
from __future__ import annotations

import dataclasses
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from pipeline.config import UserError, build_parser, from_args


def _extra(parser):
    parser.add_argument("--steps", type=int, default=5, help="optimizer steps to time (the first is warm-up)")
    parser.add_argument("--json", default="", help="also write the figures to this JSON file")


def main(argv=None) -> int:
    args = build_parser("bench_distill.py", __doc__.split("\n\n")[0], _extra).parse_args(argv)
    try:
        cfg = from_args(args)
        if not getattr(args, "run.results_dir", None):  # a benchmark must not replace the run's real results
            cfg.run.results_dir = tempfile.mkdtemp(prefix="bench_distill_results_")
        if args.steps < 2:
            raise UserError("--steps must be at least 2 (the first step is warm-up)")
        from pipeline.build_all import BY_NAME
        from pipeline.core.runs import Run
        run = Run(cfg)
        for name in ("corpus", "teacher", "student_init"):
            run.execute(BY_NAME[name])
        import torch
        from pipeline.training.hardware import pick_device
        from pipeline.training.distill import distill
        d = dataclasses.replace(cfg.distill, steps=args.steps, log_every=1, checkpoint_every=10 ** 9, eval_batches=1)
        t0 = time.time()
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            (tmp / "work").mkdir()
            (tmp / "out").mkdir()
            distill(cfg, d, teacher_dir=run.output("teacher") / "model",
                    student_dir=run.output("student_init") / "model", corpus_dir=run.output("corpus"),
                    work=tmp / "work", out=tmp / "out", key="bench", desc="bench distill")
            logs = [json.loads(l) for l in (tmp / "out" / "log.jsonl").read_text().splitlines()]
        device = pick_device(cfg)
        timed = logs[1:]
        tps = sum(r["tokens_per_s"] for r in timed) / len(timed)
        peak = (torch.cuda.max_memory_allocated() / 2 ** 20 if device.type == "cuda"
                else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        figures = {"tokens_per_s": round(tps, 1), "peak_memory_mb": round(peak, 1),
                   "peak_memory_kind": "cuda allocated" if device.type == "cuda" else "process max RSS",
                   "steps_timed": len(timed), "batch_size": d.batch_size, "grad_accum": d.grad_accum,
                   "max_seq_len": cfg.corpus.max_seq_len, "device": str(device),
                   "threads": torch.get_num_threads(), "wall_s": round(time.time() - t0, 1)}
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for k, v in figures.items():
        print(f"{k:18s} {v}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
