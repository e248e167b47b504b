"""LiteRT (.tflite) through litert_torch: fp32, fp16, dynamic-range int8 (litert_torch's full_dynamic_recipe
with export.int8_keep_float's ops left float), full-integer int8-static, and int4 (ai_edge_quantizer's blockwise
4-bit dynamic recipe). On the host it runs through ai_edge_litert's Interpreter."""
from __future__ import annotations

import contextlib
import re
from pathlib import Path

import numpy as np
import torch

from pipeline.config import UserError
from pipeline.export.formats.base import ExportFormat, Job, with_observer


class _NamedOutputs(torch.nn.Module):
    """LiteRT names a signature's outputs after dict keys; a tuple would give output_0/output_1."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        start, end = self.module(input_ids, attention_mask, token_type_ids)
        return {"start_logits": start, "end_logits": end}


class _KeptFloat(torch.nn.Linear):
    """An export.int8_keep_float linear while LiteRT int8-static is traced: litert_torch's quantizer
    takes nn.Linear by type, and its module-name filter cannot parse this torch's nn_module_stack keys,
    so a type of its own keeps the layer float (as export_model.QAHead keeps the logits float)."""


@contextlib.contextmanager
def _typed_apart(module, names: list[str]):
    mods = [module.get_submodule(n) for n in names]
    for name, mod in zip(names, mods):
        if type(mod) is not torch.nn.Linear:
            raise UserError(f"export.int8_keep_float: LiteRT int8-static keeps linear layers only; {name} is "
                            f"{type(mod).__name__}")
        mod.__class__ = _KeptFloat
    try:
        yield
    finally:
        for mod in mods:
            mod.__class__ = torch.nn.Linear


def _static(job: Job):
    """Full-integer int8 through litert_torch's PT2E quantizer: per-channel int8 weights and int8
    activations with ranges observed on the calibration windows. Linear layers only, for the reason
    the ExecuTorch plug-in gives (a global config would also put "scores + mask" on one int8 scale), less
    export.int8_keep_float's."""
    from litert_torch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config
    from litert_torch.quantize.quant_config import QuantConfig
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    config = with_observer(get_symmetric_quantization_config(is_per_channel=True, is_dynamic=False),
                           job.quant.get("observer"))
    quantizer = PT2EQuantizer()
    # Its module-type filter compares against the exported graph's nn_module_stack, which this torch
    # records as qualified type names (strings), so the name is given beside the class. The QA heads
    # (export_model.QAHead) do not match, so the logits stay float32.
    for tp in (torch.nn.Linear, "torch.nn.modules.linear.Linear"):
        quantizer.set_module_type(tp, config)
    named = _NamedOutputs(job.module).eval()
    with _typed_apart(job.module, job.kept()):  # the types are read from the exported graph
        ep = torch.export.export(named, (), dict(zip(job.input_names, job.args)), strict=False)
    gm = prepare_pt2e(ep.module(), quantizer)
    with torch.no_grad():
        for window in job.quant["calibration"]:
            gm(**dict(zip(job.input_names, window)))
    gm = convert_pt2e(gm, fold_quantize=False)
    # QuantConfig reads only the global config's is_dynamic to pick the converter's STATIC
    # q/dq mode; the linear-only quantizer above has no global config, so a static one says it.
    return gm, QuantConfig(pt2e_quantizer=PT2EQuantizer().set_global(config))


def _scope(module, dotted: str) -> str:
    """The location litert_torch writes into a TFLite tensor name for the module at `dotted`: one
    '<qualified type>_<attribute>' per level, a ModuleList's items by index with no level of their own."""
    labels, mod = [], module
    for part in dotted.split("."):
        child = mod[int(part)] if isinstance(mod, torch.nn.ModuleList) else getattr(mod, part)
        if not isinstance(child, torch.nn.ModuleList):
            labels.append(f"{type(child).__module__}.{type(child).__qualname__}_{part}")
        mod = child
    return "/".join(labels)


