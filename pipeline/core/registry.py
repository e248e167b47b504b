"""The one table of export formats, runtimes, precisions and what each app runs.

Export, parity, the host benchmark, the apps stage and the config's checks all read it, so a
format added here is accepted, exported, checked, timed and staged without a second list to keep
in step. It imports nothing heavy: a bad value is refused before torch loads. An artifact
is identified everywhere by the (format, backend) pair its sidecar records.
"""
from __future__ import annotations

import platform
import re
from dataclasses import dataclass

# int8: dynamic int8 (weights per channel, activations quantized at run time); int8-static: int8
# activations too, their ranges calibrated on train-split windows (export.calibration_windows).
# Core ML int8 is int8 weights with float16 activations; its int8-static is w8a8.
# int4: 4-bit weights in groups of export.int4_group_size input channels (linear layers and embedding tables),
# activations as int8's (8-bit dynamic in ExecuTorch and LiteRT, float16 in Core ML); each sidecar says which.
PRECISIONS = ("fp32", "fp16", "int8", "int8-static", "int4")
QUANTIZED = ("int8", "int8-static", "int4")  # gated on accuracy (F1), not on logit agreement
# Where the export's accuracy search (pipeline/export/int8_search.py) moves a layer of a quantized file that
# misses its gate: int8 layers go back to float, 4-bit ones (or the embedding table) to 8-bit weights.
FALLBACK = {"int8": "float", "int8-static": "float", "int4": "int8"}
MODELS = ("teacher", "student", "student_d", "student_dt")  # what qa_finetune can train; later stages take export.models

# The paper's Table 4, then the intermediate-layer loss options (TinyBERT / MiniLM style): each
# variant's distill-section fields on top of the distill section's.
ABLATION_VARIANTS = {
    "full": {},
    "ce_only": {"alpha_mlm": 0.0, "alpha_cos": 0.0},
    "cos_only": {"alpha_ce": 0.0, "alpha_mlm": 0.0},
    "no_mlm": {"alpha_mlm": 0.0},
    "random_init": {},
    "hidden_mse": {"alpha_hidden": 1.0, "hidden_loss": "mse"},
    "attn_kl": {"alpha_attn": 1.0},
}


@dataclass(frozen=True)
class ClassifyTask:
    name: str          # classify.tasks value and results/glue/<name>.json
    title: str         # what the report calls it: honest about what it is
    paper_task: str    # the paper's Table 1 / 2 row it is or stands beside
    metric: str
    hub: tuple | None = None  # (datasets id, config, text columns, dev split); None: offline (classify_data.py)


# The offline tasks read data that packages ship (pipeline/data/classify_data.py); the others load through
# `datasets` (needs a network). Both repositories are Parquet with the columns and splits named here.
CLASSIFY_TASKS = {t.name: t for t in (
    ClassifyTask("mr_polarity", "MR sentence polarity (SST-2 analogue)", "SST-2", "accuracy"),
    ClassifyTask("mr_rating", "MR mean rating regression (STS-B's metric)", "STS-B", "pearson"),
    ClassifyTask("qnli_natural", "QNLI analogue from the natural-question sets", "QNLI", "accuracy"),
    ClassifyTask("cola", "CoLA", "CoLA", "matthews", ("nyu-mll/glue", "cola", ("sentence",), "validation")),
    ClassifyTask("sst2", "SST-2", "SST-2", "accuracy", ("nyu-mll/glue", "sst2", ("sentence",), "validation")),
    ClassifyTask("mrpc", "MRPC", "MRPC", "f1", ("nyu-mll/glue", "mrpc", ("sentence1", "sentence2"), "validation")),
    ClassifyTask("qqp", "QQP", "QQP", "f1", ("nyu-mll/glue", "qqp", ("question1", "question2"), "validation")),
    ClassifyTask("stsb", "STS-B", "STS-B", "pearson", ("nyu-mll/glue", "stsb", ("sentence1", "sentence2"), "validation")),
    ClassifyTask("mnli", "MNLI", "MNLI", "accuracy",
                 ("nyu-mll/glue", "mnli", ("premise", "hypothesis"), "validation_matched")),
    ClassifyTask("qnli", "QNLI", "QNLI", "accuracy", ("nyu-mll/glue", "qnli", ("question", "sentence"), "validation")),
    ClassifyTask("rte", "RTE", "RTE", "accuracy", ("nyu-mll/glue", "rte", ("sentence1", "sentence2"), "validation")),
    ClassifyTask("wnli", "WNLI", "WNLI", "accuracy", ("nyu-mll/glue", "wnli", ("sentence1", "sentence2"), "validation")),
    ClassifyTask("imdb", "IMDb", "IMDb", "accuracy", ("stanfordnlp/imdb", None, ("text",), "test")),
)}


