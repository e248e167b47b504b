"""Accuracy on the device: the apps answer a staged question set (the natural-question dev set or the 50 hand-written
questions, `apps.questions`) with every staged window length of each model, and score EM / F1 with the SQuAD v1.1 rules
of `pipeline.data.squad_metrics`, which SquadMetrics in Java and Swift reproduce.

`staged_questions` is the questions.json the apps stage puts beside the models (one home for its format, which
QuestionSet in Java and Swift reads). `accuracy_block` is the reference for what the apps' AccuracyRunner writes into
the results file: per window length, that file's EM / F1 over every question (parity's quantity, so the report can put
it beside the host's), and the EM / F1 of the app's own answers, each question taking the length the app's window
choice gives it.

`accuracy_cases` writes mobile/fixtures/accuracy.json: the 50 hand-written questions with logits recorded for their
windows at both staged lengths (a 1/8 grid: exact sums, so ties agree bit for bit; most put their peak on the gold
answer, the rest are noise, so both right and wrong answers occur), the predictions Python decodes from them, and
`results_document` a device results file holding the block Python computes from them. The Java and Swift tests run
their AccuracyRunner over the same logits (fake models) and must reach the same answers and EM / F1 to 0.01.
"""
from __future__ import annotations

import random
from pathlib import Path

from pipeline.core import results
from pipeline.data import qa_features, squad_metrics
from pipeline.devices import windows

REPO = Path(__file__).resolve().parents[2]
QUESTIONS = REPO / "pipeline" / "data" / "handwritten_qa.json"
STAGED_NAME = "questions.json"  # in each app's model folder; the apps' model scans skip it
# The question sets the apps stage can stage: files of the qa_data stage's folder (apps.questions).
SETS = ("natural_dev", "handwritten")
# Extra normalisation cases: articles, punctuation, whitespace, case, an answer that normalises to nothing.
METRIC_CASES = [("The Eiffel Tower", "eiffel tower"), ("an apple, a pear.", "Apple pear"), ("the", "the"),
                ("  New   York City ", "new york"), ("2,000 eggs", "2000 eggs"), ("Theatre", "the atre"),
                ("U.S.A.", "usa"), ("", "anything"), ("up to 2,000", "up to 2,000 a day")]
# What the fixture's fake models call themselves: a group as the Android app stages it.
FIXTURE_MODEL = {"runtime": "litert", "runtime_version": "2.3.0", "model": "student", "format": "tflite",
                 "backend": "tflite", "precision": "fp32"}


def staged_questions(name: str, examples: list[dict]) -> dict:
    """questions.json for the apps from qa_data's flat examples (load_squad_file): every gold text kept."""
    if not examples:
        raise ValueError(f"question set {name} is empty")
    return {"question_set": name, "questions": [
        {"id": e["id"], "question": e["question"], "context": e["context"], "answers": [a["text"] for a in e["answers"]]}
        for e in examples]}


def score(prediction: str, golds: list[str]) -> tuple[float, float]:
    return (squad_metrics.best_over_gold(squad_metrics.exact_match, prediction, golds),
            squad_metrics.best_over_gold(squad_metrics.f1, prediction, golds))


def accuracy_block(name: str, questions: list[dict], lengths: list[int], predictions: dict, chosen: list[int],
                   model: dict) -> dict:
    """The results file's "accuracy" block for one model group: predictions[seq_len][i] is that length's answer to
    questions[i], chosen[i] the length the window choice gives question i."""
    n = len(questions)
    rows = []
    for seq_len in lengths:
        scores = [score(p, q["answers"]) for p, q in zip(predictions[seq_len], questions)]
        rows.append({"seq_len": seq_len, "exact_match": 100 * sum(s[0] for s in scores) / n,
                     "f1": 100 * sum(s[1] for s in scores) / n, "chosen": chosen.count(seq_len)})
    mine = [score(predictions[c][i], q["answers"]) for i, (c, q) in enumerate(zip(chosen, questions))]
    entry = dict(model, lengths=rows, window_choice={"exact_match": 100 * sum(s[0] for s in mine) / n,
                                                     "f1": 100 * sum(s[1] for s in mine) / n})
    return {"question_set": name, "questions": n, "entries": [entry]}


