"""Accuracy on the device, checked here: the apps answer a question set (the 50 hand-written questions,
`pipeline/data/handwritten_qa.json`, which the apps stage beside the models) and score EM / F1 with the SQuAD
v1.1 rules of `pipeline.data.squad_metrics`, which SquadMetrics in Java and Swift reproduce.

`accuracy_cases` writes mobile/fixtures/accuracy.json: every question with its chosen window length, logits
recorded for its windows (a 1/8 grid: exact sums, so ties agree bit for bit; most put their peak on the gold
answer, the rest are noise, so both right and wrong answers occur), and the prediction, EM and F1 Python gets
from them. The Java and Swift tests decode the same logits through their own window choice, features and span
decoder and must reach the same answers and the same EM / F1 to 0.01.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

from pipeline.data import qa_features, squad_metrics
from pipeline.devices import windows

REPO = Path(__file__).resolve().parents[2]
QUESTIONS = REPO / "pipeline" / "data" / "handwritten_qa.json"
# Extra normalisation cases: articles, punctuation, whitespace, case, an answer that normalises to nothing.
METRIC_CASES = [("The Eiffel Tower", "eiffel tower"), ("an apple, a pear.", "Apple pear"), ("the", "the"),
                ("  New   York City ", "new york"), ("2,000 eggs", "2000 eggs"), ("Theatre", "the atre"),
                ("U.S.A.", "usa"), ("", "anything"), ("up to 2,000", "up to 2,000 a day")]


def questions(path: Path = QUESTIONS) -> list[dict]:
    data = json.loads(path.read_text())["data"]
    return [{"id": qa["id"], "question": qa["question"], "context": p["context"],
             "answers": [a["text"] for a in qa["answers"]], "answer_start": qa["answers"][0]["answer_start"]}
            for article in data for p in article["paragraphs"] for qa in p["qas"]]


def _logits(offsets: list, start_char: int, end_char: int, n: int, rng: random.Random, aim: bool):
    starts = [rng.randint(-40, 40) / 8 for _ in range(n)]
    ends = [rng.randint(-40, 40) / 8 for _ in range(n)]
    if aim:
        inside = [i for i, o in enumerate(offsets) if o is not None and o[0] < end_char and o[1] > start_char]
        if inside:
            starts[inside[0]] += 12
            ends[inside[-1]] += 12
    return starts, ends


def accuracy_cases(tok, rng: random.Random) -> dict:
    cases, preds, golds = [], {}, {}
    for q in questions():
        s = windows.choose(tok, q["question"], q["context"], windows.PAIR)
        f = qa_features.prepare_features(tok, [q["question"]], [q["context"]], max_seq_length=s["seq_len"],
                                         doc_stride=s["doc_stride"], max_query_length=s["max_query_length"],
                                         token_type_ids=False, pad=True)
        aim = rng.random() < 0.7
        end_char = q["answer_start"] + len(q["answers"][0])
        logits = [_logits(offs, q["answer_start"], end_char, s["seq_len"], rng, aim) for offs in f["offset_mapping"]]
        spans = qa_features.decode_spans([a for a, _ in logits], [b for _, b in logits], f["offset_mapping"],
                                         q["context"], n_best=20, max_answer_length=30)
        pred = spans[0]["text"] if spans else ""
        preds[q["id"]], golds[q["id"]] = pred, q["answers"]
        cases.append({"id": q["id"], "question": q["question"], "context": q["context"], "answers": q["answers"],
                      "chosen_seq_len": s["seq_len"], "start_logits": [a for a, _ in logits],
                      "end_logits": [b for _, b in logits], "prediction": pred,
                      "em": squad_metrics.best_over_gold(squad_metrics.exact_match, pred, q["answers"]),
                      "f1": squad_metrics.best_over_gold(squad_metrics.f1, pred, q["answers"])})
    total = squad_metrics.evaluate(preds, golds)
    metrics = [{"prediction": p, "gold": g, "em": squad_metrics.exact_match(p, g), "f1": squad_metrics.f1(p, g),
                "normalized": squad_metrics.normalize_answer(p)} for p, g in METRIC_CASES]
    return {"vocab": "vocab.txt", "settings": windows.PAIR, "cases": cases, "metric_cases": metrics,
            "expected": {"questions": total["n"], "em": total["exact_match"], "f1": total["f1"]}}
