"""Core ML (.mlpackage, mlprogram): fp32/fp16 through ct.convert from torch.export; int8 weights, 4-bit weights
per block (int4, iOS 18), and w8a8 (int8-static) whose calibration predicts with Core ML, so on macOS only.
coremltools predicts on macOS only: elsewhere parity checks the package's declared interface against its sidecar."""
from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
import torch

from pipeline.export.formats.base import OUTPUT_NAMES, ExportFormat, Job


def _convert(job: Job):
    import coremltools as ct
    ep = torch.export.export(job.module, job.args, strict=False).run_decompositions()
    # quantize/dequantize activations (int8-static) need iOS 17's opset, 4-bit blocks iOS 18's
    target = {"int8-static": ct.target.iOS17, "int4": ct.target.iOS18}.get(job.precision, ct.target.iOS16)
    inputs = [ct.TensorType(name=n, shape=tuple(a.shape), dtype=np.int32) for n, a in zip(job.input_names, job.args)]
    return ct.convert(ep, inputs=inputs, outputs=[ct.TensorType(name=n, dtype=np.float32) for n in OUTPUT_NAMES],
                      convert_to="mlprogram", minimum_deployment_target=target,
                      compute_precision=ct.precision.FLOAT32 if job.precision == "fp32" else ct.precision.FLOAT16)


def _save(mlmodel, path: Path) -> dict:
    mlmodel.short_description = "DistilKit extractive QA: start/end logits over the window"
    mlmodel.save(str(path))
    return {}


def _quantize(mlmodel, job: Job):
    """int8: int8 symmetric per-channel weights (coremltools.optimize); int8-static: activations
    too (w8a8), their ranges calibrated by running the model, which only Core ML on macOS can do; int4: 4-bit
    weights per block of export.int4_group_size input channels, symmetric or with a zero point per block."""
    import coremltools.optimize as cto
    if job.precision == "int4":
        return cto.coreml.linear_quantize_weights(mlmodel, config=cto.coreml.OptimizationConfig(
            global_config=cto.coreml.OpLinearQuantizerConfig(
                mode="linear_symmetric" if job.quant["symmetric"] else "linear", dtype="int4",
                granularity="per_block", block_size=job.quant["group_size"])))
    if job.precision == "int8-static":
        samples = [{n: t.numpy() for n, t in zip(job.input_names, window)} for window in job.quant["calibration"]]
        act = cto.coreml.OptimizationConfig(global_config=cto.coreml.OpLinearQuantizerConfig(mode="linear_symmetric"))
        mlmodel = cto.coreml.linear_quantize_activations(mlmodel, act, samples)
    config = cto.coreml.OptimizationConfig(global_config=cto.coreml.OpLinearQuantizerConfig(
        mode="linear_symmetric", dtype="int8", granularity="per_channel"))
    return cto.coreml.linear_quantize_weights(mlmodel, config=config)


class CoreMLRunner:  # macOS only: coremltools cannot predict on Linux
    def __init__(self, path: Path, sidecar: dict, threads: int):
        import coremltools as ct
        self.model = ct.models.MLModel(str(path))
        self.names = [i["name"] for i in sidecar["inputs"]]

    def __call__(self, feed: dict):
        out = self.model.predict({n: feed[n] for n in self.names})
        return np.asarray(out["start_logits"], np.float32), np.asarray(out["end_logits"], np.float32)


def spec_problems(path: Path, sidecar: dict) -> list[str]:
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


class CoreML(ExportFormat):
    embeddings = "int8 weights (coremltools quantizes every constant weight)"
    runner = CoreMLRunner

    def convert(self, job: Job) -> dict:
        return _save(_convert(job), job.path)

    def cannot_make(self, precision: str) -> str | None:
        if precision == "int8-static" and platform.system() != "Darwin":
            return ("Core ML w8a8 calibrates its activation ranges by predicting with Core ML, which runs on macOS "
                    "only; make these files on a Mac")
        return None

    def quantize(self, job: Job) -> dict:
        why = self.cannot_make(job.precision)
        if why:  # export plans these out; a direct call still stops before a conversion that cannot finish
            raise NotImplementedError(f"Core ML {job.precision}: {why}")
        return _save(_quantize(_convert(job), job), job.path)

    def int8_facts(self, precision: str, quant: dict) -> dict:
        static = precision == "int8-static"
        return {"embeddings": self.embeddings,
                "weights": "int8 symmetric per output channel (coremltools.optimize linear_quantize_weights)",
                "activations": "int8, ranges calibrated by Core ML predictions" if static else
                "float16 (weights dequantized at load)",
                # parity cannot run a Core ML file off macOS: the accuracy gate is open until it does.
                "gate": "not run on host (Core ML predicts on macOS only)"}

    def int4_facts(self, quant: dict) -> dict:
        scheme = "symmetric" if quant["symmetric"] else "asymmetric (a zero point per block)"
        return {"weights": f"4-bit {scheme} per block of input channels, every constant weight over 2048 "
                           "elements (coremltools.optimize linear_quantize_weights, iOS 18)",
                "activations": "float16 (weights dequantized at load)",
                "embeddings": "4-bit like every other constant weight",
                "gate": "not run on host (Core ML predicts on macOS only)"}

    def interface_problems(self, path: Path, sidecar: dict) -> list[str] | None:
        return spec_problems(path, sidecar)


PLUGIN = CoreML()