def results_document(block: dict) -> dict:
    """A device results file as the app writes it after answering the fixture's questions (one timed entry)."""
    device = {"name": "Pixel 8", "os": "Android 15 (API 35)", "soc": "Tensor G3", "threads": 4}
    scale = {"preset": "demo", "teacher": "embedded", "corpus": "embedded", "device": "Pixel 8"}
    stats = {"n": 2, "mean_ms": 11.5, "median_ms": 11.5, "p90_ms": 11.9, "trimmed_mean_ms": 11.5, "min_ms": 11.0,
             "max_ms": 12.0}
    entry = {k: FIXTURE_MODEL[k] for k in ("runtime", "runtime_version", "model", "precision")}
    entry.update(seq_len=384, load_ms=85.5, stats=stats, peak_mem_mb=212.0, file_bytes=16)
    return results.document("benchmark", scale, source="device", device=device, entries=[entry], accuracy=block)


def examples(path: Path = QUESTIONS) -> list[dict]:
    """The hand-written questions as the qa_data stage reads them (flat examples with answer_start)."""
    from pipeline.data.qa_data import load_squad_file
    return load_squad_file(path, "reject")


def _logits(offsets: list, start_char: int, end_char: int, n: int, rng: random.Random, aim: bool):
    starts = [rng.randint(-40, 40) / 8 for _ in range(n)]
    ends = [rng.randint(-40, 40) / 8 for _ in range(n)]
    if aim:
        inside = [i for i, o in enumerate(offsets) if o is not None and o[0] < end_char and o[1] > start_char]
        if inside:
            starts[inside[0]] += 12
            ends[inside[-1]] += 12
    return starts, ends


def _at_length(tok, ex: dict, setting: dict, rng: random.Random, aim: bool) -> dict:
    """Recorded logits of one question's windows at one length, and the answer Python decodes from them."""
    f = qa_features.prepare_features(tok, [ex["question"]], [ex["context"]], max_seq_length=setting["seq_len"],
                                     doc_stride=setting["doc_stride"], max_query_length=setting["max_query_length"],
                                     token_type_ids=False, pad=True)
    gold = ex["answers"][0]
    logits = [_logits(offs, gold["answer_start"], gold["answer_start"] + len(gold["text"]), setting["seq_len"], rng, aim)
              for offs in f["offset_mapping"]]
    spans = qa_features.decode_spans([a for a, _ in logits], [b for _, b in logits], f["offset_mapping"],
                                     ex["context"], n_best=20, max_answer_length=30)
    return {"seq_len": setting["seq_len"], "start_logits": [a for a, _ in logits], "end_logits": [b for _, b in logits],
            "prediction": spans[0]["text"] if spans else ""}


def fixture_files(tok, rng: random.Random) -> dict[str, dict]:
    """accuracy.json (questions, recorded logits, Python's answers), questions.json (the set as the apps stage writes
    it) and accuracy_results.json (the results file an app writes from those logits, Python's figures)."""
    exs = examples()
    staged = staged_questions("handwritten", exs)
    qs = staged["questions"]
    # The ports' fake models find a window's logits by its token ids: no two questions may share a window.
    assert len({(q["question"], q["context"]) for q in qs}) == len(qs), "duplicate question in the fixture set"
    cases, predictions, chosen = [], {s["seq_len"]: [] for s in windows.PAIR}, []
    for ex, q in zip(exs, qs):
        # Each length aims on its own, so the app's mix of lengths scores unlike either length alone.
        at = [_at_length(tok, ex, s, rng, rng.random() < 0.7) for s in windows.PAIR]
        pick = windows.choose(tok, q["question"], q["context"], windows.PAIR)["seq_len"]
        for a in at:
            predictions[a["seq_len"]].append(a["prediction"])
        chosen.append(pick)
        cases.append(dict(q, chosen_seq_len=pick, lengths=at))
    block = accuracy_block("handwritten", qs, [s["seq_len"] for s in windows.PAIR], predictions, chosen, FIXTURE_MODEL)
    metrics = [{"prediction": p, "gold": g, "em": squad_metrics.exact_match(p, g), "f1": squad_metrics.f1(p, g),
                "normalized": squad_metrics.normalize_answer(p)} for p, g in METRIC_CASES]
    mine = block["entries"][0]["window_choice"]
    cases_file = {"vocab": "vocab.txt", "settings": windows.PAIR, "model": FIXTURE_MODEL, "cases": cases,
                  "metric_cases": metrics, "expected": {"questions": len(qs), "em": mine["exact_match"], "f1": mine["f1"]}}
    return {"accuracy.json": cases_file, STAGED_NAME: staged, "accuracy_results.json": results_document(block)}
