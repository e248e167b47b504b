"""QA data stage: SQuAD v1.1 files, `datasets` SQuAD (hf:rajpurkar/squad), or questions generated from the corpus.

Outputs (all in SQuAD v1.1 JSON): train.json (everything the models train on), dev.json (generated or
given dev), natural_dev.json (the shipped natural-question dev set, pipeline/data/natural_qa_dev.json,
which includes the hand-written questions), handwritten.json (pipeline/data/handwritten_qa.json, the
apps' demo content), natural_test.json (pipeline/data/test_passages.json: questions over passages written for
the test set, which no setting was chosen on), extra.json (qa.extra_examples examples for the (D) step only), plus meta.json
naming the data sets for the results files.

The generated set follows the "unsupervised QA by cloze" recipe (questions.py): in a prose sentence one
span is the answer, and the sentence becomes a wh-question (qa.questions = "wh", where the rules make a
clean one) or a cloze. With generated training data the shipped natural-question training set
(natural_qa.py builds it) is added (qa.natural_train). Train and dev come from disjoint documents, no
training passage is a natural-dev passage, and everything is a pure function of the corpus and the seed.
"""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

from tqdm import tqdm

from pipeline.config import UserError
from pipeline.data import augment
from pipeline.data import questions as Q
from pipeline.core.runs import log, read_json

HANDWRITTEN = Path(__file__).resolve().parent / "handwritten_qa.json"
NATURAL_TRAIN = Path(__file__).resolve().parent / "natural_qa_train.json"  # built by pipeline/data/natural_qa.py
NATURAL_DEV = Path(__file__).resolve().parent / "natural_qa_dev.json"
WRITTEN = Path(__file__).resolve().parent / "written_passages.json"  # the project's own passages, in both sets
# Passages and questions written for the test set alone: no trial and no setting choice reads them.
TEST_PASSAGES = Path(__file__).resolve().parent / "test_passages.json"

# --------------------------------------------------------------------------- SQuAD reading


def _check_qa(qa, context: str) -> tuple[str, str | None]:
    """(example id, problem or None) for one entry of a paragraph's 'qas' list."""
    if not isinstance(qa, dict):
        return "?", "entry is not an object"
    qid = str(qa.get("id", "?"))
    if not isinstance(qa.get("id"), (str, int)):
        return qid, "missing 'id'"
    if not isinstance(qa.get("question"), str) or not qa["question"].strip():
        return qid, "missing or empty 'question'"
    answers = qa.get("answers")
    if not isinstance(answers, list) or not answers:
        return qid, "missing or empty 'answers'"
    for a in answers:
        if not isinstance(a, dict) or not isinstance(a.get("text"), str) or not a["text"]:
            return qid, "an answer has no 'text'"
        start = a.get("answer_start")
        if not isinstance(start, int) or isinstance(start, bool):
            return qid, "an answer has no integer 'answer_start'"
        if context[start:start + len(a["text"])] != a["text"]:
            return qid, (f"answer {a['text']!r} is not at answer_start {start} of the context "
                         f"(found {context[start:start + len(a['text'])]!r})")
    return qid, None


def parse_squad(data, where: str, on_bad: str = "skip") -> list[dict]:
    """SQuAD v1.1 JSON object -> flat examples {id, title, context, question, answers: [{text, answer_start}]}.

    Bad examples are reported by id and skipped, or rejected (UserError) when on_bad is 'reject'.
    """
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise UserError(f"{where}: not SQuAD v1.1 JSON (no top-level 'data' list)")
    examples, bad = [], []
    for ai, article in enumerate(data["data"]):
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            raise UserError(f"{where}: article {ai} has no 'paragraphs' list")
        title = str(article.get("title", ""))
        for pi, para in enumerate(paragraphs):
            if not isinstance(para, dict) or not isinstance(para.get("context"), str) \
                    or not isinstance(para.get("qas"), list):
                raise UserError(f"{where}: article {ai} paragraph {pi} needs a 'context' string and a 'qas' list")
            for qa in para["qas"]:
                qid, problem = _check_qa(qa, para["context"])
                if problem:
                    if on_bad == "reject":
                        raise UserError(f"{where}: example {qid}: {problem} (set --qa.on_bad_example skip to skip it)")
                    bad.append(qid)
                    log(f"warning: {where}: skipping example {qid}: {problem}")
                    continue
                examples.append({"id": str(qa["id"]), "title": title, "context": para["context"],
                                 "question": qa["question"],
                                 "answers": [{"text": a["text"], "answer_start": a["answer_start"]}
                                             for a in qa["answers"]]})
    if bad:
        log(f"warning: {where}: skipped {len(bad)} malformed example(s)")
    ids = [e["id"] for e in examples]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise UserError(f"{where}: example id {dup} occurs more than once")
    return examples


