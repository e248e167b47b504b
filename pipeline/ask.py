"""Ask a trained model a question from the shell: distilkit-ask (or python -m pipeline.ask).

    distilkit-ask --model runs/demo/qa_finetune/student --question "Who built it?" --context-file notes.txt
    distilkit-ask --model runs/demo/export/student.tflite.fp32.384.tflite --question "..." --context "..."

--model is a checkpoint folder that qa_finetune wrote (save_pretrained of the QA model with its
tokenizer), or an exported artifact (.pte, .tflite, .onnx; .mlpackage on macOS) with its JSON
sidecar and vocabulary beside it, as the export stage writes them. The question and context are
cut into windows and the answer decoded exactly as the iOS and Android apps do (the reference in
pipeline/data/qa_features.py); an artifact is read with the vocabulary and window sizes of its sidecar
(pipeline/export/sidecar.py), the only things the apps get; a checkpoint folder with the QA window
settings its run recorded (the run's manifest.json beside qa_finetune/), cut to the window length as
export cuts them, or the built-in ones for a folder outside a run. Prints the best answer, its score (start + end logit), the other
top-k answers, and the time the model took for all windows (ms). Bad input: one `error:` line on
stderr and exit status 2.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from pipeline import quiet
from pipeline.config import UserError

ARTIFACT_SUFFIXES = (".pte", ".tflite", ".onnx", ".mlpackage")
DEFAULT_SEQ_LEN = 384  # the apps' window length


@dataclass
class Model:
    path: Path
    runtime: str                      # what ran it, for the report line
    tokenizer: object
    window: dict                      # max_seq_length, doc_stride, max_query_length, max_answer_length
    token_type_ids: bool
    run: Callable[[dict], tuple]      # one padded window -> (start_logits, end_logits)
    load_ms: float
    native: bool = field(default=False)  # a C++ runtime that may print to fd 2 itself
    n_best: int = 20                  # start and end candidates per window, as qa.n_best


# ---------------------------------------------------------------- error lines


def _last_line(lines: list) -> str:
    return f" [{lines[-1].strip()[:200]}]" if lines else ""


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0][:300]}" if text else type(e).__name__


# ---------------------------------------------------------------- opening a model


def recorded_qa(folder: Path) -> argparse.Namespace:
    """The QA settings a checkpoint was trained and exported with: its run's manifest (runs/<preset>/manifest.json,
    beside qa_finetune/<model>), else, for a folder outside a run, the built-in ones (not a preset's)."""
    from pipeline import config
    settings = dataclasses.asdict(config.Config().qa)
    manifest = folder.resolve().parent.parent / "manifest.json"
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8"))["config"]["qa"]
        settings.update({k: v for k, v in recorded.items() if k in settings})
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass  # no run around the folder, or not a DistilKit manifest
    return argparse.Namespace(**settings)


def open_checkpoint(folder: Path, seq_len: int | None, threads: int) -> Model:
    if not (folder / "config.json").is_file():
        arts = sorted(p.name for s in ARTIFACT_SUFFIXES[:3] for p in folder.glob(f"*{s}"))
        subs = sorted(p.parent.name for p in folder.glob("*/config.json"))
        hint = (f"; it holds exported artifacts, e.g. {arts[0]}" if arts else
                f"; it holds checkpoint folders: {', '.join(subs)}" if subs else "")
        raise UserError(f"{folder} has no model (no config.json): give a checkpoint folder written by "
                        f"save_pretrained, or an exported .pte/.tflite/.onnx file{hint}")
    try:
        archs = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("architectures") or []
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as e:
        raise UserError(f"{folder}/config.json is not a model config ({e})") from None
    if archs and not any(str(a).endswith("ForQuestionAnswering") for a in archs):
        # transformers would load it with a fresh, untrained span head and answer at random.
        raise UserError(f"{folder} holds a {', '.join(map(str, archs))} checkpoint, not a question-answering one: "
                        f"use a folder that qa_finetune wrote (e.g. runs/<preset>/qa_finetune/student)")
    import torch
    from transformers import AutoTokenizer
    from pipeline.export.export_model import load_qa
    from pipeline.export.sidecar import Window
    from pipeline.core.models import quiet_transformers, uses_token_types
    quiet_transformers()
    t0 = time.perf_counter()
    try:
        tok = AutoTokenizer.from_pretrained(str(folder))
    except Exception as e:  # noqa: BLE001 - missing or broken tokenizer files
        raise UserError(f"cannot read the tokenizer in {folder} ({_first_line(e)})") from None
    if not getattr(tok, "is_fast", False):
        raise UserError(f"the tokenizer in {folder} is not a fast tokenizer (tokenizer.json); windows need its offsets")
    try:
        model = load_qa(folder)
    except Exception as e:  # noqa: BLE001 - missing, truncated or foreign weights
        raise UserError(f"cannot load the checkpoint in {folder} ({_first_line(e)})") from None
    load_ms = (time.perf_counter() - t0) * 1000
    max_pos = int(getattr(model.config, "max_position_embeddings", DEFAULT_SEQ_LEN))
    length = seq_len or min(DEFAULT_SEQ_LEN, max_pos)
    if not 8 <= length <= max_pos:
        raise UserError(f"--seq-len {length}: this model takes windows of 8..{max_pos} tokens")
    qa = recorded_qa(folder)
    window = Window.fit(length, qa).as_dict()
    use_tt = uses_token_types(model)
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if use_tt else [])

    @torch.no_grad()
    def run(w: dict):
        out = model(**{n: torch.tensor([w[n]], dtype=torch.long) for n in names})
        return out.start_logits[0].float().numpy(), out.end_logits[0].float().numpy()

    threads_now = torch.get_num_threads()
    return Model(folder, f"pytorch {torch.__version__.split('+')[0]} (transformers eager, {threads_now} "
                 f"thread{'s' * (threads_now != 1)})", tok, window, use_tt, run, load_ms, n_best=qa.n_best)


