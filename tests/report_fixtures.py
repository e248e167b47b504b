"""Small results files for the report tests, written to the contract in the shared brief."""
from __future__ import annotations

import copy
import json
from pathlib import Path

SCALE = {"preset": "demo", "teacher": "embedded", "corpus": "embedded docs (2k sequences)", "device": "test cpu"}


def _head(kind: str) -> dict:
    return {"kind": kind, "schema_version": 1, "scale": dict(SCALE)}


def _stats(ms: float) -> dict:
    return {"n": 20, "mean_ms": ms * 1.02, "median_ms": ms, "p90_ms": ms * 1.1, "trimmed_mean_ms": ms * 1.01,
            "min_ms": ms * 0.9, "max_ms": ms * 1.3}


def benchmark(source: str = "host", seq_lens=(128, 384)) -> dict:
    entries = []
    for seq in seq_lens:
        for model, ms in (("teacher", 20.0), ("student", 11.0), ("student_d", 10.5)):
            for runtime, factor in (("eager", 1.0), ("executorch", 1.4)):
                entries.append({"runtime": runtime, "runtime_version": "1.0", "model": model, "precision": "fp32",
                                "seq_len": seq, "load_ms": 150.0, "stats": _stats(ms * factor * seq / 128),
                                "peak_mem_mb": 300.0 if source == "host" else None, "file_bytes": 90_000_000})
    device = ({"name": "test host", "os": "Linux", "cpu": "x86_64", "threads": 1} if source == "host"
              else {"name": "Pixel 8", "os": "Android 15", "soc": "Tensor G3", "threads": 4})
    return dict(_head("benchmark"), source=source, device=device, entries=entries)


ABLATION_MEANS = (("full", 0.33, 21.0), ("ce_only", 0.30, 20.0), ("cos_only", 0.12, 6.0), ("no_mlm", 0.32, 20.5),
                  ("random_init", 0.10, 2.0))


def ablation_example() -> dict:
    """Two seeds per variant, each mean +- 0.01 (masked acc) and +- 1 (QA F1): sample std 0.01414 / 1.414."""
    rows = [{"variant": v, "seed": s, "masked_acc": round(a + d / 100, 4), "mlm_loss": 4.0 - a, "steps": 30,
             "qa_f1": f1 + d, "qa_em": (f1 + d) / 2} for v, a, f1 in ABLATION_MEANS for s, d in ((0, -1), (1, 1))]
    summary = [{"variant": v, "seeds": [0, 1], "steps": 30, "masked_acc": {"mean": a, "std": 0.01414},
                "mlm_loss": {"mean": 4.0 - a, "std": 0.0}, "qa_f1": {"mean": f1, "std": 1.41421},
                "qa_em": {"mean": f1 / 2, "std": 0.70711}} for v, a, f1 in ABLATION_MEANS]
    return dict(_head("ablation"), seeds=[0, 1], variants=rows, summary=summary,
                qa={"steps": 20, "train_examples": 1600, "dev_examples": 100})


EXAMPLES = {
    "mlm_eval": dict(_head("mlm_eval"), models=[
        {"model": "teacher", "params": 22_700_000, "masked_acc": 0.41, "mlm_loss": 3.2, "n_masked": 900, "when": "after head fit"},
        {"model": "student", "params": 15_600_000, "masked_acc": 0.33, "mlm_loss": 3.9, "n_masked": 900, "when": "after distillation"}],
        baseline={"model": "unigram", "params": 0, "masked_acc": 0.05, "mlm_loss": 7.0, "n_masked": 900, "when": "word frequencies"}),
    "ablation": ablation_example(),
    "qa_curve": dict(_head("qa_curve"), model="teacher", max_epochs=4, converge_f1=1.0, converged=True, steps=30,
                     epochs=[{"epoch": e, "steps": 10 * e, "seconds": 60.0, "scores": {
                         "generated_dev": {"exact_match": em, "f1": f1, "n": 300},
                         "natural_dev": {"exact_match": em / 2, "f1": f1 / 2, "n": 150}}}
                         for e, em, f1 in ((1, 40.0, 50.0), (2, 60.0, 70.0), (3, 61.0, 70.5))]),
    "qa_metrics": dict(_head("qa_metrics"), dataset="generated", models=[
        {"model": "teacher", "exact_match": 60.0, "f1": 70.0, "n": 200},
        {"model": "student", "exact_match": 52.0, "f1": 63.0, "n": 200},
        {"model": "student_d", "exact_match": 55.0, "f1": 65.5, "n": 200}]),
    "classification_metrics": dict(_head("classification_metrics"), task="sst2", metric="accuracy", models=[
        {"model": "teacher", "score": 90.0, "n": 872}, {"model": "student", "score": 88.0, "n": 872}]),
    "artifacts": dict(_head("artifacts"), artifacts=[
        {"model": m, "format": f, "precision": p, "seq_len": 384, "file": f"{m}_{f}_{p}", "bytes": b, "params": n}
        for m, n in (("teacher", 22_700_000), ("student", 15_600_000), ("student_d", 15_600_000))
        for f, p, b in (("coreml", "fp16", n * 2), ("tflite", "fp32", n * 4), ("tflite", "int8", n))]),
    "parity": dict(_head("parity"), checks=[
        {"model": "student", "format": "tflite", "precision": "fp32", "seq_len": 384, "ran": True, "max_abs_diff": 2e-7,
         "answer_agreement": 1.0, "em_delta": 0.0, "f1_delta": 0.0, "passed": True, "note": ""},
        {"model": "student", "format": "coreml", "precision": "fp16", "seq_len": 384, "ran": False, "max_abs_diff": None,
         "answer_agreement": None, "em_delta": None, "f1_delta": None, "passed": False, "note": "Core ML runs on macOS only"}]),
    "benchmark": benchmark("host"),
}

PATHS = {"mlm_eval": "mlm/distill.json", "ablation": "mlm/ablation.json", "qa_metrics": "qa/generated.json",
         "qa_curve": "qa/teacher_curve.json",
         "classification_metrics": "glue/sst2.json", "artifacts": "artifacts.json", "parity": "parity.json",
         "benchmark": "host/bench.json"}


def example(kind: str) -> dict:
    return copy.deepcopy(EXAMPLES[kind])


def write(root: Path, rel: str, obj) -> Path:
    p = Path(root) / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(obj if isinstance(obj, str) else json.dumps(obj, indent=2))
    return p


def write_all(root: Path, device: bool = True) -> None:
    for kind, rel in PATHS.items():
        write(root, rel, example(kind))
    if device:
        write(root, "device/pixel8.json", benchmark("device", seq_lens=(384,)))
