"""Corpus stage: read text, tokenize with the teacher's tokenizer, filter, split.

Sources (cfg.corpus.source, a list; mix freely):
- "embedded": English documentation that ships with the installed environment, so a fresh
  machine has a corpus with no network: CPython's pydoc topics plus the unique docstrings of
  the standard library and of pinned dependencies (read with `ast`, nothing is imported).
- "hf:<owner>/<name>[/<config>]": a `datasets` corpus (needs a network), e.g. hf:wikimedia/wikipedia/20231101.en,
  or a local folder laid out like a Hub repository (see pipeline/data/hf_data.py).
- paths, folders (every .txt/.md/.rst inside) and globs of local text files.

Outputs: documents.jsonl ({"doc_id", "text"}, raw text for the QA generator), and train/heldout
token sequences as flat int32 arrays + offsets (fast to load, no pickles), token counts for
the masking probabilities, and stats.json. The split is by document so that held-out text is
never seen in training.
"""
from __future__ import annotations

import ast
import glob
import hashlib
import importlib.util
import json
import re
import sysconfig
from pathlib import Path

import numpy as np
from tqdm import tqdm

from pipeline.config import UserError
from pipeline.core.models import load_tokenizer
from pipeline.core.runs import log

EMBEDDED_PACKAGES = ["numpy", "torch", "transformers", "datasets", "matplotlib"]
TEXT_SUFFIXES = {".txt", ".md", ".rst", ".text"}
_CODE_LINE = re.compile(r"^\s*(>>>|\.\.\.|\$ |In \[|Out\[)")


def _clean_docstring(doc: str) -> str:
    """Keep prose: drop doctest lines and fenced code, which are not English."""
    out, fenced = [], False
    for line in doc.splitlines():
        if line.strip().startswith("```"):
            fenced = not fenced
            continue
        if fenced or _CODE_LINE.match(line):
            continue
        out.append(line.strip())
    text = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _package_roots():
    yield "stdlib", Path(sysconfig.get_paths()["stdlib"])
    for name in EMBEDDED_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec and spec.submodule_search_locations:
            yield name, Path(list(spec.submodule_search_locations)[0])


def embedded_documents():
    """Yield (doc_id, text) from the documentation shipped with this Python environment."""
    from pydoc_data.topics import topics
    for key in sorted(topics):
        yield f"pydoc:{key}", topics[key]
    seen = set()
    for name, root in _package_roots():
        files = sorted(p for p in root.rglob("*.py") if name != "stdlib" or "site-packages" not in p.parts)
        for path in tqdm(files, desc=f"docstrings {name}", unit="file", leave=False, mininterval=1):
            try:
                tree = ast.parse(path.read_bytes())
            except (SyntaxError, ValueError, OSError):
                continue
            for node in ast.walk(tree):
                if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                doc = ast.get_docstring(node)
                if not doc or len(doc.split()) <= 12:
                    continue
                text = _clean_docstring(doc)
                digest = hashlib.sha1(text.encode()).hexdigest()
                if digest in seen or len(text.split()) <= 12:
                    continue
                seen.add(digest)
                yield f"{name}:{path.relative_to(root)}:{getattr(node, 'name', '')}:{node.lineno if hasattr(node, 'lineno') else 0}", text


def _local_files(spec: str) -> list[Path]:
    p = Path(spec)
    if p.is_dir():
        files = sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in TEXT_SUFFIXES)
    elif p.is_file():
        files = [p]
    else:
        files = sorted(Path(q) for q in glob.glob(spec, recursive=True) if Path(q).is_file())
    if not files:
        raise UserError(f"corpus source '{spec}': no such file, folder or glob match")
    return files


def _hf_documents(spec: str):
    from pipeline.data import hf_data
    path, config = hf_data.parse(spec[3:])
    what = f"corpus source '{spec}'"
    ds = hf_data.load(path, config, what=what, split="train", streaming=True)
    hf_data.require_columns(ds, ["text"], what)
    group = hf_data.sentence_rows(path)
    rows: list[str] = []
    for i, row in enumerate(hf_data.iter_rows(ds, what)):
        if "text" not in row:
            raise UserError(f"{what}: rows have no 'text' column (they have {', '.join(row)})")
        if not group:
            yield f"{spec}:{i}", row["text"] or ""
            continue
        rows.append((row["text"] or "").strip())
        if len(rows) == group:
            yield f"{spec}:{i // group}", " ".join(rows)
            rows = []
    if rows:
        yield f"{spec}:{i // group}", " ".join(rows)


