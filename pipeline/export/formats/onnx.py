"""ONNX (.onnx) through torch.onnx's dynamo exporter: fp32, and ONNX Runtime's own dynamic int8 (the peer the
other formats' int8 is compared against). On the host it runs in ONNX Runtime's CPU provider."""
from __future__ import annotations

from pathlib import Path

import torch

from pipeline.export.formats.base import OUTPUT_NAMES, ExportFormat, Job


def _export(job: Job, target: Path) -> None:
    torch.onnx.export(job.module, job.args, str(target), input_names=job.input_names, output_names=OUTPUT_NAMES,
                      dynamo=True, external_data=False, verbose=False)


class OnnxRunner:
    def __init__(self, path: Path, sidecar: dict, threads: int):
        import onnxruntime as ort
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        self.sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.names = [i["name"] for i in sidecar["inputs"]]

    def __call__(self, feed: dict):
        start, end = self.sess.run(OUTPUT_NAMES, {n: feed[n] for n in self.names})
        return start, end


class Onnx(ExportFormat):
    embeddings = "int8 (ONNX Runtime quantizes Gather)"
    runner = OnnxRunner

    def convert(self, job: Job) -> dict:
        _export(job, job.path)
        return {}

    def quantize(self, job: Job) -> dict:
        from onnxruntime.quantization import QuantType, quantize_dynamic
        target = job.path.with_suffix(".fp32-tmp.onnx")
        _export(job, target)
        try:
            quantize_dynamic(str(target), str(job.path), per_channel=True, weight_type=QuantType.QInt8)
        finally:
            target.unlink(missing_ok=True)
        return {}


PLUGIN = Onnx()