def load_squad_file(path, on_bad: str = "skip") -> list[dict]:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"SQuAD file not found: {path}")
    return parse_squad(read_json(path, "SQuAD file"), str(path), on_bad)


def to_squad(examples: list[dict]) -> dict:
    """Flat examples -> SQuAD v1.1 JSON, one paragraph per distinct (title, context)."""
    articles: dict[str, dict] = {}
    for ex in examples:
        art = articles.setdefault(ex["title"], {"title": ex["title"], "paragraphs": [], "_by_ctx": {}})
        para = art["_by_ctx"].get(ex["context"])
        if para is None:
            para = art["_by_ctx"][ex["context"]] = {"context": ex["context"], "qas": []}
            art["paragraphs"].append(para)
        para["qas"].append({"id": ex["id"], "question": ex["question"], "answers": ex["answers"]})
    for art in articles.values():
        del art["_by_ctx"]
    return {"version": "1.1", "data": list(articles.values())}


SQUAD_COLUMNS = ("id", "title", "context", "question", "answers")


def load_hf_squad(split: str, spec: str = "squad", on_bad: str = "skip") -> list[dict]:
    """SQuAD v1.1 examples from a `datasets` id or local Hub-layout folder (see pipeline/data/hf_data.py).

    The rows go through the same checks as a SQuAD JSON file, so a copy whose answers do not sit
    at their answer_start is reported like a bad file."""
    from pipeline.data import hf_data
    path, config = hf_data.parse(spec)
    what = f"qa source 'hf:{spec}' ({split})"
    ds = hf_data.load(path, config, what=what, split=split)
    hf_data.require_columns(ds, SQUAD_COLUMNS, what)
    examples = []
    for r in hf_data.iter_rows(ds, what):
        answers = r["answers"]
        # The Hub's Parquet holds a struct of lists; a copy written as a list of structs reads the other way.
        if isinstance(answers, list) and all(isinstance(a, dict) for a in answers):
            answers = {"text": [a.get("text") for a in answers], "answer_start": [a.get("answer_start") for a in answers]}
        if not isinstance(answers, dict) or not {"text", "answer_start"} <= set(answers):
            raise UserError(f"{what}: 'answers' must hold 'text' and 'answer_start' lists, got {answers!r}"[:300])
        examples.append({"id": r["id"], "title": r["title"], "context": r["context"], "question": r["question"],
                         "answers": [{"text": t, "answer_start": s}
                                     for t, s in zip(answers["text"], answers["answer_start"])]})
    kept = parse_squad(to_squad(examples), what, on_bad)
    order = {e["id"]: i for i, e in enumerate(examples)}  # to_squad groups by title; keep the rows' order
    return sorted(kept, key=lambda e: order[e["id"]])


def hf_squad_name(spec: str) -> str:
    """Results are filed by data-set name: the Hub's SQuAD (or a copy of it) keeps the paper's name."""
    from pipeline.data import hf_data
    path, _ = hf_data.parse(spec)
    if path == "rajpurkar/squad":
        return "squad_v1.1"
    folder = Path(path)
    if not (folder / "README.md").is_file() and (folder.parent / "README.md").is_file():
        folder = folder.parent  # a config sub-folder of a local copy: name it after the copy
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", folder.name)


