"""The one table of export formats, runtimes, precisions and what each app runs.

Export, parity, the host benchmark, the apps stage and the config's checks all read it, so a
format added here is accepted, exported, checked, timed and staged without a second list to keep
in step. It imports nothing heavy: a bad value is refused before torch loads. An artifact
is identified everywhere by the (format, backend) pair its sidecar records.
"""
from __future__ import annotations

import platform
from dataclasses import dataclass

# int8: dynamic int8 (weights per channel, activations quantized at run time); int8-static: int8
# activations too, their ranges calibrated on train-split windows (export.calibration_windows).
# Core ML int8 is int8 weights with float16 activations; its int8-static is w8a8.
PRECISIONS = ("fp32", "fp16", "int8", "int8-static")
QUANTIZED = ("int8", "int8-static")  # gated on accuracy (F1), not on logit agreement
MODELS = ("teacher", "student", "student_d")  # what qa_finetune trains and the later stages take

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
class Format:
    name: str                 # export.formats option and file name part
    file_format: str          # the sidecar's "format"
    backend: str              # the sidecar's "backend"
    ext: str
    precisions: tuple         # precisions this exporter supports
    keeps_float: bool = False # its int8 files honour export.int8_keep_float (named modules left float)

    @property
    def artifact(self) -> tuple[str, str]:
        return self.file_format, self.backend


FORMATS = {f.name: f for f in (
    Format("coreml", "coreml", "coreml", "mlpackage", ("fp16", "fp32", "int8", "int8-static")),
    Format("executorch", "executorch", "xnnpack", "pte", ("fp32", "int8", "int8-static"), keeps_float=True),
    Format("executorch-coreml", "executorch", "coreml", "pte", ("fp16",)),
    Format("tflite", "tflite", "tflite", "tflite", ("fp32", "fp16", "int8", "int8-static"), keeps_float=True),
    Format("onnx", "onnx", "onnxruntime", "onnx", ("fp32", "int8")),
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
    Runtime("pytorch", "pytorch", "torch", None),
    Runtime("executorch", "executorch", "executorch", ("executorch", "xnnpack")),
    Runtime("tflite", "litert", "ai-edge-litert", ("tflite", "tflite")),
    Runtime("onnx", "onnxruntime", "onnxruntime", ("onnx", "onnxruntime")),
    # coremltools predicts on macOS only; elsewhere parity checks a Core ML file's interface.
    Runtime("coreml", "coreml", "coremltools", ("coreml", "coreml"), systems=("Darwin",)),
)}

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
