"""ExecuTorch with the XNNPACK delegate (.pte): fp32, and int8 / int8-static through PT2E with the
XNNPACK quantizer. On the host it runs through executorch.runtime."""
from __future__ import annotations

from pathlib import Path

import torch

from pipeline.export.formats.base import ExportFormat, Job, with_observer


def _xnnpack_quantize(ep, job: Job):
    """PT2E with the XNNPACK quantizer: per-channel int8 linear weights; dynamic int8 activations,
    or (int8-static) activation ranges observed on the calibration windows."""
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer, get_symmetric_quantization_config)
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    from torchao.quantization.pt2e.quantizer.utils import get_module_name_filter
    static, quant = job.precision == "int8-static", job.quant
    config = get_symmetric_quantization_config(is_per_channel=True, is_dynamic=not static)
    # Linear layers only: set_global would also quantize the adds, and one per-tensor int8 scale
    # for "scores + mask" (mask -10000) wipes out the attention scores (9% answer agreement).
    quantizer = XNNPACKQuantizer().set_operator_type(
        torch.ops.aten.linear.default, with_observer(config, quant.get("observer")) if static else config)
    kept = [get_module_name_filter(n) for n in job.kept()]
    if kept:
        quantizer.set_filter_function(lambda node: not any(k(node) for k in kept))
    if quant.get("embeddings"):
        # 8-bit weight-only, per row: the word table is half of a small model's weights.
        from torchao.quantization.pt2e.quantizer.composable_quantizer import ComposableQuantizer
        from torchao.quantization.pt2e.quantizer.embedding_quantizer import EmbeddingQuantizer
        quantizer = ComposableQuantizer([EmbeddingQuantizer(), quantizer])
    gm = prepare_pt2e(ep.module(), quantizer)
    with torch.no_grad():
        for window in (quant["calibration"] if static else [job.args]):  # dynamic: one pass traces the observers
            gm(*window)
    return torch.export.export(convert_pt2e(gm), job.args, strict=False)


def _lower(ep, path: Path, fuse_embeddings: bool) -> dict:
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.devtools.backend_debug import get_delegation_info
    from executorch.exir import to_edge_transform_and_lower
    edge = to_edge_transform_and_lower(ep, partitioner=[XnnpackPartitioner()])
    info = get_delegation_info(edge.exported_program().graph_module)
    ops = {k: {"delegated": v.delegated, "not_delegated": v.non_delegated}
           for k, v in sorted(info.delegation_by_operator.items())}
    backend_config = None
    if fuse_embeddings:
        from executorch.exir import ExecutorchBackendConfig
        from executorch.exir.passes.quant_fusion_pass import QuantFusionPass
        # XNNPACK has no quantized embedding: this fuses dequantize+embedding into the portable
        # quantized_decomposed::embedding_byte kernel (the runtime must link the quantized kernels).
        backend_config = ExecutorchBackendConfig(passes=[QuantFusionPass()])
    path.write_bytes(edge.to_executorch(backend_config).buffer)
    return {"delegation": {"delegated_nodes": info.num_delegated_nodes,
                           "not_delegated_nodes": info.num_non_delegated_nodes,
                           "subgraphs": info.num_delegated_subgraphs, "by_op": ops}}


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
        out = self.method.execute([torch.from_numpy(feed[n]) for n in self.names])
        return out[0].numpy(), out[1].numpy()


class ExecuTorch(ExportFormat):
    forward = "xnnpack"
    runner = ExecuTorchRunner

    def convert(self, job: Job) -> dict:
        return _lower(torch.export.export(job.module, job.args, strict=False), job.path, False)

    def quantize(self, job: Job) -> dict:
        ep = _xnnpack_quantize(torch.export.export(job.module, job.args, strict=False), job)
        return _lower(ep, job.path, bool(job.quant.get("embeddings")))

    def int8_facts(self, precision: str, quant: dict) -> dict:
        return {"embeddings": "int8 weight-only per row (quantized_decomposed::embedding_byte kernel)"
                if quant.get("embeddings") else "float (not quantized)"}


PLUGIN = ExecuTorch()
