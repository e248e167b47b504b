"""Load an exported artifact in its own runtime and run one [1, L] window through it.

Shared by the parity gate and the host benchmark, so both measure the same code path.
Every runner takes a dict of int32 numpy arrays named as in the sidecar and returns
(start_logits, end_logits) as float32 numpy arrays of shape [1, L].
"""
from __future__ import annotations

import json
import platform
from importlib import metadata
from pathlib import Path

import numpy as np

from pipeline import quiet
from pipeline.core import registry

class NotRunnable(Exception):
    """This artifact has no runtime on this host (Core ML on Linux, a Core ML-delegated .pte)."""


def version(pkg: str) -> str:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return "unknown"


def _load_quantized_kernels() -> None:
    """int8 programs with quantized embeddings call quantized_decomposed::embedding_byte, which the
    pybindings do not register; the wheel's kernel library does, once loaded into the process."""
    import ctypes
    import importlib.util
    spec = importlib.util.find_spec("executorch")
    for root in (spec.submodule_search_locations or []) if spec else []:
        lib = Path(root) / "lib" / "libexecutorch_kernels_quantized.so"
        if lib.is_file():
            ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
            return


class ExecuTorchRunner:
    def __init__(self, path: Path, sidecar: dict, threads: int):
        from executorch.runtime import Runtime
        if "embedding_byte" in str(sidecar.get("quantization", {}).get("embeddings", "")):
            _load_quantized_kernels()
        self.names = [i["name"] for i in sidecar["inputs"]]
        self.method = Runtime.get().load_program(str(path)).load_method("forward")

    def __call__(self, feed: dict):
        import torch
        out = self.method.execute([torch.from_numpy(feed[n]) for n in self.names])
        return out[0].numpy(), out[1].numpy()


class LiteRTRunner:
    def __init__(self, path: Path, sidecar: dict, threads: int):
        from ai_edge_litert.interpreter import Interpreter
        self.names = [i["name"] for i in sidecar["inputs"]]
        self.interp = Interpreter(model_path=str(path), num_threads=max(1, threads))
        self.runner = self.interp.get_signature_runner()
        # LiteRT applies the XNNPACK delegate on the first invoke: do it while loading, so that load
        # time includes it and its start-up line is captured with the rest of the load.
        self(feed_for(sidecar, {i["name"]: [0] * int(np.prod(i["shape"])) for i in sidecar["inputs"]}))

    def __call__(self, feed: dict):
        out = self.runner(**{n: feed[n] for n in self.names})
        return out["start_logits"], out["end_logits"]


class OnnxRunner:
    def __init__(self, path: Path, sidecar: dict, threads: int):
        import onnxruntime as ort
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        self.sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.names = [i["name"] for i in sidecar["inputs"]]

    def __call__(self, feed: dict):
        start, end = self.sess.run(["start_logits", "end_logits"], {n: feed[n] for n in self.names})
        return start, end


class CoreMLRunner:  # macOS only: coremltools cannot predict on Linux
    def __init__(self, path: Path, sidecar: dict, threads: int):
        import coremltools as ct
        self.model = ct.models.MLModel(str(path))
        self.names = [i["name"] for i in sidecar["inputs"]]

    def __call__(self, feed: dict):
        out = self.model.predict({n: feed[n] for n in self.names})
        return np.asarray(out["start_logits"], np.float32), np.asarray(out["end_logits"], np.float32)


# registry runtime name -> the class that runs its artifacts
RUNNERS = {"executorch": ExecuTorchRunner, "tflite": LiteRTRunner, "onnx": OnnxRunner, "coreml": CoreMLRunner}


def load(path: Path, threads: int = 1, sidecar: dict | None = None):
    """(runner, sidecar). Raises NotRunnable when this host has no runtime for the artifact."""
    path = Path(path)
    sidecar = sidecar or json.loads(Path(f"{path}.json").read_text())
    rt = registry.host_runtime(sidecar["format"], sidecar["backend"])
    if rt is None:
        raise NotRunnable(f"no {sidecar['backend']} runtime for {sidecar['format']} on {platform.system()}")
    with quiet.captured_output():  # native runtimes log CPU probing and delegate set-up on load
        return RUNNERS[rt.name](path, sidecar, threads), sidecar


def set_threads(n: int) -> None:
    """One CPU thread count for eager PyTorch and ExecuTorch's shared pool (LiteRT and ONNX Runtime
    take theirs per model, in `load`)."""
    import torch
    torch.set_num_threads(n)
    try:
        from executorch.extension.pybindings.portable_lib import _unsafe_reset_threadpool
        with quiet.captured_output():  # ExecuTorch logs the reset (and its CPU probing) natively
            _unsafe_reset_threadpool(n)
    except (ImportError, RuntimeError):
        pass


def feed_for(sidecar: dict, window: dict) -> dict:
    """The artifact's inputs from one feature window (lists of ints, already padded to L)."""
    return {i["name"]: np.asarray(window[i["name"]], dtype=np.int32).reshape(1, -1) for i in sidecar["inputs"]}


def coreml_spec_problems(path: Path, sidecar: dict) -> list[str]:
    """Check a .mlpackage's declared interface against its sidecar without running it (Linux)."""
    import coremltools as ct
    spec = ct.utils.load_spec(str(path))
    problems = []
    want_types = {"int32": ct.proto.FeatureTypes_pb2.ArrayFeatureType.INT32,
                  "float32": ct.proto.FeatureTypes_pb2.ArrayFeatureType.FLOAT32,
                  "float16": ct.proto.FeatureTypes_pb2.ArrayFeatureType.FLOAT16}
    for side, declared in (("input", spec.description.input), ("output", spec.description.output)):
        got = {d.name: d for d in declared}
        for want in sidecar[f"{side}s"]:
            d = got.get(want["name"])
            if d is None:
                problems.append(f"{side} '{want['name']}' missing (model has {sorted(got)})")
                continue
            arr = d.type.multiArrayType
            if arr.dataType != want_types[want["dtype"]] and not (side == "output" and arr.dataType == want_types["float16"]):
                problems.append(f"{side} '{want['name']}' has data type {arr.dataType}, sidecar says {want['dtype']}")
            if list(arr.shape) and list(arr.shape) != want["shape"]:
                problems.append(f"{side} '{want['name']}' has shape {list(arr.shape)}, sidecar says {want['shape']}")
    return problems
