"""The natural-question sets the project ships: pipeline/data/natural_qa_train.json and natural_qa_dev.json.

They are committed SQuAD v1.1 JSON, built once by this module's command line from a corpus run's
documents.jsonl (docstrings depend on the installed package versions, so the qa_data stage never rebuilds
them; it only reads them):

    python -m pipeline.data.natural_qa --corpus runs/demo/corpus --seed 0

Passages come from three places, each article records its "source" and "licence":
* passages the project wrote (written_passages.json, plain-English general knowledge, 4-6 questions each),
  split between train and dev, except those marked "split": "train" (added later, so that the dev half
  stays the same questions), which go to train;
* corpus docstrings, with questions from their own structure (questions.docstring_questions) and
  translated wh-questions from their prose (questions.sentence_questions, translated ones only);
* the 50 hand-written questions (handwritten_qa.json, the apps' demo content), dev only.
No passage is used by both sets.
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from pipeline.data import questions as Q
from pipeline.data.qa_data import HANDWRITTEN, NATURAL_DEV as DEV, NATURAL_TRAIN as TRAIN, WRITTEN, read_documents

PROJECT_LICENCE = "project-written; DistilKit's licence"
LICENCES = {"stdlib": "PSF-2.0 (Python documentation)", "pydoc": "PSF-2.0 (Python documentation)",
            "numpy": "BSD-3-Clause", "torch": "BSD-3-Clause", "matplotlib": "Matplotlib licence (PSF-based)",
            "transformers": "Apache-2.0", "datasets": "Apache-2.0"}
PER_PASSAGE = 5  # questions kept per corpus passage, so no single long docstring dominates


def _ex(qid: str, title: str, context: str, question: str, start: int, answer: str, kind: str) -> dict:
    assert context[start:start + len(answer)] == answer, (qid, answer)
    return {"id": qid, "title": title, "context": context, "question": question, "kind": kind,
            "answers": [{"text": answer, "answer_start": start}]}


def written_examples(titles: list[str] | None = None) -> list[dict]:
    """The project-written passages as flat examples (the first occurrence of each answer text is the span)."""
    out = []
    for p in json.loads(WRITTEN.read_text()):
        if titles is not None and p["title"] not in titles:
            continue
        slug = p["title"].lower().replace(" ", "-")
        for i, (question, answer) in enumerate(p["qas"], 1):
            start = p["context"].index(answer)
            out.append(_ex(f"nat-{slug}-{i}", p["title"], p["context"], question, start, answer, "written"))
    return out


def corpus_examples(doc_id: str, text: str, rng: random.Random) -> list[dict]:
    """Template and translated questions for one document, at most PER_PASSAGE per passage."""
    out = []
    passage = Q.docstring_passage(text)
    qs = Q.docstring_questions(doc_id, passage)
    rng.shuffle(qs)
    params = [q for q in qs if q[3] == "doc_param"][:2]  # argument questions are plentiful; keep the mix varied
    qs = [q for q in qs if q[3] != "doc_param"] + params
    for i, (question, start, answer, kind) in enumerate(qs[:PER_PASSAGE]):
        out.append(_ex(f"nat-{doc_id}-d{i}", doc_id, passage, question, start, answer, kind))
    for pi, para in enumerate(Q.passages(text)):
        wh = [q for q in Q.sentence_questions(para, rng, "wh") if q[4] == "wh"]
        for si, question, start, answer, kind in wh[:PER_PASSAGE]:
            out.append(_ex(f"nat-{doc_id}-p{pi}-{si}", doc_id, para, question, start, answer, kind))
    return out


def _corpus_split(docs: list[tuple[str, str]], seed: int, n_train: int, n_dev: int) -> tuple[list, list]:
    """Corpus questions, dev first, whole documents to one side; 3+ questions per passage only."""
    rng = random.Random(seed)
    order = sorted(docs)
    rng.shuffle(order)
    train, dev, seen = [], [], set()
    for doc_id, text in order:
        if len(train) >= n_train and len(dev) >= n_dev:
            break
        exs = corpus_examples(doc_id, text, random.Random(f"{seed}:{doc_id}"))
        by_ctx: dict[str, list] = {}
        for e in exs:
            by_ctx.setdefault(e["context"], []).append(e)
        exs = [e for ctx, group in by_ctx.items() if len(group) >= 3 and ctx not in seen for e in group]
        seen.update(by_ctx)  # libraries repeat docstrings verbatim: a passage goes to one side only
        if exs:
            (dev if len(dev) < n_dev else train).extend(exs)
    return train, dev


def _licence(ex: dict) -> tuple[str, str]:
    if ex["kind"] == "written":
        return "written_passages.json", PROJECT_LICENCE
    if ex["kind"] == "handwritten":
        return "handwritten_qa.json", PROJECT_LICENCE
    package = ex["title"].split(":")[0]
    return f"corpus docstring ({package})", LICENCES.get(package, "see the package's licence")


def to_squad_with_sources(examples: list[dict]) -> dict:
    """SQuAD v1.1 JSON; each article also carries 'source' and 'licence', each question its 'kind'."""
    articles: dict[str, dict] = {}
    for ex in examples:
        source, licence = _licence(ex)
        art = articles.setdefault(ex["title"], {"title": ex["title"], "source": source, "licence": licence,
                                                "paragraphs": []})
        para = next((p for p in art["paragraphs"] if p["context"] == ex["context"]), None)
        if para is None:
            para = {"context": ex["context"], "qas": []}
            art["paragraphs"].append(para)
        para["qas"].append({"id": ex["id"], "question": ex["question"], "kind": ex["kind"],
                            "answers": ex["answers"]})
    return {"version": "1.1", "data": list(articles.values())}


def build(docs: list[tuple[str, str]], seed: int = 0, n_corpus_train: int = 650,
          n_corpus_dev: int = 60) -> tuple[dict, dict]:
    """(train, dev) SQuAD JSON of the natural sets; a pure function of (docs, seed)."""
    passages = json.loads(WRITTEN.read_text())
    titles = sorted(p["title"] for p in passages if "split" not in p)
    random.Random(seed).shuffle(titles)
    half = len(titles) // 2
    train_only = [p["title"] for p in passages if p.get("split") == "train"]
    c_train, c_dev = _corpus_split(docs, seed, n_corpus_train, n_corpus_dev)
    hand = []
    for art in json.loads(HANDWRITTEN.read_text())["data"]:
        for para in art["paragraphs"]:
            for qa in para["qas"]:
                a = qa["answers"][0]
                hand.append(_ex(qa["id"], art["title"], para["context"], qa["question"], a["answer_start"],
                                a["text"], "handwritten"))
    train = written_examples(titles[:half] + train_only) + c_train
    dev = hand + written_examples(titles[half:]) + c_dev
    return to_squad_with_sources(train), to_squad_with_sources(dev)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="Rebuild the shipped natural-question sets from a corpus run.")
    ap.add_argument("--corpus", required=True, help="a corpus stage's output folder (holding documents.jsonl)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(TRAIN.parent), help="folder for natural_qa_train.json and natural_qa_dev.json")
    args = ap.parse_args(argv)
    train, dev = build(read_documents(Path(args.corpus)), args.seed)
    for name, data in (("natural_qa_train.json", train), ("natural_qa_dev.json", dev)):
        (Path(args.out) / name).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
        n = sum(len(p["qas"]) for a in data["data"] for p in a["paragraphs"])
        print(f"{name}: {n} questions over {sum(len(a['paragraphs']) for a in data['data'])} passages")


if __name__ == "__main__":
    main()
