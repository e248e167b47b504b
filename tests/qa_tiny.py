"""Tiny tokenizer, models, corpus and config for the QA tests (random weights, built here)."""
from __future__ import annotations

import json
import re
import string
from pathlib import Path

from pipeline import config as config_mod
from pipeline.data.qa_data import HANDWRITTEN

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

DOCS = {
    f"doc{i:02d}": "\n\n".join(
        f"The town of Name{i}x{j} was founded in {1500 + 7 * i + j} by Builder{i} and Partner{j}. "
        f"It grew slowly over the centuries and became known for its harbour, its markets and its "
        f"long stone bridge across the river. Today about {1000 + 37 * i + j} people live there, and "
        f"visitors come in summer to walk along the coast and watch the boats return in the evening."
        for j in range(3))
    for i in range(12)
}


def write_vocab(path: Path, texts) -> Path:
    words = set()
    for t in texts:
        words.update(re.findall(r"[a-z]+|\d|[^\w\s]", t.lower()))
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    vocab = SPECIAL + sorted(words | set(chars)) + [f"##{c}" for c in string.ascii_lowercase + string.digits]
    path.write_text("\n".join(dict.fromkeys(vocab)) + "\n")
    return path


def tokenizer(folder: Path):
    from transformers import AutoTokenizer, BertConfig
    folder.mkdir(parents=True, exist_ok=True)
    texts = list(DOCS.values()) + [json.dumps(json.loads(HANDWRITTEN.read_text()))]
    write_vocab(folder / "vocab.txt", texts)
    BertConfig().save_pretrained(folder)  # lets AutoTokenizer pick the BERT WordPiece tokenizer
    return AutoTokenizer.from_pretrained(folder)


def save_models(root: Path) -> tuple[Path, Path]:
    """A tiny BertForMaskedLM 'teacher' and DistilBertForMaskedLM 'student', each with tokenizer files."""
    import torch
    from transformers import BertConfig, BertForMaskedLM, DistilBertConfig, DistilBertForMaskedLM
    tok = tokenizer(root / "vocab")
    torch.manual_seed(0)
    teacher = BertForMaskedLM(BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2,
                                         num_attention_heads=2, intermediate_size=64, max_position_embeddings=512))
    student = DistilBertForMaskedLM(DistilBertConfig(vocab_size=len(tok), dim=32, n_layers=1, n_heads=2,
                                                     hidden_dim=64, max_position_embeddings=512))
    out = []
    for name, model in (("teacher", teacher), ("student", student)):
        folder = root / name / "model"
        model.save_pretrained(folder)
        tok.save_pretrained(folder)
        out.append(folder)
    return out[0], out[1]


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "documents.jsonl", "w") as fh:
        for doc_id, text in DOCS.items():
            fh.write(json.dumps({"doc_id": doc_id, "text": text}) + "\n")
    return folder


def cfg(tmp: Path, **over):
    base = {"run.results_dir": str(tmp / "results"), "run.run_dir": str(tmp / "run"), "run.device": "cpu",
            "run.threads": 1,  # tiny models: one thread avoids waiting on a busy second core
            "run.precision": "fp32",  # hand computations in fp32 on every CPU, bf16-capable or not
            "qa.train_examples": 40, "qa.dev_examples": 12, "qa.epochs": 1.0, "qa.teacher_epochs": 1,
            "qa.distil_epochs": 0.0,  # the (D) step follows qa.epochs, not the demo's longer (D) schedule
            "qa.distil_init": "student",  # the paper's (D) from the distilled student; a test sets qa_teacher
            "qa.batch_size": 8,
            "qa.max_seq_length": 64, "qa.doc_stride": 16, "qa.max_query_length": 24,
            "qa.natural_train": False,  # the shipped ~700 natural questions would slow every tiny fine-tune
            "qa.extra_examples": 0,
            "qa.freeze_embeddings": [],  # every weight trains, as in the paper; a test freezes one model's table
            "qa.teacher_lr": 0.0, "qa.distil_lr": 0.0}  # every model at qa.lr
    base.update(over)
    return config_mod.load("demo", base)