def _op_scopes(float_model: bytes, module, names: list[str]) -> dict[str, list[str]]:
    """{module name: the recipe scope regexes of every op of that module and of all in it}; none is an error. The
    regexes are whole op scopes (output names joined by ';', as ai_edge_quantizer matches them), so each selects its
    op alone. An op's own module is the first module with a weight named in its scope: litert_torch may name what
    it fused into the op first (the layer norm or the model before q and the QA heads), and k and v carry q's
    location after their own."""
    from ai_edge_litert.tools import flatbuffer_utils
    from ai_edge_quantizer.utils import tfl_flatbuffer_utils
    graph = flatbuffer_utils.read_model_from_bytearray(bytearray(float_model)).subgraphs[0]
    holders = tuple("/" + _scope(module, n) for n, m in module.named_modules()
                    if isinstance(getattr(m, "weight", None), torch.Tensor) and m.weight.dim() == 2)
    owns = {}
    for op in graph.operators:
        scope = tfl_flatbuffer_utils.get_op_scope(op, graph.tensors)
        owns[scope] = next((p for p in scope.split(";") if p.endswith(holders)), "")
    out = {}
    for name in names:
        label = _scope(module, name)
        hits = [s for s, own in owns.items() if own.endswith("/" + label) or f"/{label}/" in own]
        if not hits:
            raise UserError(f"export: no LiteRT op comes from {name} ({label})")
        out[name] = [f"^{re.escape(s)}$" for s in hits]
    return out


def _head_scopes(float_model: bytes) -> list[str]:
    """The recipe scope regexes of the QA heads: the fully connected ops with one output unit (their names are
    not reliable: a head may carry the other head's location first)."""
    from ai_edge_litert.tools import flatbuffer_utils
    from ai_edge_quantizer.utils import tfl_flatbuffer_utils
    model = flatbuffer_utils.read_model_from_bytearray(bytearray(float_model))
    graph, fc = model.subgraphs[0], 9  # BuiltinOperator.FULLY_CONNECTED
    return [f"^{re.escape(tfl_flatbuffer_utils.get_op_scope(op, graph.tensors))}$" for op in graph.operators
            if model.operatorCodes[op.opcodeIndex].builtinCode == fc and graph.tensors[op.inputs[1]].shape[0] == 1]


def _dynamic(float_model: bytes, module, keep: list[str]) -> bytes:
    """Dynamic-range int8 (int8 weights, activations quantized on the fly): litert_torch's
    full_dynamic_recipe run by ai_edge_quantizer, as litert_torch.convert runs it, with the ops of
    export.int8_keep_float's modules set to no quantization (the recipe's own per-layer overrides
    address only litert_torch's generative layers). A kept module with no op in the graph is an error. The QA heads
    stay float, as in ExecuTorch's int8: the recipe would quantize them, and their inputs rounded per token move the
    start and end logits, the very numbers the answer is chosen from."""
    from ai_edge_quantizer import algorithm_manager, qtyping, recipe_manager
    from litert_torch.generative.quantize.quant_recipes import full_dynamic_recipe
    from litert_torch.quantize import translate_recipe
    rm = recipe_manager.RecipeManager()
    rm.load_quantization_recipe(translate_recipe.translate_to_ai_edge_recipe(full_dynamic_recipe().generative_recipe))
    for regex in _head_scopes(float_model) + [r for rs in _op_scopes(float_model, module, keep).values() for r in rs]:
        rm.add_quantization_config(regex, qtyping.TFLOperationName.ALL_SUPPORTED,
                                   algorithm_key=algorithm_manager.AlgorithmName.NO_QUANTIZE)
    return bytes(translate_recipe.quantize_model(float_model, rm.get_quantization_recipe()))


