"""Answer questions on the host as the apps do: each staged file's sidecar settings and vocabulary, the
window choice of pipeline/devices/windows.py, and the runtime API the phone calls (LiteRT 2.x's
CompiledModel, ExecuTorch's forward method). Used by runtime_check.py and window_latency.py.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from pipeline.data import qa_features
from pipeline.devices import fixtures, windows


class CompiledModelRunner:
    """A .tflite through ai_edge_litert's CompiledModel on the CPU, as LiteRtQaModel runs it on Android:
    buffers made once and named as the sidecar lists them, signature 0."""

    def __init__(self, path: Path, sidecar: dict, threads: int):
        from ai_edge_litert.compiled_model import CompiledModel
        from ai_edge_litert.cpu_options import CpuOptions
        from ai_edge_litert.options import Options
        self.model = CompiledModel.from_file(str(path), options=Options(cpu_options=CpuOptions(num_threads=threads)))
        key = self.model.get_signature_by_index(0)["key"]
        self.inputs = {i["name"]: self.model.create_input_buffer_by_name(key, i["name"]) for i in sidecar["inputs"]}
        self.outputs = {o["name"]: self.model.create_output_buffer_by_name(key, o["name"]) for o in sidecar["outputs"]}
        self.key, self.n = key, int(sidecar["seq_len"])
        self.out_names = [o["name"] for o in sidecar["outputs"]]

    def __call__(self, feed: dict):
        for name, buf in self.inputs.items():
            buf.write(np.ascontiguousarray(feed[name], dtype=np.int32))
        self.model.run_by_name(self.key, self.inputs, self.outputs)
        return tuple(self.outputs[n].read(self.n, np.float32) for n in self.out_names)


def runner(path: Path, sidecar: dict, threads: int = 2):
    """The phone's API for this file on this host's runtime package."""
    if sidecar["format"] == "tflite":
        return CompiledModelRunner(path, sidecar, threads)
    if sidecar["format"] == "executorch":
        from pipeline.export.formats.executorch import ExecuTorchRunner
        return ExecuTorchRunner(path, sidecar, threads)
    raise ValueError(f"{path.name}: no phone runtime on this host for format {sidecar['format']}")


class StagedModel:
    """One model, runtime and precision at each of its window lengths (one entry of an app's picker)."""

    def __init__(self, sidecars: list[Path], threads: int = 2):
        self.lengths = sorted((json.loads(p.read_text()) | {"_dir": p.parent} for p in sidecars),
                              key=lambda m: m["seq_len"])
        first = self.lengths[0]
        self.tok = fixtures.load_tokenizer(first["_dir"] / first["vocab_file"], first.get("do_lower_case", True))
        self.runners = {m["seq_len"]: runner(m["_dir"] / m["file"], m, threads) for m in self.lengths}

    def setting(self, seq_len: int) -> dict:
        m = next(m for m in self.lengths if m["seq_len"] == seq_len)
        return {k: m[k] for k in ("seq_len", "doc_stride", "max_query_length", "max_answer_length")}

    def choose(self, question: str, context: str) -> int:
        return windows.choose(self.tok, question, context, [self.setting(m["seq_len"]) for m in self.lengths])["seq_len"]

    def answer(self, question: str, context: str, seq_len: int) -> tuple[str, dict]:
        """(answer text, milliseconds spent in tokenize / model / decode)."""
        s = self.setting(seq_len)
        tt = "token_type_ids" in [i["name"] for i in next(m for m in self.lengths if m["seq_len"] == seq_len)["inputs"]]
        t0 = time.perf_counter()
        f = qa_features.prepare_features(self.tok, [question], [context], max_seq_length=seq_len,
                                         doc_stride=s["doc_stride"], max_query_length=s["max_query_length"],
                                         token_type_ids=tt, pad=True)
        t1 = time.perf_counter()
        starts, ends = [], []
        for w in range(len(f["input_ids"])):
            feed = {k: np.asarray([f[k][w]], dtype=np.int32) for k in ("input_ids", "attention_mask", "token_type_ids")
                    if k in f}
            st, en = self.runners[seq_len](feed)
            starts.append(np.asarray(st).reshape(-1))
            ends.append(np.asarray(en).reshape(-1))
        t2 = time.perf_counter()
        spans = qa_features.decode_spans(starts, ends, f["offset_mapping"], context,
                                         max_answer_length=s["max_answer_length"])
        t3 = time.perf_counter()
        ms = {"tokenize": (t1 - t0) * 1e3, "model": (t2 - t1) * 1e3, "decode": (t3 - t2) * 1e3}
        return (spans[0]["text"] if spans else ""), ms | {"windows": len(f["input_ids"])}
