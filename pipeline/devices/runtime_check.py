"""Do the staged files run, with the same answers, in the runtime versions and APIs the phones use?

    python pipeline/devices/runtime_check.py --models mobile/android/app/src/main/assets/models
    python pipeline/devices/runtime_check.py --models DIR --other-python /path/to/venv/bin/python

Every .tflite runs through LiteRT's CompiledModel (the Android app's API) and through the Interpreter
that the host's parity gate uses, both from this interpreter's ai-edge-litert. Every .pte runs in this
interpreter's executorch and, with --other-python, in that interpreter's executorch too: iOS pins the
ExecuTorch Swift package swiftpm-1.5.0 while the programs come from the 1.5.1 exporter, and an
environment with the executorch==1.5.0 wheel runs them in that release's runtime. Inputs: the windows of
the hand-written questions at each file's own window settings. Prints, per file, the largest logit
difference and how many answers agree; exit 1 when a file fails to run or an answer differs.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np

from pipeline.data import qa_features
from pipeline.devices import fixtures, host_qa
from pipeline.devices.window_latency import questions

FORMATS = {"tflite": ".tflite", "executorch": ".pte"}


def sidecars(folder: Path) -> list[Path]:
    out = []
    for p in sorted(folder.glob("*.json")):
        meta = json.loads(p.read_text())
        if isinstance(meta, dict) and meta.get("format") in FORMATS and meta.get("backend") in ("tflite", "xnnpack"):
            out.append(p)
    return out


def feeds(meta: dict, folder: Path, count: int) -> list[tuple[dict, list, str]]:
    """(model inputs, offsets, context) for every window of the first `count` hand-written questions."""
    tok = fixtures.load_tokenizer(folder / meta["vocab_file"], meta.get("do_lower_case", True))
    names = [i["name"] for i in meta["inputs"]]
    out = []
    for q in questions()[:count]:
        f = qa_features.prepare_features(tok, [q["question"]], [q["context"]], max_seq_length=meta["seq_len"],
                                         doc_stride=meta["doc_stride"], max_query_length=meta["max_query_length"],
                                         token_type_ids="token_type_ids" in names, pad=True)
        for w in range(len(f["input_ids"])):
            out.append(({n: np.asarray([f[n][w]], dtype=np.int32) for n in names}, f["offset_mapping"][w], q["context"]))
    return out


def logits(path: Path, meta: dict, api: str, count: int) -> np.ndarray:
    """[windows, 2, seq_len] logits of one file through one API ('app' or, for .tflite, 'gate')."""
    if api == "gate":
        from pipeline.export.formats.litert import LiteRTRunner
        run = LiteRTRunner(path, meta, 2)
    else:
        run = host_qa.runner(path, meta, 2)
    return np.stack([np.stack([np.asarray(x, dtype=np.float32).reshape(-1) for x in run(feed)])
                     for feed, _, _ in feeds(meta, path.parent, count)])


def answers(out: np.ndarray, meta: dict, folder: Path, count: int) -> list[str]:
    return [(qa_features.decode_spans([o[0]], [o[1]], [offs], ctx) or [{"text": ""}])[0]["text"]
            for o, (_, offs, ctx) in zip(out, feeds(meta, folder, count))]


def dump(folder: Path, out: Path, count: int) -> None:
    """--dump: every .pte's logits in this interpreter's executorch, for the comparing process."""
    metas = [json.loads(p.read_text()) for p in sidecars(folder)]
    arrays = {m["file"]: logits(folder / m["file"], m, "app", count) for m in metas if m["format"] == "executorch"}
    np.savez(out, version=metadata.version("executorch"), **arrays)


def other_runtime(python: str, folder: Path, count: int) -> tuple[str, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "logits.npz"
        subprocess.run([python, __file__, "--models", str(folder), "--questions", str(count), "--dump", str(out)],
                       check=True, stdout=subprocess.DEVNULL)
        with np.load(out) as z:
            return str(z["version"]), {k: z[k] for k in z.files if k != "version"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", required=True, type=Path, help="staged app folder or export folder")
    ap.add_argument("--other-python", help="an interpreter with another executorch release (e.g. 1.5.0)")
    ap.add_argument("--questions", type=int, default=50, help="hand-written questions to run (50: all)")
    ap.add_argument("--dump", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.dump:
        dump(args.models, args.dump, args.questions)
        return 0
    other_version, other = other_runtime(args.other_python, args.models, args.questions) if args.other_python else ("", {})
    here = {"tflite": f"ai-edge-litert {metadata.version('ai-edge-litert')}",
            "executorch": f"executorch {metadata.version('executorch')}"}
    bad = 0
    for side in sidecars(args.models):
        meta = json.loads(side.read_text())
        path = args.models / meta["file"]
        ours = logits(path, meta, "app", args.questions)
        if meta["format"] == "tflite":
            theirs, label = logits(path, meta, "gate", args.questions), f"{here['tflite']}: CompiledModel vs Interpreter"
        elif path.name in other:
            theirs, label = other[path.name], f"{here['executorch']} vs executorch {other_version}"
        else:
            print(f"{path.name}: runs in {here['executorch']} ({len(ours)} windows); no other runtime to compare")
            continue
        same = sum(a == b for a, b in zip(answers(ours, meta, args.models, args.questions),
                                          answers(theirs, meta, args.models, args.questions)))
        diff = float(np.max(np.abs(ours - theirs)))
        bad += same != len(ours)
        print(f"{path.name}: {label}: max |logit diff| {diff:.2e}, same answer in {same}/{len(ours)} windows")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