@dataclass(frozen=True)
class Format:
    name: str                 # export.formats option and file name part
    file_format: str          # the sidecar's "format"
    backend: str              # the sidecar's "backend"
    ext: str
    precisions: tuple         # precisions this exporter supports
    module: str               # its plug-in (pipeline/export/formats/base.py says what one defines)
    keeps_float: bool = False # its int8 files honour export.int8_keep_float (named modules left float) and its
                              # quantized files can move named modules to FALLBACK (the export's accuracy search)

    @property
    def artifact(self) -> tuple[str, str]:
        return self.file_format, self.backend


_PLUGINS = "pipeline.export.formats."
FORMATS = {f.name: f for f in (
    Format("coreml", "coreml", "coreml", "mlpackage", ("fp16", "fp32", "int8", "int8-static", "int4"),
           _PLUGINS + "coreml"),
    Format("executorch", "executorch", "xnnpack", "pte", ("fp32", "int8", "int8-static", "int4"),
           _PLUGINS + "executorch", keeps_float=True),
    Format("executorch-coreml", "executorch", "coreml", "pte", ("fp16",), _PLUGINS + "executorch_coreml"),
    Format("tflite", "tflite", "tflite", "tflite", ("fp32", "fp16", "int8", "int8-static", "int4"),
           _PLUGINS + "litert", keeps_float=True),
    Format("onnx", "onnx", "onnxruntime", "onnx", ("fp32", "int8"), _PLUGINS + "onnx"),
)}


@dataclass(frozen=True)
class Runtime:
    name: str                 # bench.runtimes option
    label: str                # the "runtime" recorded in benchmark results
    package: str              # the package whose version is recorded
    artifact: tuple | None    # the (format, backend) it runs; None: the transformers checkpoint itself
    systems: tuple = ()       # platform.system() values it predicts on; empty: every host

    def runs_here(self) -> bool:
        return not self.systems or platform.system() in self.systems


RUNTIMES = {r.name: r for r in (
    # The runner of each is its artifact's format plug-in's (format_of).
    Runtime("pytorch", "pytorch", "torch", None),
    Runtime("executorch", "executorch", "executorch", ("executorch", "xnnpack")),
    Runtime("tflite", "litert", "ai-edge-litert", ("tflite", "tflite")),
    Runtime("onnx", "onnxruntime", "onnxruntime", ("onnx", "onnxruntime")),
    # coremltools predicts on macOS only; elsewhere parity checks a Core ML file's interface.
    Runtime("coreml", "coreml", "coremltools", ("coreml", "coreml"), systems=("Darwin",)),
)}

def format_of(artifact: tuple) -> Format:
    """The format row that writes artifacts of this (format, backend) pair: its plug-in runs them."""
    return next(f for f in FORMATS.values() if f.artifact == tuple(artifact))


# The (format, backend) pairs each app has a runtime adapter for.
APPS = {
    "android": frozenset({("tflite", "tflite"), ("executorch", "xnnpack")}),
    "ios": frozenset({("coreml", "coreml"), ("executorch", "xnnpack"), ("executorch", "coreml")}),
}