def documents(sources: list[str]):
    for spec in sources:
        if spec == "embedded":
            yield from embedded_documents()
        elif spec.startswith("hf:"):
            yield from _hf_documents(spec)
        else:
            for path in _local_files(spec):
                try:
                    yield str(path), path.read_text(encoding="utf-8", errors="replace")
                except OSError as e:
                    raise UserError(f"corpus file {path}: {e.strerror}") from None


def is_heldout(doc_id: str, frac: float) -> bool:
    return int(hashlib.sha1(doc_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < frac


def _flat(seqs: list[np.ndarray]):
    offsets = np.zeros(len(seqs) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(s) for s in seqs])
    data = np.concatenate(seqs).astype(np.int32) if seqs else np.zeros(0, np.int32)
    return data, offsets


def save_split(folder: Path, name: str, seqs: list[np.ndarray]) -> None:
    data, offsets = _flat(seqs)
    np.save(folder / f"{name}_ids.npy", data)
    np.save(folder / f"{name}_offsets.npy", offsets)


def load_split(folder: Path, name: str) -> list[np.ndarray]:
    data = np.load(folder / f"{name}_ids.npy")
    offsets = np.load(folder / f"{name}_offsets.npy")
    return [data[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]


def run(cfg, ctx) -> dict:
    c = cfg.corpus
    tok = load_tokenizer(cfg.teacher.model)
    max_len = min(c.max_seq_len, getattr(tok, "model_max_length", c.max_seq_len) or c.max_seq_len)
    body = max_len - 2  # room for [CLS] and [SEP]
    cls_id, sep_id, unk_id = tok.cls_token_id, tok.sep_token_id, tok.unk_token_id
    train, heldout, words, n_docs, dropped = [], [], 0, 0, {"short": 0, "unk": 0}
    batch: list[tuple[str, str]] = []

    def flush():
        enc = tok([t for _, t in batch], add_special_tokens=False)["input_ids"]
        for (doc_id, _), ids in zip(batch, enc):
            target = heldout if is_heldout(doc_id, c.heldout_frac) else train
            for start in range(0, len(ids), body):
                seq = [cls_id] + ids[start:start + body] + [sep_id]
                if len(seq) < c.min_tokens:
                    dropped["short"] += 1
                elif sum(t == unk_id for t in seq) >= c.max_unk_frac * (len(seq) - 2):
                    dropped["unk"] += 1
                else:
                    target.append(np.asarray(seq, dtype=np.int32))
        batch.clear()

    with open(ctx.out / "documents.jsonl", "w") as docs_out:
        for doc_id, text in documents(c.source):
            text = text.strip()
            if not text:
                continue
            docs_out.write(json.dumps({"doc_id": doc_id, "text": text}) + "\n")
            batch.append((doc_id, text))
            n_docs += 1
            words += len(text.split())
            if len(batch) >= 512:
                flush()
            if c.max_words and words >= c.max_words:
                break
        if batch:
            flush()
    if not train:
        raise UserError(f"corpus {c.source} is empty: no sequence of at least {c.min_tokens} tokens was found")
    heldout = heldout[:c.max_heldout]
    if not heldout:  # a tiny corpus may put no document in the held-out split; borrow the last few sequences
        if len(train) < 2:
            raise UserError(f"corpus {c.source} is too small: {len(train)} usable sequence(s), "
                            f"none left for the held-out split")
        k = max(1, len(train) // 20)
        heldout, train = train[-k:], train[:-k]
    save_split(ctx.out, "train", train)
    save_split(ctx.out, "heldout", heldout)
    counts = np.bincount(np.concatenate(train), minlength=len(tok)).astype(np.int64)
    np.save(ctx.out / "token_counts.npy", counts)
    stats = {"documents": n_docs, "words": words, "bytes": (ctx.out / "documents.jsonl").stat().st_size,
             "train_sequences": len(train), "heldout_sequences": len(heldout),
             "train_tokens": int(sum(len(s) for s in train)), "heldout_tokens": int(sum(len(s) for s in heldout)),
             "max_seq_len": max_len, "dropped": dropped, "sources": c.source}
    (ctx.out / "stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    log(f"corpus: {n_docs} documents, {words:,} words, {stats['train_tokens']:,} training tokens "
        f"in {len(train)} sequences, {len(heldout)} held out, dropped {dropped}")
    return stats
