"""Hugging Face `datasets` ids: how an `hf:` spec becomes `datasets.load_dataset` arguments.

datasets 4 and later run no loading scripts ("Dataset scripts are no longer supported"), and
the Hub no longer answers the old ids without an owner (`glue`, `squad`, ...). Every id the
pipeline names is therefore a script-free repository of Parquet or Arrow files; the evidence
for each is listed next to it below (checked against the Hub's pages and the maintainers'
issue threads, 2026).

A spec is `owner/name[/config]`, an old owner-less name (`squad`, `glue/sst2`), or the path of a
local folder laid out like a Hub repository (data files, optionally one sub-folder per config
and a README.md whose `configs:` block names them). The local form is how a user with a
downloaded snapshot works offline, and how the tests run these code paths with no network.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from pipeline.config import UserError

# Owner-less ids the Hub moved to an owner's namespace (same repository, now Parquet):
# - squad -> rajpurkar/squad: README `configs:` plain_text/train-*, plain_text/validation-*,
#   features id, title, context, question, answers{text, answer_start}
#   (https://huggingface.co/datasets/rajpurkar/squad/blob/main/README.md)
# - glue -> nyu-mll/glue: one folder per task, `configs:` e.g. sst2/train-*, sst2/validation-*,
#   mnli/validation_matched-* (https://huggingface.co/datasets/nyu-mll/glue/blob/main/README.md);
#   the bare name now gives 404 (https://github.com/huggingface/accelerate/pull/3915,
#   https://github.com/huggingface/transformers/pull/29679)
# - imdb -> stanfordnlp/imdb: Parquet under plain_text/{train,test,unsupervised}
#   (https://huggingface.co/datasets/stanfordnlp/imdb/tree/main/plain_text)
MOVED = {"squad": "rajpurkar/squad", "glue": "nyu-mll/glue", "imdb": "stanfordnlp/imdb"}

# Ids that still need a loading script: refused with the script-free id to use instead.
# - wikipedia (owner-less, dumps up to 20220301) was built by wikipedia.py; wikimedia/wikipedia
#   keeps the script on a side branch and serves Parquet per dump and language on main, e.g.
#   config 20231101.en (https://github.com/huggingface/datasets/issues/3401, comment of 2023-11-22)
# - bookcorpus/bookcorpus has bookcorpus.py and no `configs:` data files (its README declares only
#   dataset_info for plain_text, 74,004,228 rows: https://huggingface.co/datasets/bookcorpus/blob/main/README.md);
#   code that loads it passes trust_remote_code=True, which datasets 5 no longer honours.
#   SamuelYang/bookcorpus is a script-free upload of the same split, one Arrow file
#   bookcorpus-train.arrow plus dataset_info.json (74,004,228 rows, column `text`), with a
#   Parquet conversion on refs/convert/parquet
#   (https://huggingface.co/datasets/SamuelYang/bookcorpus/tree/main). It is a third-party copy:
#   the original was withdrawn by its authors.
NEEDS_SCRIPT = {
    "wikipedia": "hf:wikimedia/wikipedia/20231101.en",
    "bookcorpus": "hf:SamuelYang/bookcorpus",
    "bookcorpus/bookcorpus": "hf:SamuelYang/bookcorpus",
    "bookcorpusopen": "hf:SamuelYang/bookcorpus",
}

# Corpora whose rows are sentences, not documents: consecutive rows are joined into one
# document of this many rows, so sequences are packed to the window length as in the paper
# (one row of BookCorpus is ~13 words, below the 12-token minimum once cut) and the held-out
# split takes whole passages rather than single sentences whose neighbours are in training.
SENTENCE_ROWS = {"SamuelYang/bookcorpus": 100}


def parse(spec: str) -> tuple[str, str | None]:
    """(path, config) of a spec without its 'hf:' prefix; path is a Hub id or a local folder."""
    spec = spec.strip()
    if not spec:
        raise UserError("empty datasets id after 'hf:'")
    if Path(spec).expanduser().is_dir():
        return str(Path(spec).expanduser()), None
    if spec.startswith(("/", ".", "~")):  # a local folder with its config as the last part
        folder = Path(spec).expanduser().parent
        if not folder.is_dir():
            raise UserError(f"datasets folder not found: {spec}")
        return str(folder), Path(spec).name
    parts = spec.split("/")
    for key in (spec, "/".join(parts[:2]), parts[0] if len(parts) <= 2 else None):
        if key in NEEDS_SCRIPT:
            raise UserError(f"datasets id '{spec}' needs a loading script, which datasets 5 does not run; "
                            f"use {NEEDS_SCRIPT[key]} instead")
    if parts[0] in MOVED:  # owner-less: "squad", "glue/sst2"
        if len(parts) > 2:
            raise UserError(f"datasets id '{spec}': expected {parts[0]}[/config]")
        return MOVED[parts[0]], parts[1] if len(parts) == 2 else None
    if len(parts) == 1:
        raise UserError(f"datasets id '{spec}': expected owner/name[/config] (the Hub no longer "
                        f"serves ids without an owner) or a local folder")
    if len(parts) > 3 or not all(parts):
        raise UserError(f"datasets id '{spec}': expected owner/name[/config] or a local folder")
    return "/".join(parts[:2]), parts[2] if len(parts) == 3 else None


def load_args(path: str, config: str | None) -> dict:
    """Keyword arguments for datasets.load_dataset: the Hub's config by name; for a local folder the
    config named in its README, or else the config's sub-folder (the Hub layout without a README)."""
    local = Path(path)
    if local.is_dir():
        if config is None:
            return {"path": str(local)}
        if not (local / "README.md").is_file() and (local / config).is_dir():
            return {"path": str(local), "data_dir": config}
        return {"path": str(local), "name": config}
    return {"path": path, "name": config} if config else {"path": path}