def _int4(float_model: bytes, module, job: Job) -> bytes:
    """4-bit weights, activations quantized on the fly: ai_edge_quantizer's dynamic config with 4-bit blockwise
    weights on every fully connected layer and embedding lookup (its policy's dynamic_wi4_afp32_blockwise: blocks
    of 32, 64, 128 or 256, symmetric only, as LiteRT's kernels), the modules the search moved to 8 bits at int8 per
    channel. The QA heads stay float, as in ExecuTorch's int4 (4-bit heads cost a random tiny model 3 F1 points
    with every other layer at 8 bits)."""
    from ai_edge_quantizer import algorithm_manager, qtyping, recipe_manager
    from litert_torch.quantize import translate_recipe
    group = job.quant["group_size"]
    blocks = getattr(qtyping.QuantGranularity, f"BLOCKWISE_{group}", None)
    if blocks is None:
        raise UserError(f"export.int4_group_size: LiteRT's 4-bit blocks are 32, 64, 128 or 256, not {group}")
    ops = (qtyping.TFLOperationName.FULLY_CONNECTED, qtyping.TFLOperationName.EMBEDDING_LOOKUP)
    rm = recipe_manager.RecipeManager()
    for op in ops:
        rm.add_dynamic_config(".*", op, 4, blocks)
    for regex in _head_scopes(float_model):
        rm.add_quantization_config(regex, ops[0], algorithm_key=algorithm_manager.AlgorithmName.NO_QUANTIZE)
    for regexes in _op_scopes(float_model, module, job.at_8_bits()).values():
        for regex, op in ((r, op) for r in regexes for op in ops):
            rm.add_dynamic_config(regex, op, 8, qtyping.QuantGranularity.CHANNELWISE)
    return bytes(translate_recipe.quantize_model(float_model, rm.get_quantization_recipe()))


def _write(job: Job) -> dict:
    import litert_torch
    from ai_edge_litert.interpreter import Interpreter
    recipe, model = None, _NamedOutputs(job.module).eval()
    if job.precision == "int8-static":
        model, recipe = _static(job)
    elif job.precision == "fp16":
        from litert_torch.generative.quantize.quant_recipes import full_fp16_recipe
        recipe = full_fp16_recipe()
    edge = litert_torch.convert(model, sample_kwargs=dict(zip(job.input_names, job.args)), quant_config=recipe)
    if job.precision == "int8":
        job.path.write_bytes(_dynamic(edge.model_content(), job.module, job.kept()))
    elif job.precision == "int4":
        job.path.write_bytes(_int4(edge.model_content(), job.module, job))
    else:
        edge.export(str(job.path))
    ops = {d["op_name"] for d in Interpreter(model_path=str(job.path))._get_ops_details()}
    flex = sorted(o for o in ops if o.startswith("Flex") or o == "DELEGATE")
    if flex:
        raise RuntimeError(f"LiteRT graph has flex ops {flex}; the apps' runtime cannot run them")
    return {"tflite_ops": sorted(ops)}


class LiteRTRunner:
    def __init__(self, path: Path, sidecar: dict, threads: int):
        from ai_edge_litert.interpreter import Interpreter
        from pipeline.export.runtimes import feed_for
        self.names = [i["name"] for i in sidecar["inputs"]]
        self.interp = Interpreter(model_path=str(path), num_threads=max(1, threads))
        self.runner = self.interp.get_signature_runner()
        # LiteRT applies the XNNPACK delegate on the first invoke: do it while loading, so that load
        # time includes it and its start-up line is captured with the rest of the load.
        self(feed_for(sidecar, {i["name"]: [0] * int(np.prod(i["shape"])) for i in sidecar["inputs"]}))

    def __call__(self, feed: dict):
        out = self.runner(**{n: feed[n] for n in self.names})
        return out["start_logits"], out["end_logits"]


class LiteRT(ExportFormat):
    embeddings = "float (the static quantizer takes the linear layers only)"
    runner = LiteRTRunner

    def convert(self, job: Job) -> dict:
        return _write(job)

    def quantize(self, job: Job) -> dict:
        return _write(job)

    def int8_facts(self, precision: str, quant: dict) -> dict:
        if precision == "int8":
            return {"weights": "int8 per channel (litert_torch full_dynamic_recipe)",
                    "embeddings": "as the recipe leaves them", "qa_heads": "float"}
        return {"embeddings": self.embeddings}

    def int4_facts(self, quant: dict) -> dict:
        return {"weights": "fully connected layers 4-bit symmetric per block of input channels (ai_edge_quantizer "
                           "dynamic_wi4_afp32_blockwise; it has no asymmetric 4-bit weights)",
                "activations": "int8, dynamic (quantized on the fly by the runtime)",
                "embeddings": "4-bit symmetric per block (EMBEDDING_LOOKUP); position embeddings float",
                "qa_heads": "float"}


PLUGIN = LiteRT()
