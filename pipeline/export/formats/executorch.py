"""ExecuTorch with the XNNPACK delegate (.pte): fp32, int8 / int8-static through PT2E with the XNNPACK quantizer,
and int4 through torchao's quantize_ (the configs ExecuTorch's own LLM export uses). On the host it runs through
executorch.runtime."""
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


def _int4(job: Job):
    """4-bit weights, 8-bit dynamic activations: linear layers as torchao's Int8DynamicActivationIntxWeightConfig
    (per-token int8 activations, 4-bit weights per group), which XNNPACK lowers to its dynamically quantized
    kernels; embedding tables 4-bit weight-only (IntxWeightOnlyConfig), which to_executorch fuses into
    quantized_decomposed::embedding_4bit. The modules the search moved to 8 bits get the same configs with int8
    weights per channel. Linear weights stay symmetric whatever export.int4_scheme says: XNNPACK's 4-bit kernels
    take no zero point, and asymmetric ones were lowered with it dropped (docs/experiments.md, issue 38)."""
    import copy
    from torchao.quantization.granularity import PerAxis, PerGroup
    from torchao.quantization.quant_api import (Int8DynamicActivationIntxWeightConfig, IntxWeightOnlyConfig,
                                                MappingType, quantize_)
    module, eight = copy.deepcopy(job.module), set(job.at_8_bits())  # quantize_ replaces weights in place
    group = PerGroup(job.quant["group_size"])
    table_mapping = MappingType.SYMMETRIC if job.quant["symmetric"] else MappingType.ASYMMETRIC

    def only(kind, bits):  # exactly nn.Linear: the QA heads (export_model.QAHead) stay float, as in int8
        return lambda m, fqn: type(m) is kind and (fqn in eight) == (bits == 8)
    quantize_(module, Int8DynamicActivationIntxWeightConfig(weight_dtype=torch.int4, weight_granularity=group),
              filter_fn=only(torch.nn.Linear, 4))
    quantize_(module, Int8DynamicActivationIntxWeightConfig(weight_dtype=torch.int8, weight_granularity=PerAxis(0)),
              filter_fn=only(torch.nn.Linear, 8))
    quantize_(module, IntxWeightOnlyConfig(weight_dtype=torch.int4, granularity=group, mapping_type=table_mapping),
              filter_fn=only(torch.nn.Embedding, 4))
    quantize_(module, IntxWeightOnlyConfig(weight_dtype=torch.int8, granularity=PerAxis(0)),
              filter_fn=only(torch.nn.Embedding, 8))
    return torch.export.export(module, job.args, strict=False)


def _lower(ep, path: Path, fuse_embeddings: bool, torchao: bool = False) -> dict:
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.devtools.backend_debug import get_delegation_info
    from executorch.exir import to_edge_transform_and_lower
    edge = to_edge_transform_and_lower(ep, partitioner=[XnnpackPartitioner()])
    info = get_delegation_info(edge.exported_program().graph_module)
    ops = {k: {"delegated": v.delegated, "not_delegated": v.non_delegated}
           for k, v in sorted(info.delegation_by_operator.items())}
    backend_config = None
    if torchao:
        from executorch.exir import ExecutorchBackendConfig
        # torchao's dequantize_affine + embedding become quantized_decomposed::embedding_4bit / embedding_byte
        # (portable kernels, as int8's below), and their packing ops are folded into constants.
        backend_config = ExecutorchBackendConfig(do_quant_fusion_and_const_prop=True)
    elif fuse_embeddings:
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
        if "quantized_decomposed::" in str(sidecar.get("quantization", {}).get("embeddings", "")):
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
        if job.precision == "int4":
            return _lower(_int4(job), job.path, True, torchao=True)
        ep = _xnnpack_quantize(torch.export.export(job.module, job.args, strict=False), job)
        return _lower(ep, job.path, bool(job.quant.get("embeddings")))

    def int8_facts(self, precision: str, quant: dict) -> dict:
        return {"embeddings": "int8 weight-only per row (quantized_decomposed::embedding_byte kernel)"
                if quant.get("embeddings") else "float (not quantized)"}

    def int4_facts(self, quant: dict) -> dict:
        scheme = "symmetric" if quant["symmetric"] else "asymmetric"
        return {"weights": "linear layers 4-bit symmetric per group of input channels (torchao "
                           "Int8DynamicActivationIntxWeightConfig, XNNPACK; it has no asymmetric 4-bit kernel)",
                "activations": "int8 per token, dynamic",
                "embeddings": f"4-bit {scheme} weight-only per group (quantized_decomposed::embedding_4bit kernel); "
                              "position embeddings float",
                "qa_heads": "float"}


PLUGIN = ExecuTorch()
