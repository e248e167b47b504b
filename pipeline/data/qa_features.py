"""Extractive-QA features (question + context -> model windows) and span decoding.

This module is the reference the iOS (Swift) and Android (Java) apps reproduce token for
token; golden fixtures for those ports are generated from it. Change the behaviour here
only together with the ports.

Window semantics (what `prepare_features` produces for one question/context pair)
-------------------------------------------------------------------------------
1. The question is stripped of leading/trailing whitespace and tokenized WITHOUT special
   tokens. If it has more than `max_query_length` tokens, only the first
   `max_query_length` are kept (the question text is cut right after the character where
   token number `max_query_length` ends, then re-tokenized; WordPiece is greedy
   longest-match-first, so this gives exactly those tokens).
2. The context is tokenized WITHOUT special tokens, with character offsets into the
   ORIGINAL context string (the tokenizer's normaliser lower-cases / strips accents, but
   offsets always index the string the caller passed in). Call these context tokens
   c[0..N-1].
3. Each window is `[CLS] q[0..Q-1] [SEP] c[s..e] [SEP]`, so at most
   M = max_seq_length - Q - 3 context tokens fit in one window.
4. Windows start at s = 0, K, 2K, ... with K = M - doc_stride: consecutive windows SHARE
   `doc_stride` context tokens (doc_stride is the overlap, as in Hugging Face's
   `stride`, NOT the step of the original BERT script). Window k holds
   c[kK .. min(kK + M, N) - 1]. Windows are emitted until one reaches c[N-1]; a context
   that fits (N <= M) gives exactly one window. M must be larger than doc_stride.
5. token_type_ids (only when asked: BERT yes, DistilBERT no) are 0 for [CLS], the
   question and the first [SEP], 1 for the context tokens and the final [SEP].
6. offset_mapping holds (start_char, end_char) for context tokens, with end exclusive,
   and None for [CLS], [SEP], question tokens and padding.
7. No padding unless `pad=True`, which pads every window to max_seq_length with the pad
   id (0 for BERT vocabularies), attention_mask 0, token_type_ids 0 and offset None.

Decoding semantics (`decode_spans`) are described in its docstring.
"""
from __future__ import annotations

import math
from typing import Sequence


def _truncate_question(tokenizer, question: str, max_query_length: int) -> str:
    question = question.strip()
    enc = tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)
    offsets = enc["offset_mapping"]
    if len(offsets) <= max_query_length:
        return question
    return question[: offsets[max_query_length - 1][1]]


def prepare_features(tokenizer, questions: list[str], contexts: list[str], *,
                     max_seq_length: int = 384, doc_stride: int = 128, max_query_length: int = 64,
                     token_type_ids: bool, pad: bool = False) -> dict:
    """Tokenize question/context pairs into overlapping windows (see the module docstring).

    `tokenizer` must be a Hugging Face *fast* tokenizer (offsets come from `tokenizers`).
    Returns a dict of per-window lists: input_ids, attention_mask, token_type_ids (only
    when `token_type_ids` is true), offset_mapping (char (start, end) tuples for context
    tokens, None elsewhere) and example_index (which input pair the window came from).
    """
    if len(questions) != len(contexts):
        raise ValueError(f"{len(questions)} questions but {len(contexts)} contexts")
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("prepare_features needs a fast tokenizer (offset mapping)")
    out = {"input_ids": [], "attention_mask": [], "offset_mapping": [], "example_index": []}
    if token_type_ids:
        out["token_type_ids"] = []
    if not questions:
        return out
    qs = [_truncate_question(tokenizer, q, max_query_length) for q in questions]
    enc = tokenizer(qs, list(contexts), truncation="only_second", max_length=max_seq_length,
                    stride=doc_stride, return_overflowing_tokens=True, return_offsets_mapping=True,
                    return_token_type_ids=True, padding="max_length" if pad else False)
    for i in range(len(enc["input_ids"])):
        seq_ids = enc.sequence_ids(i)
        out["input_ids"].append(list(enc["input_ids"][i]))
        out["attention_mask"].append(list(enc["attention_mask"][i]))
        if token_type_ids:
            out["token_type_ids"].append(list(enc["token_type_ids"][i]))
        out["offset_mapping"].append([tuple(o) if s == 1 else None
                                      for o, s in zip(enc["offset_mapping"][i], seq_ids)])
        out["example_index"].append(int(enc["overflow_to_sample_mapping"][i]))
    return out


def _top_indices(logits: Sequence[float], n: int) -> list[int]:
    # Stable order: higher logit first, equal logits by lower index, so ports agree on ties.
    return sorted(range(len(logits)), key=lambda i: (-logits[i], i))[:n]


def decode_spans(start_logits, end_logits, offset_mappings, context: str, *,
                 n_best: int = 20, max_answer_length: int = 30) -> list[dict]:
    """Best answer spans of ONE example over all of its windows, best first.

    start_logits / end_logits / offset_mappings are per-window sequences (logit arrays may
    be longer than the offsets, e.g. padded batches: positions past the offsets are
    ignored). In every window the `n_best` highest start positions are paired with the
    `n_best` highest end positions (ties: lower position first); a pair is kept when both
    positions are context tokens (offset not None), end >= start and
    end - start + 1 <= max_answer_length. score = start_logit + end_logit. The answer text
    is context[offset[start][0]:offset[end][1]]. The same character span found in several
    windows is listed once, with its best score. Order: score descending, then start_char,
    then end_char ascending. An empty list means no valid span.
    """
    best: dict[tuple[int, int], float] = {}
    for starts, ends, offsets in zip(start_logits, end_logits, offset_mappings):
        n = len(offsets)
        starts = [float(x) for x in list(starts)[:n]]
        ends = [float(x) for x in list(ends)[:n]]
        for s in _top_indices(starts, n_best):
            if offsets[s] is None:
                continue
            for e in _top_indices(ends, n_best):
                if offsets[e] is None or e < s or e - s + 1 > max_answer_length:
                    continue
                span = (int(offsets[s][0]), int(offsets[e][1]))
                score = starts[s] + ends[e]
                if not math.isnan(score) and score > best.get(span, -math.inf):
                    best[span] = score
    ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1]))
    return [{"text": context[a:b], "start_char": a, "end_char": b, "score": sc} for (a, b), sc in ranked]


def best_answers(examples, example_index, offset_mappings, start_logits, end_logits, *,
                 n_best: int = 20, max_answer_length: int = 30) -> dict:
    """{example id: best answer text ('' when no valid span)} from per-window logits.

    example_index[w] names the example window w belongs to (as prepare_features returns it);
    each example is decoded over all of its windows with `decode_spans`. Fine-tuning
    evaluation and the parity gate both predict through here."""
    by_example: dict[int, list[int]] = {}
    for w, ex in enumerate(example_index):
        by_example.setdefault(ex, []).append(w)
    out = {}
    for i, ex in enumerate(examples):
        ws = by_example.get(i, [])
        spans = decode_spans([start_logits[w] for w in ws], [end_logits[w] for w in ws],
                             [offset_mappings[w] for w in ws], ex["context"],
                             n_best=n_best, max_answer_length=max_answer_length)
        out[ex["id"]] = spans[0]["text"] if spans else ""
    return out