def load(path: str, config: str | None = None, *, what: str, **kwargs):
    """datasets.load_dataset with any failure (offline, unknown id or config, bad files) as one line."""
    scratch = None
    if Path(path).is_dir() and not kwargs.get("streaming"):
        # datasets keys its cache of a local folder on the folder's name and config, not on its place
        # or files (measured with datasets 5.2: a second folder named "squad" was served the first
        # one's rows, and a changed schema failed against the cached one). A local copy is read into
        # memory through a cache of its own that is thrown away afterwards.
        scratch = tempfile.mkdtemp(prefix="distilkit-datasets-")
        kwargs.update(cache_dir=scratch, keep_in_memory=True)
    try:
        import datasets
        return datasets.load_dataset(**load_args(path, config), **kwargs)
    except Exception as e:  # noqa: BLE001 - network, Hub and file errors all reach the user the same way
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        cause = e.__cause__ or e.__context__
        if cause is not None and type(e).__name__ == "DatasetGenerationError":  # the useful part is the cause
            first += f": {type(cause).__name__}: {str(cause).strip().splitlines()[0] if str(cause).strip() else ''}"
        raise UserError(f"{what}: cannot load {path}{'/' + config if config else ''} through datasets "
                        f"({type(e).__name__}: {first})"[:500]) from None
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


def require_columns(ds, columns, what: str) -> None:
    """Refuse a data set without the columns the code reads, naming the ones it has."""
    splits = ds.values() if isinstance(ds, dict) else [ds]  # DatasetDict and IterableDatasetDict are dicts
    for part in splits:
        have = getattr(part, "column_names", None)
        if have is None:  # a streamed set whose schema is only known from its rows
            continue
        missing = [c for c in columns if c not in have]
        if missing:
            raise UserError(f"{what}: no column(s) {', '.join(missing)} (it has {', '.join(have)})")


def sentence_rows(path: str) -> int:
    return SENTENCE_ROWS.get(path, 0)


def iter_rows(ds, what: str):
    """Rows of a (streamed) data set; a read that fails half-way (connection lost, a corrupt
    shard) ends the stage with one line instead of a traceback."""
    it = iter(ds)
    while True:
        try:
            row = next(it)
        except StopIteration:
            return
        except Exception as e:  # noqa: BLE001 - see the docstring
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            raise UserError(f"{what}: reading failed ({type(e).__name__}: {first})"[:500]) from None
        yield row
