"""Offline classification tasks, the kit's stand-ins for the paper's Table 1 rows, from labelled data
that a package registry ships (read from the package, never copied into the repository):

* mr_polarity (the SST-2 analogue): Pang & Lee's Rotten Tomatoes sentence-polarity sentences, as shipped
  in the vaderSentiment 3.3.2 source distribution (additional_resources/hutto_ICWSM_2014.tar.gz ->
  movieReviewSnippets_GroundTruth.txt: id, mean rating of about 20 raters (-4..+4), text). Pang & Lee's
  label follows from the id: 1-5331 positive, the rest negative.
* mr_rating (scored as STS-B is, Pearson x 100): the same sentences with the raters' mean as the target.
* qnli_natural (the QNLI analogue): GLUE built QNLI from SQuAD by pairing questions with sentences of their
  passage, labelled by whether the sentence holds the answer; here the same from the shipped natural-question
  sets (train from natural_qa_train.json, dev from natural_qa_dev.json: no passage in both).

The source distribution is fetched once through pip into a cache and checked against its sha256; a local
copy can be named instead (classify.sdist). Train / dev of the MR tasks split by a hash of the sentence id.
"""
from __future__ import annotations

import hashlib
import io
import re
import subprocess
import sys
import tarfile
from pathlib import Path

from pipeline.config import UserError
from pipeline.core.registry import CLASSIFY_TASKS
from pipeline.core.runs import log, sha256_file

VADER = {"package": "vaderSentiment", "version": "3.3.2", "licence": "MIT",
         "file": "vaderSentiment-3.3.2.tar.gz",
         "sha256": "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9",
         "member": "additional_resources/hutto_ICWSM_2014.tar.gz",
         "inner": "movieReviewSnippets_GroundTruth.txt"}
MR_POSITIVE_IDS = 5331  # Pang & Lee's sentence-polarity data: ids 1..5331 positive, the rest negative
DEV_SHARE = 10  # percent of MR sentences in dev, by id hash


OFFLINE_TASKS = {n: t for n, t in CLASSIFY_TASKS.items() if t.hub is None}
# name -> (datasets id, config, text columns, dev split, metric): the tasks that load through `datasets`
HUB_TASKS = {n: (*t.hub, t.metric) for n, t in CLASSIFY_TASKS.items() if t.hub is not None}


class DataMissing(Exception):
    """A task's data could not be had here: the stage names it and goes on with the other tasks."""


def fetch_sdist(cache: Path) -> Path:
    """The vaderSentiment source distribution in the cache, fetched with pip on first use; its sha256 checked."""
    path = cache / VADER["file"]
    if not path.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        log(f"classify: fetching {VADER['file']} with pip into {cache}")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--quiet",
               "-d", str(cache), f"{VADER['package']}=={VADER['version']}"]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0 or not path.is_file():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise DataMissing(f"could not fetch {VADER['file']} with pip ({last})")
    return path


def read_mr(sdist: Path, sha256: str = VADER["sha256"]) -> tuple[list[dict], dict]:
    """(rows {'id', 'rating', 'text', 'label'}, provenance) of the MR sentences in the source distribution;
    sha256: what the file must hash to ('' skips the check)."""
    if not sdist.is_file():
        raise UserError(f"classify.sdist: file not found: {sdist}")
    digest = sha256_file(sdist)
    if sha256 and digest != sha256:
        raise UserError(f"{sdist}: sha256 {digest[:12]}... is not {VADER['file']}'s ({VADER['sha256'][:12]}...)")
    try:
        with tarfile.open(sdist) as outer:
            member = next(m for m in outer.getmembers() if m.name.endswith(VADER["member"]))
            with tarfile.open(fileobj=io.BytesIO(outer.extractfile(member).read())) as inner:
                text_member = next(m for m in inner.getmembers() if m.name.endswith(VADER["inner"]))
                raw = inner.extractfile(text_member).read().decode("utf-8", errors="replace")
    except (tarfile.TarError, StopIteration, OSError) as e:
        raise UserError(f"{sdist}: no {VADER['inner']} inside ({e.__class__.__name__})") from None
    rows = []
    for line in raw.splitlines():
        parts = line.strip().split("\t")
        if len(parts) < 3 or not parts[0].isdigit():
            continue
        sid = int(parts[0])
        rows.append({"id": sid, "rating": float(parts[1]), "text": "\t".join(parts[2:]).strip(),
                     "label": "1" if sid <= MR_POSITIVE_IDS else "0"})
    if not rows:
        raise UserError(f"{sdist}: {VADER['inner']} holds no rows")
    return rows, {k: VADER[k] for k in ("package", "version", "licence", "file")} | {"sha256": digest,
                                                                                   "member": VADER["inner"]}