def open_artifact(path: Path, seq_len: int | None, threads: int) -> Model:
    from pipeline.export import sidecar as schema
    sc = schema.read_for(path).to_json()
    if seq_len and seq_len != sc["seq_len"]:
        parts = path.name.split(".")
        sibling = path.with_name(".".join(parts[:-2] + [str(seq_len), parts[-1]])) if len(parts) >= 3 else None
        hint = f"; use {sibling.name}" if sibling is not None and sibling.exists() else ""
        raise UserError(f"{path.name} takes windows of {sc['seq_len']} tokens only; --seq-len {seq_len} needs "
                        f"the artifact exported at {seq_len}{hint}")
    vocab = path.parent / str(sc["vocab_file"])
    if not vocab.is_file():
        raise UserError(f"{path}: vocabulary {sc['vocab_file']} named in its sidecar is missing")
    from pipeline.export import runtimes
    from pipeline.devices.fixtures import load_tokenizer
    try:
        tok = load_tokenizer(vocab, bool(sc["do_lower_case"]))
    except Exception as e:  # noqa: BLE001 - unreadable vocabulary
        raise UserError(f"cannot read vocabulary {vocab} ({_first_line(e)})") from None
    from pipeline.core import registry
    rt = registry.host_runtime(sc["format"], sc["backend"])
    native: list = []
    t0 = time.perf_counter()
    try:
        with quiet.captured_output(sink=native):
            runner, _ = runtimes.load(path, threads, sc)
    except runtimes.NotRunnable as e:
        raise UserError(f"{path.name}: {e}") from None
    except Exception as e:  # noqa: BLE001 - a truncated or foreign file fails in the runtime's own way
        raise UserError(f"cannot load {path} in {rt.label} ({_first_line(e)}){_last_line(native)}") from None
    load_ms = (time.perf_counter() - t0) * 1000
    window = {k: sc[k] for k in schema.WINDOW_KEYS}

    def run(w: dict):
        return runner(runtimes.feed_for(sc, w))

    label = f"{rt.package} {runtimes.version(rt.package)} ({sc['format']}/{sc['backend']}, {sc.get('precision', '?')})"
    return Model(path, label, tok, window, bool(sc["uses_token_type_ids"]), run, load_ms, native=True)


def open_model(path, seq_len: int | None = None, threads: int = 0) -> Model:
    path = Path(path).expanduser()
    if path.suffix == ".json" and path.with_suffix("").exists():  # the sidecar named instead of its artifact
        path = path.with_suffix("")
    if not path.exists():
        raise UserError(f"model not found: {path}")
    if threads:
        from pipeline.export import runtimes
        runtimes.set_threads(threads)  # eager PyTorch and ExecuTorch's process-wide pool
    if path.suffix in ARTIFACT_SUFFIXES:
        return open_artifact(path, seq_len, threads)
    if path.is_dir():
        return open_checkpoint(path, seq_len, threads)
    raise UserError(f"{path} is neither a checkpoint folder nor an exported artifact ({', '.join(ARTIFACT_SUFFIXES)})")


# ---------------------------------------------------------------- answering