# --------------------------------------------------------------------------- cloze generation

def cloze_questions(doc_id: str, text: str, rng: random.Random, mode: str = "cloze") -> list[dict]:
    """Questions for one document: at most one per sentence of every prose passage ('wh' or 'cloze'), and with
    'wh+doc' also the docstring-template questions of questions.docstring_questions."""
    out = []
    for pi, passage in enumerate(Q.passages(text)):
        for si, question, start, answer, kind in Q.sentence_questions(passage, rng, mode.split("+")[0]):
            out.append({"id": f"gen-{doc_id}-{pi}-{si}", "title": doc_id, "context": passage, "question": question,
                        "answers": [{"text": answer, "answer_start": start}]})
    if mode == "wh+doc":
        passage = Q.docstring_passage(text)
        for i, (question, start, answer, _) in enumerate(Q.docstring_questions(doc_id, passage)):
            out.append({"id": f"gen-{doc_id}-d{i}", "title": doc_id, "context": passage, "question": question,
                        "answers": [{"text": answer, "answer_start": start}]})
    return out


def read_documents(corpus_dir: Path) -> list[tuple[str, str]]:
    path = Path(corpus_dir) / "documents.jsonl"
    if not path.is_file():
        raise UserError(f"corpus output has no documents.jsonl ({path}); re-run the corpus stage")
    docs = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                docs.append((str(rec["doc_id"]), str(rec["text"])))
            except (json.JSONDecodeError, KeyError, TypeError):
                raise UserError(f"{path}: line {n} is not a {{'doc_id', 'text'}} JSON object") from None
    return docs


def _shuffled(docs: list[tuple[str, str]], seed: int, skip: set[str]) -> list[tuple[str, str]]:
    """Documents in a seed order, less those named in `skip` by doc_id or by docstring passage text."""
    order = sorted(d for d in docs if d[0] not in skip and Q.docstring_passage(d[1]) not in skip)
    random.Random(seed).shuffle(order)
    return order


def generate(docs: list[tuple[str, str]], n_train: int, n_dev: int, seed: int, questions: str = "wh",
             skip: set[str] = frozenset()) -> tuple[list, list]:
    """Generated train/dev splits from disjoint documents (none in `skip`); deterministic for (docs, seed)."""
    train, dev = [], []
    split_of: dict[str, int] = {}  # passage -> 0 (train) / 1 (dev): libraries repeat docstrings verbatim
    bar = tqdm(_shuffled(docs, seed, skip), desc="generated questions", unit="doc", mininterval=1)
    for doc_id, text in bar:
        if len(dev) >= n_dev and len(train) >= n_train:
            break
        qs = cloze_questions(doc_id, text, random.Random(f"{seed}:{doc_id}"), questions)
        # Fill dev first while it is short of its share, so both splits draw from the whole corpus.
        want_dev = len(dev) < n_dev and (len(train) >= n_train or len(dev) * n_train <= len(train) * n_dev)
        qs = [q for q in qs if split_of.setdefault(q["context"], int(want_dev)) == int(want_dev)]
        (dev if want_dev else train).extend(qs)
    bar.close()
    return train[:n_train], dev[:n_dev]


def more_questions(docs: list[tuple[str, str]], n: int, seed: int, questions: str, skip: set[str]) -> list[dict]:
    """n more generated questions from documents (and passages) not in `skip`."""
    out = []
    for doc_id, text in _shuffled(docs, seed + 1, skip):
        if len(out) >= n:
            break
        out.extend(q for q in cloze_questions(doc_id, text, random.Random(f"{seed}:{doc_id}"), questions)
                   if q["context"] not in skip)
    return out[:n]


