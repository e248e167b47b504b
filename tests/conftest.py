"""Tiny models and data that the tests build themselves: no download, seconds to run."""
from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
# Commands the tests start (python pipeline/build_all.py, torchrun, ...) import this checkout's
# package too, not whichever checkout `pip install -e` last pointed at (a clone, a worktree).
os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in [os.environ.get("PYTHONPATH")] if p])
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

WORDS = ("the a model student teacher learns from data text token layer small large fast slow answer question "
         "passage network weight train test value shape batch mask word sentence paper result speed size "
         "phone device kernel memory run time loss head encoder decoder vector matrix number").split()


def make_text(seed: int, n_docs: int = 60) -> list[str]:
    rng = random.Random(seed)
    docs = []
    for _ in range(n_docs):
        paras = []
        for _ in range(rng.randint(1, 3)):
            sents = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 16))).capitalize() + "."
                     for _ in range(rng.randint(2, 5))]
            paras.append(" ".join(sents))
        docs.append("\n\n".join(paras))
    return docs


def tree_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(Path(folder).rglob("*")):
        h.update(str(p.relative_to(folder)).encode() + (p.read_bytes() if p.is_file() else b"/"))
    return h.hexdigest()


def unchanged(folder: Path, what: str):
    """Yield a shared fixture folder, then fail if any test changed it (tests must copy it)."""
    before = tree_digest(folder)
    yield folder
    assert tree_digest(folder) == before, f"a test changed the shared {what} in {folder}; copy it instead"


@pytest.fixture(scope="session")
def tiny_teacher(tmp_path_factory) -> Path:
    """A 4-layer BERT masked-LM (hidden 32) with a word-level vocabulary, saved with save_pretrained."""
    import torch
    from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast
    folder = tmp_path_factory.mktemp("tiny_teacher")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ","] + sorted(set(WORDS)) + ["##s", "##ed"]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tok = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True)
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=4, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=64)
    BertForMaskedLM(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    yield from unchanged(folder, "tiny teacher")


# The tiny teacher has 64 positions: every window length of a tiny run must fit in it.
TINY_OVERRIDES = {"qa.max_seq_length": 64, "qa.doc_stride": 16, "qa.max_query_length": 24,
                  "export.seq_lens": [64], "bench.seq_lens": [64], "apps.seq_len": 64,
                  # The demo's QA budget (shipped natural questions, 3 epochs, extra (D) data) would dominate
                  # a tiny run; a little of each keeps every path exercised.
                  "qa.natural_train": False, "qa.teacher_epochs": 2, "qa.epochs": 1.0, "qa.extra_examples": 8}
TINY_LENGTHS = "".join(f"[{sec}]\n" + "".join(f"{k.partition('.')[2]} = {json.dumps(v)}\n" for k, v in TINY_OVERRIDES.items()
                                              if k.startswith(sec + "."))
                       for sec in dict.fromkeys(k.partition(".")[0] for k in TINY_OVERRIDES))


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny_corpus")
    for i, doc in enumerate(make_text(0)):
        (folder / f"doc{i:03d}.txt").write_text(doc)
    yield from unchanged(folder, "tiny corpus")


def make_vader_sdist(path: Path, n: int = 24) -> Path:
    """A stand-in for the vaderSentiment source distribution: the same nesting and row format, sentences of
    WORDS, ids 1.. positive (rating > 0) and 5332.. negative, as in Pang & Lee's numbering."""
    import io
    import tarfile
    rng = random.Random(1)
    lines = []
    for i in range(n):
        sid, sign = (i + 1, 1) if i % 2 == 0 else (5332 + i, -1)
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 10)))
        lines.append(f"{sid}\t{sign * rng.uniform(0.5, 3.5):.4f}\t{('fast small ' if sign > 0 else 'slow large ')}{words}")
    raw = ("\r\n".join(lines) + "\r\n").encode()

    def add(tar, name, data):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as tar:
        add(tar, "hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt", raw)
    with tarfile.open(path, "w:gz") as tar:
        add(tar, "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz", inner.getvalue())
    return path


@pytest.fixture(scope="session")
def fake_vader_sdist(tmp_path_factory) -> Path:
    return make_vader_sdist(tmp_path_factory.mktemp("vader") / "vaderSentiment-3.3.2.tar.gz")


@pytest.fixture
def tiny_preset(tmp_path, tiny_teacher, tiny_corpus, fake_vader_sdist) -> Path:
    """A preset for a whole tiny run: a few steps of everything, in tmp folders."""
    p = tmp_path / "tiny.toml"
    p.write_text(f'''extends = "demo"
[run]
run_dir = "{tmp_path / 'run'}"
results_dir = "{tmp_path / 'results'}"
threads = 1
precision = "fp32"
[corpus]
source = ["{tiny_corpus}"]
max_seq_len = 48
heldout_frac = 0.1
[teacher]
model = "{tiny_teacher}"
fit_head = "always"
steps = 3
batch_size = 8
eval_batches = 2
[distill]
steps = 4
batch_size = 4
grad_accum = 2
checkpoint_every = 2
eval_batches = 2
[classify]
tasks = ["mr_polarity", "qnli_natural"]
sdist = "{fake_vader_sdist}"
sdist_sha256 = ""
cache_dir = "{tmp_path / 'cache'}"
max_train_rows = 40
max_length = 32
batch_size = 8
{TINY_LENGTHS}''')
    return p


def build_all(*args, env=None, check=True) -> subprocess.CompletedProcess:
    """Run the real entry point as a user would."""
    full_env = dict(os.environ, **(env or {}))
    res = subprocess.run([sys.executable, str(REPO / "pipeline" / "build_all.py"), *map(str, args)],
                         capture_output=True, text=True, env=full_env, cwd=REPO, timeout=600)
    if check and res.returncode != 0:
        raise AssertionError(f"build_all failed ({res.returncode}):\n{res.stderr[-3000:]}")
    return res


def build_all_inproc(*args) -> subprocess.CompletedProcess:
    """The same entry point called in this process: for fast checks of argument and input errors."""
    import contextlib
    import io
    from pipeline import build_all as entry
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = entry.main([str(a) for a in args])
        except SystemExit as e:  # argparse exits on unknown options
            rc = e.code
    return subprocess.CompletedProcess(args, rc, out.getvalue(), err.getvalue())


from searched_exports import four_bit  # noqa: E402,F401  (one export for tests/test_int8_search.py and test_int4_export.py)