def answer(model: Model, question: str, context: str, top_k: int = 1) -> dict:
    """Best spans of `context` for `question`: windows and decoding of pipeline.data.qa_features."""
    import numpy as np
    from pipeline.data.qa_features import decode_spans, prepare_features
    w = model.window
    try:
        feats = prepare_features(model.tokenizer, [question], [context], max_seq_length=w["max_seq_length"],
                                 doc_stride=w["doc_stride"], max_query_length=w["max_query_length"],
                                 token_type_ids=model.token_type_ids, pad=True)
    except BaseException as e:  # noqa: BLE001 - the Rust tokenizer panics (not an Exception) on sizes that do not fit
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        raise UserError(f"windows of {w['max_seq_length']} tokens with doc_stride {w['doc_stride']} and "
                        f"max_query_length {w['max_query_length']} do not fit ({_first_line(e)})") from None
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if model.token_type_ids else [])
    windows = [{n: feats[n][i] for n in names} for i in range(len(feats["input_ids"]))]
    starts, ends, native = [], [], []
    try:
        with quiet.captured_output(sink=native) if model.native else contextlib.nullcontext():
            # One untimed window first: the first call of every runtime pays for lazy set-up
            # (eager PyTorch ~200 ms on a tiny model), which is not the model's latency.
            model.run(windows[0])
            t0 = time.perf_counter()
            for w_in in windows:
                s, e = model.run(w_in)
                starts.append(np.asarray(s, np.float32).reshape(-1))
                ends.append(np.asarray(e, np.float32).reshape(-1))
            latency_ms = (time.perf_counter() - t0) * 1000
    except Exception as e:  # noqa: BLE001 - an artifact that loads but cannot run (wrong inputs, bad graph)
        raise UserError(f"{model.path.name} failed to run a window ({_first_line(e)}){_last_line(native)}") from None
    spans = decode_spans(starts, ends, feats["offset_mapping"], context, n_best=model.n_best,
                         max_answer_length=w["max_answer_length"])
    best = spans[0] if spans else None
    return {"answer": best["text"] if best else "", "score": best["score"] if best else None,
            "start_char": best["start_char"] if best else None, "end_char": best["end_char"] if best else None,
            "candidates": spans[:top_k], "latency_ms": latency_ms, "load_ms": model.load_ms,
            "windows": len(starts), "seq_len": w["max_seq_length"], "max_answer_length": w["max_answer_length"],
            "runtime": model.runtime, "model": str(model.path)}


def format_result(r: dict) -> str:
    if r["score"] is None:
        lines = [f"answer: (none: no span of at most {r['max_answer_length']} tokens found in the context)"]
    else:
        lines = [f"answer: {r['answer']}", f"score: {r['score']:.3f}"]
        for k, c in enumerate(r["candidates"][1:], 2):
            lines.append(f"  {k}. {c['text']} (score {c['score']:.3f})")
    lines.append(f"latency: {r['latency_ms']:.1f} ms for {r['windows']} window{'s' * (r['windows'] != 1)} of "
                 f"{r['seq_len']} tokens, {r['runtime']} (load {r['load_ms']:.0f} ms)")
    return "\n".join(lines)


# ---------------------------------------------------------------- command line


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not usage + message
        print(f"error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def _positive(kind: str, minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{kind} must be an integer, not {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{kind} must be at least {minimum}, not {value}")
        return value
    return parse


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="distilkit-ask", description=__doc__.split("\n\n")[0],
                epilog="The answer is the highest-scoring span over all windows. Latency is the model time "
                       "for all windows of this question after one untimed warm-up window; load time is "
                       "shown apart.")
    p.add_argument("--model", required=True, metavar="PATH",
                   help="checkpoint folder (e.g. runs/demo/qa_finetune/student) or exported artifact "
                        "(.pte, .tflite, .onnx) with its .json sidecar and vocabulary beside it")
    p.add_argument("--question", required=True, metavar="Q", help="the question")
    ctx = p.add_mutually_exclusive_group(required=True)
    ctx.add_argument("--context", metavar="TEXT", help="the passage to find the answer in")
    ctx.add_argument("--context-file", metavar="F", help="read the passage from a UTF-8 text file ('-': stdin)")
    p.add_argument("--seq-len", type=_positive("--seq-len", 8), metavar="N",
                   help=f"window length in tokens; a folder: default {DEFAULT_SEQ_LEN} (or the model's maximum), "
                        "an artifact: must be the length it was exported at")
    p.add_argument("--threads", type=_positive("--threads", 0), default=0, metavar="N",
                   help="CPU threads for the runtime; 0 (default) keeps its own choice")
    p.add_argument("--top-k", type=_positive("--top-k", 1), default=1, metavar="K",
                   help="also list the next best answers, K in all (default 1)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    return p


def _read_inputs(args) -> tuple[str, str]:
    question = args.question.strip()
    if not question:
        raise UserError("the question is empty")
    if args.context_file is not None:
        try:
            context = sys.stdin.read() if args.context_file == "-" else \
                Path(args.context_file).expanduser().read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UserError(f"context file not found: {args.context_file}") from None
        except IsADirectoryError:
            raise UserError(f"context file {args.context_file} is a folder") from None
        except UnicodeDecodeError:
            raise UserError(f"context file {args.context_file} is not UTF-8 text") from None
        except OSError as e:
            raise UserError(f"cannot read context file {args.context_file}: {e.strerror}") from None
    else:
        context = args.context
    if not context.strip():
        raise UserError("the context is empty")
    return question, context


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help (0) or a bad option (2, its line already printed)
        return int(e.code or 0)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        question, context = _read_inputs(args)
        model = open_model(args.model, args.seq_len, args.threads)
        result = answer(model, question, context, args.top_k)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - a failure nobody foresaw: still one line, traceback on request
        if os.environ.get("DISTILKIT_TRACEBACK"):
            raise
        print(f"error: unexpected {_first_line(e)} (DISTILKIT_TRACEBACK=1 shows where)", file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False) if args.json else format_result(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
