"""Augmented copies of QA examples for task-specific distillation (Tang et al. 2019, "Distilling
task-specific knowledge from BERT into simple neural networks", section 3.3).

The (D) step learns from the teacher's soft start/end distributions, so its examples need no gold label
beyond a valid span; a copy of a training example with some passage words masked, or with only a window
of its sentences kept, still carries a correct answer and gives the teacher a new input to be imitated on.
* masking: each passage word outside the answer becomes MASK with probability mask_prob;
* n-gram sampling: with probability ngram_prob only a window of 1-5 consecutive sentences containing the
  answer sentence is kept (Tang et al. sample word n-grams; whole sentences keep the passage readable).
The answer text is never touched and answer_start is recomputed, so every copy is valid SQuAD.
"""
from __future__ import annotations

import random
import re

from pipeline.data.questions import SENT_END

MASK = "[MASK]"


def _sentence_window(context: str, start: int, end: int, rng: random.Random) -> tuple[str, int]:
    """(shorter context, offset it starts at) keeping 1-5 sentences around [start, end)."""
    bounds, pos = [], 0
    for sent in SENT_END.split(context):
        at = context.index(sent, pos)
        bounds.append((at, at + len(sent)))
        pos = at + len(sent)
    first = next(i for i, (a, b) in enumerate(bounds) if b > start)
    last = next(i for i, (a, b) in enumerate(bounds) if b >= end)
    size = min(len(bounds), max(rng.randint(1, 5), last - first + 1))
    lo = rng.randint(max(0, last + 1 - size), min(first, len(bounds) - size))
    hi = lo + size
    a, b = bounds[lo][0], bounds[hi - 1][1]
    return context[a:b], a


def _mask_words(text: str, keep: tuple[int, int], prob: float, rng: random.Random) -> tuple[str, int]:
    """(masked text, new start of the kept span); words overlapping `keep` are left alone."""
    out, shift, new_start = [], 0, None
    last = 0
    for m in re.finditer(r"\S+", text):
        out.append(text[last:m.start()])
        if m.start() >= keep[0] and new_start is None:
            new_start = keep[0] + shift
        word = m.group()
        overlaps = m.start() < keep[1] and m.end() > keep[0]
        if not overlaps and rng.random() < prob:
            shift += len(MASK) - len(word)
            word = MASK
        out.append(word)
        last = m.end()
    out.append(text[last:])
    return "".join(out), keep[0] + shift if new_start is None else new_start


def augment(example: dict, rng: random.Random, mask_prob: float, ngram_prob: float, tag: str) -> dict:
    """One augmented copy of a flat SQuAD example (its first answer is the one kept)."""
    ans = example["answers"][0]
    start, end = ans["answer_start"], ans["answer_start"] + len(ans["text"])
    context = example["context"]
    if rng.random() < ngram_prob:
        context, offset = _sentence_window(context, start, end, rng)
        start, end = start - offset, end - offset
    context, start = _mask_words(context, (start, end), mask_prob, rng)
    assert context[start:start + len(ans["text"])] == ans["text"], (example["id"], tag)
    return {"id": f"{example['id']}-aug{tag}", "title": example["title"], "context": context,
            "question": example["question"], "answers": [{"text": ans["text"], "answer_start": start}]}


def augmented_copies(examples: list[dict], n: int, seed: int, mask_prob: float, ngram_prob: float) -> list[dict]:
    """n augmented copies, cycling through the examples in a seed-shuffled order; deterministic for the seed."""
    if not examples or n <= 0:
        return []
    rng = random.Random(f"augment:{seed}")
    order = list(range(len(examples)))
    rng.shuffle(order)
    return [augment(examples[order[i % len(order)]], rng, mask_prob, ngram_prob, str(i)) for i in range(n)]
