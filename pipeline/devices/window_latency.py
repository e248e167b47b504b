"""Host end-to-end latency (tokenize + model + decode) of the 50 hand-written questions, answered as the
apps answer them: with the window choice (the 128-token file when question and passage fit one window,
else the 384-token one) against always the 384-token file, per runtime the phones use.

    python pipeline/devices/window_latency.py --export runs/demo/export [--model student --precision int8]

Each question is answered `--repeats` times per setting after one warm-up pass; a question's latency is
the median of its repeats. Also prints how often each length was chosen and F1 against the gold answers
for both settings (the answers may differ where the 384 window sees more of a passage).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from pipeline.data import squad_metrics
from pipeline.devices.host_qa import StagedModel

REPO = Path(__file__).resolve().parents[2]
QUESTIONS = REPO / "pipeline" / "data" / "handwritten_qa.json"
RUNTIMES = {"executorch": "pte", "tflite": "tflite"}


def questions() -> list[dict]:
    data = json.loads(QUESTIONS.read_text())["data"]
    return [{"question": qa["question"], "context": p["context"], "answers": [a["text"] for a in qa["answers"]]}
            for article in data for p in article["paragraphs"] for qa in p["qas"]]


def timed(model: StagedModel, qs: list[dict], lengths: list[int], repeats: int) -> tuple[list[float], list[str]]:
    """Per question: the median end-to-end ms over repeats, and the answer."""
    for q, n in zip(qs, lengths):  # warm-up: first calls pay allocation and weight packing
        model.answer(q["question"], q["context"], n)
    medians, answers = [], []
    for q, n in zip(qs, lengths):
        runs = [model.answer(q["question"], q["context"], n) for _ in range(repeats)]
        medians.append(statistics.median(sum(ms[k] for k in ("tokenize", "model", "decode")) for _, ms in runs))
        answers.append(runs[0][0])
    return medians, answers


def f1(answers: list[str], qs: list[dict]) -> float:
    return 100 * statistics.mean(max(squad_metrics.f1(a, g) for g in q["answers"]) for a, q in zip(answers, qs))


def measure(export: Path, fmt: str, model: str, precision: str, repeats: int, threads: int) -> dict:
    sidecars = sorted(export.glob(f"{model}.{fmt}.{precision}.*.{RUNTIMES[fmt]}.json"))
    if len(sidecars) < 2:
        raise SystemExit(f"error: need {model} {fmt} {precision} at two window lengths in {export}, found "
                         f"{[p.name for p in sidecars]}")
    staged = StagedModel(sidecars, threads)
    qs = questions()
    chosen = [staged.choose(q["question"], q["context"]) for q in qs]
    longest = [max(m["seq_len"] for m in staged.lengths)] * len(qs)
    t_choice, a_choice = timed(staged, qs, chosen, repeats)
    t_long, a_long = timed(staged, qs, longest, repeats)
    return {"runtime": fmt, "questions": len(qs), "chose_short": sum(c < longest[0] for c in chosen),
            "median_choice_ms": statistics.median(t_choice), "median_long_ms": statistics.median(t_long),
            "mean_choice_ms": statistics.mean(t_choice), "mean_long_ms": statistics.mean(t_long),
            "f1_choice": f1(a_choice, qs), "f1_long": f1(a_long, qs),
            "same_answer": sum(a == b for a, b in zip(a_choice, a_long))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--export", required=True, type=Path, help="export folder with both window lengths")
    ap.add_argument("--model", default="student")
    ap.add_argument("--precision", default="int8")
    ap.add_argument("--runtimes", default="executorch,tflite")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    print("runtime     questions  chose 128  median e2e ms (choice / 384)  speed-up  mean ms (choice / 384)"
          "  F1 (choice / 384)  same answer")
    for fmt in args.runtimes.split(","):
        r = measure(args.export, fmt, args.model, args.precision, args.repeats, args.threads)
        print(f"{r['runtime']:<11} {r['questions']:>9}  {r['chose_short']:>9}  {r['median_choice_ms']:>12.1f} / "
              f"{r['median_long_ms']:<12.1f} {r['median_long_ms'] / r['median_choice_ms']:>7.2f}x  "
              f"{r['mean_choice_ms']:>9.1f} / {r['mean_long_ms']:<10.1f}  {r['f1_choice']:>6.1f} / {r['f1_long']:<6.1f}"
              f"  {r['same_answer']:>6}/{r['questions']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
