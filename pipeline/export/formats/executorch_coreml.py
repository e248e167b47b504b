"""ExecuTorch with the Core ML delegate (.pte, fp16): the iOS app's second ExecuTorch backend. No host
runtime runs it (the Core ML delegate needs Apple's frameworks)."""
from __future__ import annotations

import torch

from pipeline.export.formats.base import ExportFormat, Job


class ExecuTorchCoreML(ExportFormat):
    def convert(self, job: Job) -> dict:
        import coremltools as ct
        from executorch.backends.apple.coreml.compiler import CoreMLBackend
        from executorch.backends.apple.coreml.partition import CoreMLPartitioner
        from executorch.exir import to_edge_transform_and_lower
        specs = CoreMLBackend.generate_compile_specs(compute_precision=ct.precision.FLOAT16,
                                                     minimum_deployment_target=ct.target.iOS17)
        edge = to_edge_transform_and_lower(torch.export.export(job.module, job.args, strict=False),
                                           partitioner=[CoreMLPartitioner(compile_specs=specs)])
        job.path.write_bytes(edge.to_executorch().buffer)
        return {}


PLUGIN = ExecuTorchCoreML()