def prose_questions(examples: list[dict], n: int, seed: int) -> list[dict]:
    """Up to n distinct generated questions over the passages of `examples`. The generator asks at most one
    question a sentence, so each further seed is one more draw of answers over the same few passages."""
    passages = sorted({(e["title"], e["context"]) for e in examples})
    out, seen = [], set()
    for draw in range(100):
        if len(out) >= n:
            break
        for title, context in passages:
            for q in cloze_questions(title, context, random.Random(f"{seed}:{title}:{draw}"), "wh"):
                if (q["context"], q["question"]) not in seen and len(out) < n:
                    seen.add((q["context"], q["question"]))
                    out.append({**q, "id": f"{q['id']}-p{draw}"})
    return out


# --------------------------------------------------------------------------- the stage


def _load_source(source: str, split: str, cfg, generated: dict, docs_fn, skip: set[str]) -> tuple[list, str]:
    """Examples and a data-set name for one of train/dev."""
    if source == "generated":
        if not generated:
            tr, dv = generate(docs_fn(), cfg.qa.train_examples, cfg.qa.dev_examples, cfg.run.seed,
                              cfg.qa.questions, skip)
            generated.update(train=tr, dev=dv)
        return generated[split], f"generated_{split}"
    if source.startswith("hf:"):
        return (load_hf_squad("train" if split == "train" else "validation", source[3:], cfg.qa.on_bad_example),
                f"{hf_squad_name(source[3:])}_{split}")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(source).stem)
    return load_squad_file(source, cfg.qa.on_bad_example), name


def test_examples() -> list[dict]:
    """The natural-question test set as flat examples (the first occurrence of each answer is its span)."""
    out = []
    for p in read_json(TEST_PASSAGES, "test passages"):
        slug = re.sub(r"[^a-z0-9]+", "-", p["title"].lower()).strip("-")
        for i, (question, answer) in enumerate(p["qas"], 1):
            out.append({"id": f"test-{slug}-{i}", "title": p["title"], "context": p["context"], "question": question,
                        "kind": p["style"], "answers": [{"text": answer, "answer_start": p["context"].index(answer)}]})
    return out


def _check_disjoint(train: list, dev: list, natural_dev: list, cfg, natural_test: list = ()) -> None:
    """Train shares no passage with dev, natural_dev or natural_test (and no document with generated dev)."""
    train_ctx = {e["context"] for e in train}
    for name, held_out in (("natural_dev", natural_dev), ("natural_test", natural_test)):
        shared = train_ctx & {e["context"] for e in held_out}
        assert not shared, f"train and {name} share passages: {sorted(shared)[:1]}"
    if cfg.qa.train_source == cfg.qa.dev_source == "generated":
        shared = {e["title"] for e in train} & {e["title"] for e in dev}
        assert not shared, f"train and generated dev share documents: {sorted(shared)[:3]}"
        assert not train_ctx & {e["context"] for e in dev}, "train and generated dev share passages"


def _extra(cfg, train: list, natural: list, used: set[str], docs_fn) -> list[dict]:
    """extra.json: more generated questions plus augmented copies of the training examples, of its natural
    questions alone, or of those over the project-written passages (qa.augment_from; only the copies when the
    training questions are not generated from a corpus: there is none to draw from), and qa.prose_questions
    generated questions over those passages."""
    n = cfg.qa.extra_examples
    n_aug = round(n * cfg.qa.augment_share)
    from_corpus = n > n_aug and cfg.qa.train_source == "generated"
    extra = more_questions(docs_fn(), n - n_aug, cfg.run.seed, cfg.qa.questions, used) if from_corpus else []
    n_aug = n - len(extra)  # a small corpus runs out of documents: augmentation makes up the rest
    if not natural and (cfg.qa.augment_from != "train" or cfg.qa.prose_questions):
        log("qa_data: no natural training questions (qa.natural_train is off or train is not generated): the "
            "augmented copies copy every training example and no prose questions are generated")
    written = {p["title"] for p in json.loads(WRITTEN.read_text())}
    extra += prose_questions([e for e in natural if e["title"] in written], cfg.qa.prose_questions, cfg.run.seed)
    if cfg.qa.augment_from == "written":
        natural = [e for e in natural if e["title"] in written]
    originals = natural if cfg.qa.augment_from != "train" and natural else train
    extra += augment.augmented_copies(originals, n_aug, cfg.run.seed, cfg.qa.augment_mask_prob,
                                      cfg.qa.augment_ngram_prob)
    return extra


