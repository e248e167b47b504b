"""QA data stage: SQuAD v1.1 files, `datasets` SQuAD (hf:rajpurkar/squad), or cloze questions generated from the corpus.

Outputs (all in SQuAD v1.1 JSON): train.json, dev.json and handwritten.json (the questions
the project wrote itself, pipeline/data/handwritten_qa.json, which are also the apps' demo
content), plus meta.json naming the data sets for the results files.

The generated set follows the "unsupervised QA by cloze" recipe: in a prose sentence one
span (a number, a capitalised name, or else a long content word) is replaced by a
question word, the sentence becomes the question, the passage around it the context and
the span the answer. Train and dev come from disjoint documents, and the whole set is a
pure function of the corpus and the seed.
"""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

from tqdm import tqdm

from pipeline.config import UserError
from pipeline.core.runs import log, read_json

HANDWRITTEN = Path(__file__).resolve().parent / "handwritten_qa.json"

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
    """SQuAD v1.1 examples from a `datasets` id or local Hub-layout folder (see pipeline/hf_data.py).

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

_SENT_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_WORD = re.compile(r"^[A-Za-z][A-Za-z'-]*[,;:.]?$")
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
_NUMBER = re.compile(r"\b\d+(?:[.,]\d+)*\b")
_NAME = re.compile(r"\b[A-Z][a-zA-Z]+(?:\s+[A-Z][a-zA-Z]+){0,3}\b")
_CONTENT = re.compile(r"\b[a-z]{7,}\b")
_MARKUP = re.compile(r"[`*_\[\]{}<>|=\\#@]|::|https?:")  # reST/Markdown/code left in docstrings
_STOP = {"because", "between", "through", "without", "however", "whether", "another", "therefore",
         "otherwise", "although", "instead", "usually", "already", "including", "possible"}


def _is_prose(text: str, min_words: int, share: float = 0.8) -> bool:
    words = text.split()
    return len(words) >= min_words and sum(bool(_WORD.match(w)) for w in words) >= share * len(words)


def passages(text: str, min_words: int = 40, max_words: int = 100) -> list[str]:
    """Prose passages of a document: paragraphs (blank-line separated, re-flowed) merged up to ~max_words."""
    out, cur = [], []
    for para in re.split(r"\n\s*\n", text):
        para = " ".join(para.split())
        if not _is_prose(para, 4):
            if len(" ".join(cur).split()) >= min_words:
                out.append(" ".join(cur))
            cur = []
            continue
        if cur and len(" ".join(cur + [para]).split()) > max_words:
            if len(" ".join(cur).split()) >= min_words:
                out.append(" ".join(cur))
            cur = []
        cur.append(para)
    if len(" ".join(cur).split()) >= min_words:
        out.append(" ".join(cur))
    return [p for p in out if len(p.split()) <= 2 * max_words]


def _candidates(sentence: str) -> list[tuple[int, int, str]]:
    """(start, end, question word) answer spans in a sentence, best kinds first."""
    found = [(m.start(), m.end(), "when") for m in _YEAR.finditer(sentence)]
    found += [(m.start(), m.end(), "how many") for m in _NUMBER.finditer(sentence)
              if not _YEAR.fullmatch(m.group())]
    # Capitalised words at the very start of a sentence are just sentence case.
    found += [(m.start(), m.end(), "what") for m in _NAME.finditer(sentence) if m.start() > 0]
    if found:
        return found
    return [(m.start(), m.end(), "what") for m in _CONTENT.finditer(sentence) if m.group() not in _STOP]


def cloze_questions(doc_id: str, text: str, rng: random.Random) -> list[dict]:
    """At most one cloze question per sentence of every prose passage of a document."""
    out = []
    for pi, passage in enumerate(passages(text)):
        pos = 0
        for si, sent in enumerate(_SENT_END.split(passage)):
            offset = passage.index(sent, pos)
            pos = offset + len(sent)
            words = sent.split()
            if not (6 <= len(words) <= 40) or not sent.endswith(".") or _MARKUP.search(sent) \
                    or not _is_prose(sent, 6, 0.9):
                continue
            cands = _candidates(sent)
            if not cands:
                continue
            a, b, wh = rng.choice(cands)
            question = (sent[:a] + wh + sent[b:]).rstrip(".").strip() + "?"
            question = question[0].upper() + question[1:]
            out.append({"id": f"gen-{doc_id}-{pi}-{si}", "title": doc_id, "context": passage,
                        "question": question,
                        "answers": [{"text": sent[a:b], "answer_start": offset + a}]})
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


def generate(docs: list[tuple[str, str]], n_train: int, n_dev: int, seed: int) -> tuple[list, list]:
    """Cloze train/dev splits from disjoint documents; deterministic for (docs, seed)."""
    rng = random.Random(seed)
    order = sorted(docs)
    rng.shuffle(order)
    train, dev = [], []
    bar = tqdm(order, desc="cloze questions", unit="doc", mininterval=1)
    for doc_id, text in bar:
        if len(dev) >= n_dev and len(train) >= n_train:
            break
        qs = cloze_questions(doc_id, text, random.Random(f"{seed}:{doc_id}"))
        # Fill dev first while it is short of its share, so both splits draw from the whole corpus.
        want_dev = len(dev) < n_dev and (len(train) >= n_train or len(dev) * n_train <= len(train) * n_dev)
        (dev if want_dev else train).extend(qs)
    bar.close()
    return train[:n_train], dev[:n_dev]


# --------------------------------------------------------------------------- the stage


def _load_source(source: str, split: str, cfg, generated: dict, docs_fn) -> tuple[list, str]:
    """Examples and a data-set name for one of train/dev."""
    if source == "generated":
        if not generated:
            tr, dv = generate(docs_fn(), cfg.qa.train_examples, cfg.qa.dev_examples, cfg.run.seed)
            generated.update(train=tr, dev=dv)
        return generated[split], f"generated_{split}"
    if source.startswith("hf:"):
        return (load_hf_squad("train" if split == "train" else "validation", source[3:], cfg.qa.on_bad_example),
                f"{hf_squad_name(source[3:])}_{split}")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(source).stem)
    return load_squad_file(source, cfg.qa.on_bad_example), name


def run(cfg, ctx) -> dict:
    generated: dict = {}
    docs_fn = lambda: read_documents(ctx.inputs["corpus"])  # noqa: E731 - read only when needed
    train, train_name = _load_source(cfg.qa.train_source, "train", cfg, generated, docs_fn)
    dev, dev_name = _load_source(cfg.qa.dev_source, "dev", cfg, generated, docs_fn)
    if dev_name == "handwritten":  # results are filed by data-set name; keep the two apart
        dev_name = "dev_handwritten"
    hand = load_squad_file(HANDWRITTEN, "reject")
    if not train:
        raise UserError(f"no training questions from {cfg.qa.train_source!r}")
    if not dev:
        raise UserError(f"no dev questions from {cfg.qa.dev_source!r}")
    if cfg.qa.train_source == cfg.qa.dev_source == "generated":
        shared = {e["title"] for e in train} & {e["title"] for e in dev}
        assert not shared, f"generated train and dev share documents: {sorted(shared)[:3]}"
    for name, exs in (("train", train), ("dev", dev), ("handwritten", hand)):
        (ctx.out / f"{name}.json").write_text(json.dumps(to_squad(exs), indent=1, ensure_ascii=False) + "\n")
    meta = {"train": {"name": train_name, "source": cfg.qa.train_source, "n": len(train)},
            "dev": {"name": dev_name, "source": cfg.qa.dev_source, "n": len(dev)},
            "handwritten": {"name": "handwritten", "source": str(HANDWRITTEN.name), "n": len(hand)}}
    (ctx.out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    log(f"qa_data: {len(train)} train ({train_name}), {len(dev)} dev ({dev_name}), {len(hand)} hand-written")
    return {"train": len(train), "dev": len(dev), "handwritten": len(hand),
            "train_docs": len({e["title"] for e in train}), "dev_docs": len({e["title"] for e in dev})}