def host_runtime(file_format: str, backend: str) -> Runtime | None:
    """The runtime that runs this artifact on this host, or None (Core ML off macOS, a Core ML .pte)."""
    for rt in RUNTIMES.values():
        if rt.artifact == (file_format, backend) and rt.runs_here():
            return rt
    return None


# ---------------------------------------------------------------- sidecar rules config and export share
# (pipeline/export/sidecar.py is the sidecar's schema; config sits below export, so the rules live here.)
SPECIAL_TOKENS = 3  # [CLS] question [SEP] context [SEP]


def query_room(max_seq_length: int, max_query_length: int) -> int:
    """Question tokens a window keeps: at most half of it (at 128 tokens the 384-token defaults cannot fit)."""
    return min(max_query_length, max_seq_length // 2)


def fit_window(seq_len: int, max_query_length: int, doc_stride: int, max_answer_length: int) -> dict:
    """The window settings an artifact of seq_len tokens records: the QA settings cut to fit it."""
    query = query_room(seq_len, max_query_length)
    stride = min(doc_stride, (seq_len - query - SPECIAL_TOKENS) // 2)
    return {"max_seq_length": seq_len, "max_query_length": query, "doc_stride": stride,
            "max_answer_length": max_answer_length}


def window_problem(max_seq_length: int, max_query_length: int, doc_stride: int) -> str | None:
    """The one window rule: windows must advance, so the overlap (doc_stride) stays below the context tokens
    left beside the longest question a window keeps and the special tokens. None when the settings fit."""
    room = max_seq_length - query_room(max_seq_length, max_query_length) - SPECIAL_TOKENS
    if 0 <= doc_stride < room:
        return None
    return (f"doc_stride {doc_stride} must be below max_seq_length {max_seq_length} less the question "
            f"({query_room(max_seq_length, max_query_length)} tokens) and {SPECIAL_TOKENS} special tokens: "
            f"{max(room, 0)}")


# The fewest passage tokens an artifact's window may leave beside the longest question it keeps (about a short
# sentence): fewer, and a window cannot hold an answer with any context, and windows advance a few tokens at a time.
MIN_PASSAGE_TOKENS = 16


def short_window(seq_len: int, max_query_length: int) -> str | None:
    """Why a window of seq_len tokens is too short to hold a question and a passage; None when it is not."""
    query = query_room(seq_len, max_query_length)
    room = seq_len - query - SPECIAL_TOKENS
    if room >= MIN_PASSAGE_TOKENS:
        return None
    return (f"a window of {seq_len} tokens leaves {max(room, 0)} passage tokens beside a question of {query} and "
            f"{SPECIAL_TOKENS} special tokens; it needs at least {MIN_PASSAGE_TOKENS}")


KEEP_FLOAT_SCOPES = ("format", "model", "seq_len")
_MODULE_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z0-9_]+|\*))*")


def parse_keep_float(entry: str) -> tuple[dict, str] | None:
    """An int8 keep-float entry, [format:][model:][seq_len:]module, as ({scope kind: value}, module); None
    when it is not one. format is one whose int8 files can keep modules float (Format.keeps_float)."""
    *scopes, module = str(entry).split(":")
    formats = [n for n, f in FORMATS.items() if f.keeps_float]
    kinds = ["format" if s in formats else "model" if s in MODELS else "seq_len" if s.isdigit() and int(s) > 0
             else None for s in scopes]
    order = [KEEP_FLOAT_SCOPES.index(k) for k in kinds if k]
    if None in kinds or order != sorted(set(order)) or not _MODULE_PATH.fullmatch(module):
        return None
    return dict(zip(kinds, scopes)), module


def keep_float_applies(scope: dict, model: str, fmt: str, seq_len: int | None = None) -> bool:
    """Whether a parsed entry's scope covers one model's files of one format (at one window length)."""
    here = {"format": fmt, "model": model, "seq_len": None if seq_len is None else str(seq_len)}
    return all(here[k] == v for k, v in scope.items())