def _write(out: Path, name: str, examples: list) -> None:
    (out / f"{name}.json").write_text(json.dumps(to_squad(examples), indent=1, ensure_ascii=False) + "\n")


def run(cfg, ctx) -> dict:
    generated: dict = {}
    docs: dict = {}

    def docs_fn():  # the corpus is read once, and only when a generated set needs it
        if "all" not in docs:
            docs["all"] = read_documents(ctx.inputs["corpus"])
        return docs["all"]

    nat_train, natural_dev = load_squad_file(NATURAL_TRAIN, "reject"), load_squad_file(NATURAL_DEV, "reject")
    # Corpus documents the shipped sets use, by id and by passage (libraries repeat docstrings verbatim).
    natural_docs = {e["title"] for e in nat_train + natural_dev} | {e["context"] for e in nat_train + natural_dev}
    train, train_name = _load_source(cfg.qa.train_source, "train", cfg, generated, docs_fn, natural_docs)
    dev, dev_name = _load_source(cfg.qa.dev_source, "dev", cfg, generated, docs_fn, natural_docs)
    if dev_name == "handwritten":  # results are filed by data-set name; keep the two apart
        dev_name = "dev_handwritten"
    if cfg.qa.natural_train and cfg.qa.train_source == "generated":
        train, train_name = train + nat_train, "generated_natural_train"
    hand = load_squad_file(HANDWRITTEN, "reject")
    if not train:
        raise UserError(f"no training questions from {cfg.qa.train_source!r}")
    if not dev:
        raise UserError(f"no dev questions from {cfg.qa.dev_source!r}")
    natural_test = test_examples()
    _check_disjoint(train, dev, natural_dev, cfg, natural_test)
    used = natural_docs | {e["title"] for e in train + dev} | {e["context"] for e in train + dev}
    natural = nat_train if cfg.qa.natural_train and cfg.qa.train_source == "generated" else []
    extra = _extra(cfg, train, natural, used, docs_fn) if cfg.qa.extra_examples or cfg.qa.prose_questions else []
    sets = {"train": train, "dev": dev, "natural_dev": natural_dev, "natural_test": natural_test, "handwritten": hand,
            "extra": extra}
    for name, exs in sets.items():
        _write(ctx.out, name, exs)
    meta = {"train": {"name": train_name, "source": cfg.qa.train_source, "n": len(train)},
            "dev": {"name": dev_name, "source": cfg.qa.dev_source, "n": len(dev)},
            "natural_dev": {"name": "natural_dev", "source": NATURAL_DEV.name, "n": len(natural_dev)},
            "natural_test": {"name": "natural_test", "source": TEST_PASSAGES.name, "n": len(natural_test)},
            "handwritten": {"name": "handwritten", "source": str(HANDWRITTEN.name), "n": len(hand)},
            "extra": {"name": "extra", "n": len(extra),
                      "source": f"generated ({cfg.qa.questions}) + augmented copies of {cfg.qa.augment_from}"
                                + (" + generated prose questions" if cfg.qa.prose_questions else "")}}
    (ctx.out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    log(f"qa_data: {len(train)} train ({train_name}), {len(dev)} dev ({dev_name}), {len(natural_dev)} natural dev, "
        f"{len(natural_test)} natural test, {len(hand)} hand-written, {len(extra)} extra")
    return {"train": len(train), "dev": len(dev), "natural_dev": len(natural_dev), "natural_test": len(natural_test), "handwritten": len(hand),
            "extra": len(extra), "train_docs": len({e["title"] for e in train}),
            "dev_docs": len({e["title"] for e in dev})}
