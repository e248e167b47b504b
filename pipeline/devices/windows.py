"""Which staged window length answers a question: the shortest that holds the question and the whole
passage in one window, else the longest, which reads a long passage in overlapping windows.

The apps stage every model at two lengths (apps.short_seq_len and apps.seq_len, 128 and 384 tokens by
default); a model call at 128 tokens costs about a third of one at 384, and most questions over a
paragraph fit. Each length keeps its own window settings (its sidecar's max_query_length and doc_stride,
cut to fit by the export), so the rule asks each length's own settings. The Java and Swift ports
(WindowChoice) reproduce `choose`; `choice_cases` writes mobile/fixtures/window_choice.json, which
proves that all three pick the same length and, from the same logits, the same answer.
"""
from __future__ import annotations

import random

from pipeline.data import qa_features


def window_count(tok, question: str, context: str, setting: dict) -> int:
    """How many windows of this length's settings question + context take (qa_features' rule)."""
    f = qa_features.prepare_features(tok, [question], [context], max_seq_length=setting["seq_len"],
                                     doc_stride=setting["doc_stride"],
                                     max_query_length=setting["max_query_length"], token_type_ids=False)
    return len(f["input_ids"])


def choose(tok, question: str, context: str, settings: list[dict]) -> dict:
    """The setting (dict with seq_len, doc_stride, max_query_length) the apps answer with."""
    ordered = sorted(settings, key=lambda s: s["seq_len"])
    for s in ordered[:-1]:
        if window_count(tok, question, context, s) == 1:
            return s
    return ordered[-1]


# The default staged pair, with the window settings the export records for them (registry.fit_window
# on the demo's QA settings: doc_stride 128 does not fit beside a 64-token question at 128 tokens).
PAIR = [{"seq_len": 128, "max_query_length": 64, "doc_stride": 30},
        {"seq_len": 384, "max_query_length": 64, "doc_stride": 128}]


def _passage(words: int) -> str:
    sentence = "The river rises in the mountains and flows past the old town to the sea"
    base = sentence.split()
    return " ".join(base[i % len(base)] for i in range(words)) + "."


def _boundary_cases(tok) -> list[tuple[str, str]]:
    """A passage that exactly fills one 128-token window beside the question, and the same plus one word."""
    q = "Where does the river flow?"
    words = 1
    while window_count(tok, q, _passage(words + 1), PAIR[0]) == 1:
        words += 1
    return [(q, _passage(words)), (q, _passage(words + 1))]


def choice_cases(tok, rng: random.Random) -> list[dict]:
    """Question/passage pairs around the 128-token boundary, each with the length all ports must choose and,
    for logits on a 1/8 grid (exact sums, so ties agree bit for bit), the answer they must decode."""
    pairs = [("Where does the river flow?", "The river flows past the old town to the sea."),
             ("Who lays the eggs?", "Each colony has a single queen, who lays up to 2,000 eggs a day."),
             ("What " + " ".join(["very"] * 70) + " long question?", _passage(30)),
             ("Where does the river flow?", _passage(400)),
             ("東京は?", "北京是中国的首都。東京も大きい。" * 4)] + _boundary_cases(tok)
    out = []
    for q, c in pairs:
        s = choose(tok, q, c, PAIR)
        f = qa_features.prepare_features(tok, [q], [c], max_seq_length=s["seq_len"], doc_stride=s["doc_stride"],
                                         max_query_length=s["max_query_length"], token_type_ids=False, pad=True)
        n = s["seq_len"]
        starts = [[rng.randint(-80, 80) / 8 for _ in range(n)] for _ in f["input_ids"]]
        ends = [[rng.randint(-80, 80) / 8 for _ in range(n)] for _ in f["input_ids"]]
        spans = qa_features.decode_spans(starts, ends, f["offset_mapping"], c, n_best=20, max_answer_length=30)
        out.append({"question": q, "context": c, "settings": PAIR, "chosen_seq_len": n,
                    "windows": [window_count(tok, q, c, p) for p in PAIR],
                    "start_logits": starts, "end_logits": ends, "expected": spans[0] if spans else None})
    return out
