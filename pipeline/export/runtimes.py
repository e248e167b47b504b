"""Load an exported artifact in its own runtime and run one [1, L] window through it.

Shared by the parity gate, the host benchmark and distilkit-ask, so all measure the same code path.
The runners are the format plug-ins' (pipeline/export/formats, `runner`). Every runner takes a dict
of int32 numpy arrays named as in the sidecar and returns (start_logits, end_logits) as float32
numpy arrays of shape [1, L].
"""
from __future__ import annotations

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


def runner_class(runtime: registry.Runtime):
    """The host runner of a runtime: its artifact's format plug-in's (pipeline/export/formats)."""
    from pipeline.export import formats
    return formats.for_artifact(*runtime.artifact).runner


def __getattr__(name: str):
    if name == "RUNNERS":  # registry runtime name -> the class that runs its artifacts, from the plug-ins
        return {rt.name: runner_class(rt) for rt in registry.RUNTIMES.values()
                if rt.artifact is not None and runner_class(rt) is not None}
    raise AttributeError(name)


def load(path: Path, threads: int = 1, sidecar: dict | None = None):
    """(runner, sidecar). Raises NotRunnable when this host has no runtime for the artifact."""
    path = Path(path)
    if sidecar is None:
        from pipeline.export import sidecar as schema
        sidecar = schema.read_for(path).to_json()
    rt = registry.host_runtime(sidecar["format"], sidecar["backend"])
    runner = runner_class(rt) if rt is not None else None
    if runner is None:
        raise NotRunnable(f"no {sidecar['backend']} runtime for {sidecar['format']} on {platform.system()}")
    with quiet.captured_output():  # native runtimes log CPU probing and delegate set-up on load
        return runner(path, sidecar, threads), sidecar


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