def is_dev(sentence_id: int) -> bool:
    return int(hashlib.sha256(str(sentence_id).encode()).hexdigest(), 16) % 100 < DEV_SHARE


def split_sentences(context: str) -> list[tuple[int, int]]:
    """(start, end) character spans of a passage's sentences: a stop, question or exclamation mark, then
    whitespace and a capital letter, digit or quote."""
    spans, start = [], 0
    for m in re.finditer(r"[.!?](?=\s+[A-Z0-9\"'`(])", context):
        spans.append((start, m.end()))
        start = m.end()
        while start < len(context) and context[start].isspace():
            start += 1
    if start < len(context):
        spans.append((start, len(context)))
    return [s for s in spans if context[s[0]:s[1]].strip()]


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def qnli_pairs(examples: list[dict]) -> list[dict]:
    """Each question with the sentence of its passage that holds the whole answer span ('entailment', GLUE's
    QNLI rule) and with the other sentence that shares most words with the question ('not_entailment'). GLUE
    dropped low-overlap pairs, which left QNLI about balanced; one hard negative per question does the same."""
    rows = []
    for ex in examples:
        ans = ex["answers"][0]
        a0, a1 = ans["answer_start"], ans["answer_start"] + len(ans["text"])
        sentences = [ex["context"][s0:s1].strip() for s0, s1 in split_sentences(ex["context"])]
        holds = [s0 <= a0 and a1 <= s1 for s0, s1 in split_sentences(ex["context"])]
        others = [s for s, h in zip(sentences, holds) if not h]
        if not any(holds) or not others:
            continue  # the answer crosses a sentence boundary, or the passage is one sentence
        q = _words(ex["question"])
        negative = max(others, key=lambda s: len(q & _words(s)))
        rows += [{"text": (ex["question"], sentences[holds.index(True)]), "label": "entailment"},
                 {"text": (ex["question"], negative), "label": "not_entailment"}]
    return rows


def load_offline(task: str, sdist: Path | None, cache: Path,
                 sha256: str = VADER["sha256"]) -> tuple[list[dict], list[dict], dict]:
    """(train rows, dev rows, provenance) of an offline task; rows are {'text': tuple, 'label': str}."""
    if task == "qnli_natural":
        from pipeline.data.qa_data import NATURAL_DEV, NATURAL_TRAIN, load_squad_file
        train, dev = (qnli_pairs(load_squad_file(p, "reject")) for p in (NATURAL_TRAIN, NATURAL_DEV))
        # Libraries repeat docstrings: a pair that also occurs over a training passage is no test of generalising.
        seen = {r["text"] for r in train}
        dev = [r for r in dev if r["text"] not in seen]
        return train, dev, {"package": "distilkit", "file": f"{NATURAL_TRAIN.name}, {NATURAL_DEV.name}",
                            "licence": "see each article's licence field"}
    rows, source = read_mr(sdist or fetch_sdist(cache), sha256)
    target = (lambda r: r["label"]) if task == "mr_polarity" else (lambda r: repr(r["rating"]))
    train = [{"text": (r["text"],), "label": target(r)} for r in rows if not is_dev(r["id"])]
    dev = [{"text": (r["text"],), "label": target(r)} for r in rows if is_dev(r["id"])]
    return train, dev, source
