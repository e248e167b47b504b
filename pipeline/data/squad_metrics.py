"""SQuAD v1.1 exact match and F1, with the official answer normalisation.

Normalisation (in this order, as the official v1.1 script does): lower case, drop every
ASCII punctuation character, drop the whole words a / an / the, collapse whitespace.
Per question the score is the maximum over its gold answers; the data-set figures are
means over questions, in percent.
"""
from __future__ import annotations

import re
import string
from collections import Counter

_PUNCT = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1(prediction: str, gold: str) -> float:
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        # Includes the case where one side normalises to nothing (e.g. the answer "the").
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def best_over_gold(metric, prediction: str, golds: list[str]) -> float:
    if not golds:
        raise ValueError("a question needs at least one gold answer")
    return max(metric(prediction, g) for g in golds)


def evaluate(predictions: dict[str, str], gold_answers: dict[str, list[str]]) -> dict:
    """{'exact_match': %, 'f1': %, 'n': questions}; a question with no prediction scores 0."""
    if not gold_answers:
        return {"exact_match": 0.0, "f1": 0.0, "n": 0}
    em = f = 0.0
    for qid, golds in gold_answers.items():
        pred = predictions.get(qid, "")
        em += best_over_gold(exact_match, pred, golds)
        f += best_over_gold(f1, pred, golds)
    n = len(gold_answers)
    return {"exact_match": 100.0 * em / n, "f1": 100.0 * f / n, "n": n}
