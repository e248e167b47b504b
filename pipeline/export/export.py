"""Stage "export": the fine-tuned QA models as Core ML, ExecuTorch, LiteRT and ONNX files.

Every artifact is exported from the export-friendly forward (pipeline/export/export_model.py) and
gets a JSON sidecar, `<artifact>.json`, that is the whole contract the apps read: input and
output names, dtypes and shapes, the vocabulary file, lower-casing, window lengths, precision,
the source checkpoint's checksum and the exporter versions. A converter that fails is
recorded (in artifacts.json "failures") and the other formats go on.

Names: <model>.<format>.<precision>.<seq_len>.<ext>, e.g. student_d.executorch.int8.384.pte;
the Core ML-delegated ExecuTorch program is <model>.executorch-coreml.fp16.384.pte.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import random
import re
import shutil
import traceback
from pathlib import Path

import torch
from tqdm import tqdm

from pipeline.config import UserError
from pipeline import quiet
from pipeline.core import registry, results
from pipeline.core.models import count_params
from pipeline.core.runs import log, package_versions, write_json_atomic
from pipeline.core.workers import run_jobs, worker_count
from pipeline.data.qa_data import load_squad_file
from pipeline.export.export_model import export_forward, load_qa

OUTPUT_NAMES = ["start_logits", "end_logits"]
VERSION_PACKAGES = ["torch", "executorch", "coremltools", "litert-torch", "ai-edge-litert", "onnx",
                    "onnxscript", "onnxruntime", "transformers"]


def versions() -> dict:
    return package_versions(VERSION_PACKAGES, with_platform=False)


def checkpoint_sha256(folder: Path) -> str:
    """One digest over the checkpoint's weight files (config excluded: weights decide the logits)."""
    files = sorted(p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin"))
    if not files:
        raise UserError(f"no weights (*.safetensors or *.bin) in checkpoint folder {folder}")
    h = hashlib.sha256()
    for p in files:
        h.update(p.name.encode())
        with open(p, "rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
    return h.hexdigest()


def size_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


# ---------------------------------------------------------------- converters
def kept_modules(quant: dict, precision: str, fmt: str) -> list[str]:
    """The modules an int8 file of one format leaves float: export.int8_keep_float, plus int8_static_keep_float
    for int8-static."""
    static = quant.get("keep_float_static", {}).get(fmt, []) if precision == "int8-static" else []
    return quant.get("keep_float", {}).get(fmt, []) + static


def _with_observer(config, observer: str | None):
    """A static quantization config whose activation observers follow export.calibration_observer."""
    if observer in (None, "histogram"):
        return config
    from torchao.quantization.pt2e.observer import MinMaxObserver
    ctr = MinMaxObserver.with_args(eps=2 ** -12)  # the quantizers' own eps

    def swap(spec):
        return spec and dataclasses.replace(spec, observer_or_fake_quant_ctr=ctr)
    return dataclasses.replace(config, input_activation=swap(config.input_activation),
                               output_activation=swap(config.output_activation))


def _xnnpack_quantize(ep, args, precision, quant: dict):
    """PT2E with the XNNPACK quantizer: per-channel int8 linear weights; dynamic int8 activations,
    or (int8-static) activation ranges observed on the calibration windows."""
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer, get_symmetric_quantization_config)
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    from torchao.quantization.pt2e.quantizer.utils import get_module_name_filter
    static = precision == "int8-static"
    config = get_symmetric_quantization_config(is_per_channel=True, is_dynamic=not static)
    # Linear layers only: set_global would also quantize the adds, and one per-tensor int8 scale
    # for "scores + mask" (mask -10000) wipes out the attention scores (9% answer agreement).
    quantizer = XNNPACKQuantizer().set_operator_type(
        torch.ops.aten.linear.default, _with_observer(config, quant.get("observer")) if static else config)
    kept = [get_module_name_filter(n) for n in kept_modules(quant, precision, "executorch")]
    if kept:
        quantizer.set_filter_function(lambda node: not any(k(node) for k in kept))
    if quant.get("embeddings"):
        # 8-bit weight-only, per row: the word table is half of a small model's weights.
        from torchao.quantization.pt2e.quantizer.composable_quantizer import ComposableQuantizer
        from torchao.quantization.pt2e.quantizer.embedding_quantizer import EmbeddingQuantizer
        quantizer = ComposableQuantizer([EmbeddingQuantizer(), quantizer])
    gm = prepare_pt2e(ep.module(), quantizer)
    with torch.no_grad():
        for window in (quant["calibration"] if static else [args]):  # dynamic: one pass traces the observers
            gm(*window)
    return torch.export.export(convert_pt2e(gm), args, strict=False)


def to_executorch(module, args, precision, path: Path, quant: dict | None = None) -> dict:
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.devtools.backend_debug import get_delegation_info
    from executorch.exir import to_edge_transform_and_lower
    ep = torch.export.export(module, args, strict=False)
    if precision in registry.QUANTIZED:
        ep = _xnnpack_quantize(ep, args, precision, quant or {})
    edge = to_edge_transform_and_lower(ep, partitioner=[XnnpackPartitioner()])
    info = get_delegation_info(edge.exported_program().graph_module)
    ops = {k: {"delegated": v.delegated, "not_delegated": v.non_delegated}
           for k, v in sorted(info.delegation_by_operator.items())}
    backend_config = None
    if precision in registry.QUANTIZED and (quant or {}).get("embeddings"):
        from executorch.exir import ExecutorchBackendConfig
        from executorch.exir.passes.quant_fusion_pass import QuantFusionPass
        # XNNPACK has no quantized embedding: this fuses dequantize+embedding into the portable
        # quantized_decomposed::embedding_byte kernel (the runtime must link the quantized kernels).
        backend_config = ExecutorchBackendConfig(passes=[QuantFusionPass()])
    path.write_bytes(edge.to_executorch(backend_config).buffer)
    return {"delegation": {"delegated_nodes": info.num_delegated_nodes,
                           "not_delegated_nodes": info.num_non_delegated_nodes,
                           "subgraphs": info.num_delegated_subgraphs, "by_op": ops}}


def to_executorch_coreml(module, args, precision, path: Path) -> dict:
    import coremltools as ct
    from executorch.backends.apple.coreml.compiler import CoreMLBackend
    from executorch.backends.apple.coreml.partition import CoreMLPartitioner
    from executorch.exir import to_edge_transform_and_lower
    specs = CoreMLBackend.generate_compile_specs(compute_precision=ct.precision.FLOAT16,
                                                 minimum_deployment_target=ct.target.iOS17)
    edge = to_edge_transform_and_lower(torch.export.export(module, args, strict=False),
                                       partitioner=[CoreMLPartitioner(compile_specs=specs)])
    path.write_bytes(edge.to_executorch().buffer)
    return {}


def to_coreml(module, args, precision, path: Path, input_names, quant: dict | None = None) -> dict:
    import platform
    import coremltools as ct
    import numpy as np
    if precision == "int8-static" and platform.system() != "Darwin":  # refused before a conversion that cannot finish
        raise NotImplementedError("Core ML int8-static (w8a8): linear_quantize_activations calibrates by "
                                  "predicting with Core ML, which runs on macOS only")
    ep = torch.export.export(module, args, strict=False).run_decompositions()
    inputs = [ct.TensorType(name=n, shape=tuple(a.shape), dtype=np.int32) for n, a in zip(input_names, args)]
    mlmodel = ct.convert(ep, inputs=inputs, outputs=[ct.TensorType(name=n, dtype=np.float32) for n in OUTPUT_NAMES],
                         convert_to="mlprogram",
                         # quantize/dequantize activations (int8-static) need iOS 17's opset
                         minimum_deployment_target=ct.target.iOS17 if precision == "int8-static" else ct.target.iOS16,
                         compute_precision=ct.precision.FLOAT32 if precision == "fp32" else ct.precision.FLOAT16)
    if precision in registry.QUANTIZED:
        mlmodel = _coreml_quantize(mlmodel, precision, input_names, quant or {})
    mlmodel.short_description = "DistilKit extractive QA: start/end logits over the window"
    mlmodel.save(str(path))
    return {}


def _coreml_quantize(mlmodel, precision: str, input_names, quant: dict):
    """int8: int8 symmetric per-channel weights (coremltools.optimize); int8-static: activations
    too (w8a8), their ranges calibrated by running the model, which only Core ML on macOS can do."""
    import coremltools.optimize as cto
    if precision == "int8-static":
        samples = [{n: t.numpy() for n, t in zip(input_names, window)} for window in quant["calibration"]]
        act = cto.coreml.OptimizationConfig(global_config=cto.coreml.OpLinearQuantizerConfig(mode="linear_symmetric"))
        mlmodel = cto.coreml.linear_quantize_activations(mlmodel, act, samples)
    config = cto.coreml.OptimizationConfig(global_config=cto.coreml.OpLinearQuantizerConfig(
        mode="linear_symmetric", dtype="int8", granularity="per_channel"))
    return cto.coreml.linear_quantize_weights(mlmodel, config=config)


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


def _litert_static(module, args, input_names, quant: dict):
    """Full-integer int8 through litert_torch's PT2E quantizer: per-channel int8 weights and int8
    activations with ranges observed on the calibration windows. Linear layers only, for the reason
    _xnnpack_quantize gives (a global config would also put "scores + mask" on one int8 scale), less
    export.int8_keep_float's."""
    from litert_torch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config
    from litert_torch.quantize.quant_config import QuantConfig
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    config = _with_observer(get_symmetric_quantization_config(is_per_channel=True, is_dynamic=False),
                            quant.get("observer"))
    quantizer = PT2EQuantizer()
    # Its module-type filter compares against the exported graph's nn_module_stack, which this torch
    # records as qualified type names (strings), so the name is given beside the class. The QA heads
    # (export_model.QAHead) do not match, so the logits stay float32.
    for tp in (torch.nn.Linear, "torch.nn.modules.linear.Linear"):
        quantizer.set_module_type(tp, config)
    named = _NamedOutputs(module).eval()
    with _typed_apart(module, kept_modules(quant, "int8-static", "tflite")):  # the types are read from the exported graph
        ep = torch.export.export(named, (), dict(zip(input_names, args)), strict=False)
    gm = prepare_pt2e(ep.module(), quantizer)
    with torch.no_grad():
        for window in quant["calibration"]:
            gm(**dict(zip(input_names, window)))
    gm = convert_pt2e(gm, fold_quantize=False)
    # QuantConfig reads only the global config's is_dynamic to pick the converter's STATIC
    # q/dq mode; the linear-only quantizer above has no global config, so a static one says it.
    return gm, QuantConfig(pt2e_quantizer=PT2EQuantizer().set_global(config))


def _litert_scope(module, dotted: str) -> str:
    """The location litert_torch writes into a TFLite tensor name for the module at `dotted`: one
    '<qualified type>_<attribute>' per level, a ModuleList's items by index with no level of their own."""
    labels, mod = [], module
    for part in dotted.split("."):
        child = mod[int(part)] if isinstance(mod, torch.nn.ModuleList) else getattr(mod, part)
        if not isinstance(child, torch.nn.ModuleList):
            labels.append(f"{type(child).__module__}.{type(child).__qualname__}_{part}")
        mod = child
    return "/".join(labels)


def _litert_dynamic(float_model: bytes, module, keep: list[str]) -> bytes:
    """Dynamic-range int8 (int8 weights, activations quantized on the fly): litert_torch's
    full_dynamic_recipe run by ai_edge_quantizer, as litert_torch.convert runs it, with the ops of
    export.int8_keep_float's modules set to no quantization (the recipe's own per-layer overrides
    address only litert_torch's generative layers). A kept module with no op in the graph is an error."""
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_quantizer import algorithm_manager, qtyping, recipe_manager
    from litert_torch.generative.quantize.quant_recipes import full_dynamic_recipe
    from litert_torch.quantize import translate_recipe
    rm = recipe_manager.RecipeManager()
    rm.load_quantization_recipe(translate_recipe.translate_to_ai_edge_recipe(full_dynamic_recipe().generative_recipe))
    it = Interpreter(model_content=float_model)
    firsts = {it._get_tensor_details(o, 0)["name"].split(";")[0] for d in it._get_ops_details() for o in d["outputs"]}
    for name in keep:
        scope = _litert_scope(module, name)
        hits = sorted(f for f in firsts if f.endswith("/" + scope) or f"/{scope}/" in f)  # the module and all in it
        if not hits:
            raise UserError(f"export.int8_keep_float: no LiteRT op comes from {name} ({scope})")
        for first in hits:  # the op's own location comes first; fused neighbours follow after ';'
            rm.add_quantization_config(f"^{re.escape(first)}(;|$)", qtyping.TFLOperationName.ALL_SUPPORTED,
                                       algorithm_key=algorithm_manager.AlgorithmName.NO_QUANTIZE)
    return bytes(translate_recipe.quantize_model(float_model, rm.get_quantization_recipe()))


def to_tflite(module, args, precision, path: Path, input_names, quant: dict | None = None) -> dict:
    import litert_torch
    recipe, model = None, _NamedOutputs(module).eval()
    if precision == "int8-static":
        model, recipe = _litert_static(module, args, input_names, quant or {})
    elif precision == "fp16":
        from litert_torch.generative.quantize.quant_recipes import full_fp16_recipe
        recipe = full_fp16_recipe()
    edge = litert_torch.convert(model, sample_kwargs=dict(zip(input_names, args)), quant_config=recipe)
    if precision == "int8":
        path.write_bytes(_litert_dynamic(edge.model_content(), module, kept_modules(quant or {}, precision, "tflite")))
    else:
        edge.export(str(path))
    from ai_edge_litert.interpreter import Interpreter
    ops = {d["op_name"] for d in Interpreter(model_path=str(path))._get_ops_details()}
    flex = sorted(o for o in ops if o.startswith("Flex") or o == "DELEGATE")
    if flex:
        raise RuntimeError(f"LiteRT graph has flex ops {flex}; the apps' runtime cannot run them")
    return {"tflite_ops": sorted(ops)}


def to_onnx(module, args, precision, path: Path, input_names) -> dict:
    target = path.with_suffix(".fp32-tmp.onnx") if precision == "int8" else path
    torch.onnx.export(module, args, str(target), input_names=input_names, output_names=OUTPUT_NAMES,
                      dynamo=True, external_data=False, verbose=False)
    if precision == "int8":  # ONNX Runtime's own dynamic int8: the peer the issue compares against
        from onnxruntime.quantization import QuantType, quantize_dynamic
        try:
            quantize_dynamic(str(target), str(path), per_channel=True, weight_type=QuantType.QInt8)
        finally:
            target.unlink(missing_ok=True)
    return {}


def export_one(fmt: str, module, args, precision: str, path: Path, input_names, quant: dict | None = None) -> dict:
    with quiet.captured_output():  # the converters' progress bars and size reports
        return _convert(fmt, module, args, precision, path, input_names, quant)


def _convert(fmt: str, module, args, precision: str, path: Path, input_names, quant=None) -> dict:
    if fmt == "executorch":
        return to_executorch(module, args, precision, path, quant)
    if fmt == "executorch-coreml":
        return to_executorch_coreml(module, args, precision, path)
    if fmt == "coreml":
        return to_coreml(module, args, precision, path, input_names, quant)
    if fmt == "tflite":
        return to_tflite(module, args, precision, path, input_names, quant)
    if fmt == "onnx":
        return to_onnx(module, args, precision, path, input_names)
    raise UserError(f"unknown export format '{fmt}' (formats: {', '.join(registry.FORMATS)})")


# ---------------------------------------------------------------- stage
def window_params(cfg, seq_len: int) -> dict:
    """Query/stride limits that fit the window: at 128 tokens the 384-token defaults cannot."""
    max_query = min(cfg.qa.max_query_length, seq_len // 2)
    stride = min(cfg.qa.doc_stride, (seq_len - max_query - 3) // 2)
    return {"max_seq_length": seq_len, "max_query_length": max_query, "doc_stride": stride,
            "max_answer_length": cfg.qa.max_answer_length}


def tokenizer_facts(folder: Path, vocab_out: Path) -> dict:
    """Write the WordPiece vocabulary the apps read to vocab_out; return lower-casing.

    transformers 5 saves only tokenizer.json (no vocab.txt), so the vocabulary is taken from
    there, ordered by id, when the checkpoint has no vocab.txt."""
    tok_json, tok_cfg = folder / "tokenizer.json", folder / "tokenizer_config.json"
    cfg = json.loads(tok_cfg.read_text()) if tok_cfg.is_file() else {}
    lower = cfg.get("do_lower_case")
    if (folder / "vocab.txt").is_file():
        shutil.copyfile(folder / "vocab.txt", vocab_out)
    elif tok_json.is_file():
        try:
            spec = json.loads(tok_json.read_text())
            vocab = spec["model"]["vocab"]
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise UserError(f"checkpoint {folder}: tokenizer.json has no WordPiece vocabulary ({e})") from None
        ids = sorted(vocab.values())
        if ids != list(range(len(ids))):
            raise UserError(f"checkpoint {folder}: tokenizer.json vocabulary ids are not 0..{len(ids) - 1}")
        by_id = sorted(vocab, key=vocab.get)
        vocab_out.write_text("\n".join(by_id) + "\n", encoding="utf-8")
        norm = spec.get("normalizer") or {}
        if lower is None and norm.get("type") == "BertNormalizer":
            lower = norm.get("lowercase")
    else:
        raise UserError(f"checkpoint {folder} has neither vocab.txt nor tokenizer.json; the apps need the vocabulary")
    return {"do_lower_case": True if lower is None else bool(lower)}


def plan(cfg) -> list[tuple[str, str]]:
    unknown = [f for f in cfg.export.formats if f not in registry.FORMATS]
    if unknown:
        raise UserError(f"export.formats: unknown {unknown} (known: {', '.join(registry.FORMATS)})")
    bad = [p for p in cfg.export.precisions if p not in registry.PRECISIONS]
    if bad:
        raise UserError(f"export.precisions: unknown {bad} (known: {', '.join(registry.PRECISIONS)})")
    jobs = [(f, p) for f in cfg.export.formats for p in registry.FORMATS[f].precisions if p in cfg.export.precisions]
    if not jobs:
        raise UserError(f"export: no format supports the precisions {cfg.export.precisions}")
    return jobs


def calibration_windows(cfg, folder: Path, train: list[dict], seq_len: int, module) -> list[tuple]:
    """The first export.calibration_windows windows of train questions in a fixed-seed order, cut as
    the apps cut them: deterministic, and from the train split so no dev answer shapes the ranges."""
    from transformers import AutoTokenizer
    from pipeline.data.qa_features import prepare_features
    if not train:
        raise UserError("export: int8-static needs train questions for calibration (qa_data train.json)")
    n = cfg.export.calibration_windows
    picked = random.Random(0).sample(train, min(len(train), n))
    w = window_params(cfg, seq_len)
    feats = prepare_features(AutoTokenizer.from_pretrained(str(folder)), [e["question"] for e in picked],
                             [e["context"] for e in picked], max_seq_length=seq_len, doc_stride=w["doc_stride"],
                             max_query_length=w["max_query_length"], token_type_ids=module.uses_token_type_ids,
                             pad=True)
    names = module.input_names()
    return [tuple(torch.tensor(feats[k][i], dtype=torch.int32).reshape(1, -1) for k in names)
            for i in range(min(n, len(feats["input_ids"])))]


# What each format's int8 leaves the embedding tables as (the word table is half a small model).
_EMBEDDINGS = {"onnx": "int8 (ONNX Runtime quantizes Gather)",
               "tflite": "float (the static quantizer takes the linear layers only)", "coreml": "int8 weights (coremltools quantizes every constant weight)"}


KEEP_FLOAT_REASON = ("export.int8_keep_float: left in float so the int8 file keeps its accuracy, as published "
                     "int8 recipes keep an FFN output projection in fp32")


def quantization_facts(cfg, fmt: str, precision: str, quant: dict) -> dict:
    """What the sidecar says about an int8 artifact: the scheme, its calibration, what stayed float and why."""
    if precision not in registry.QUANTIZED:
        return {}
    static = precision == "int8-static"
    facts = {"weights": "int8 symmetric per output channel (linear layers)",
             "activations": "int8 per tensor, " + ("ranges calibrated" if static else "dynamic"),
             "embeddings": _EMBEDDINGS.get(fmt, "unknown")}
    if fmt == "executorch":
        facts["embeddings"] = ("int8 weight-only per row (quantized_decomposed::embedding_byte kernel)"
                               if quant.get("embeddings") else "float (not quantized)")
    if fmt == "tflite" and precision == "int8":
        facts.update(weights="int8 per channel (litert_torch full_dynamic_recipe)", embeddings="as the recipe leaves them")
    if registry.FORMATS[fmt].keeps_float:
        facts["kept_float"] = [{"module": m, "reason": KEEP_FLOAT_REASON} for m in kept_modules(quant, precision, fmt)]
    if fmt == "coreml":
        facts["weights"] = "int8 symmetric per output channel (coremltools.optimize linear_quantize_weights)"
        facts["activations"] = "int8, ranges calibrated by Core ML predictions" if static else \
            "float16 (weights dequantized at load)"
        # parity cannot run a Core ML file off macOS: the accuracy gate is open until it does.
        facts["gate"] = "not run on host (Core ML predicts on macOS only)"
    if static:
        facts["calibration"] = {"windows": len(quant["calibration"]), "source": "qa_data train.json, seed 0",
                                "observer": quant.get("observer", "histogram")}
    return {"quantization": facts}


def export_model(cfg, name: str, folder: Path, out: Path, vers: dict, bar, train=None) -> tuple[list, list]:
    tok = tokenizer_facts(folder, out / f"{name}.vocab.txt")
    sha = checkpoint_sha256(folder)
    hf = load_qa(folder)
    plain, xnn = export_forward(hf), export_forward(hf, decompose_layer_norm=True)
    params = count_params(hf)
    artifacts, failures = [], []
    for seq_len in cfg.export.seq_lens:
        if not 8 <= int(seq_len) <= plain.max_positions:
            raise UserError(f"export.seq_lens: {seq_len} is outside 8..{plain.max_positions} for {name}")
        args = plain.example_inputs(int(seq_len))
        names = plain.input_names()
        quant = _quant_inputs(cfg, name, folder, train, int(seq_len), xnn)
        for fmt, precision in plan(cfg):
            spec = registry.FORMATS[fmt]
            file_format, backend = spec.artifact
            fname = f"{name}.{fmt}.{precision}.{seq_len}.{spec.ext}"
            bar.set_postfix_str(fname)
            where = dict(model=name, format=file_format, backend=backend, precision=precision, seq_len=int(seq_len))
            try:
                module = xnn if fmt == "executorch" else plain
                extra = export_one(fmt, module, args, precision, out / fname, names, quant)
                extra.update(quantization_facts(cfg, fmt, precision, quant))
            except Exception as e:  # one converter failing must not lose the other formats
                log(f"export: {fname} failed: {type(e).__name__}: {e}")
                failures.append(dict(where, file=fname, error=f"{type(e).__name__}: {str(e)[:500]}",
                                     traceback=traceback.format_exc()[-2000:]))
                shutil.rmtree(out / fname, ignore_errors=True) if (out / fname).is_dir() else \
                    (out / fname).unlink(missing_ok=True)
                continue
            finally:
                bar.update(1)
            nbytes = size_bytes(out / fname)
            sidecar = dict(where, file=fname, bytes=nbytes, params=params,
                           inputs=[{"name": n, "dtype": "int32", "shape": [1, int(seq_len)]} for n in names],
                           outputs=[{"name": n, "dtype": "float32", "shape": [1, int(seq_len)]} for n in OUTPUT_NAMES],
                           vocab_file=f"{name}.vocab.txt", do_lower_case=tok["do_lower_case"],
                           uses_token_type_ids=plain.uses_token_type_ids, **window_params(cfg, int(seq_len)),
                           source_checkpoint={"folder": name, "sha256": sha}, exporter_versions=vers, **extra)
            write_json_atomic(out / f"{fname}.json", sidecar)
            if "delegation" in extra:
                d = extra["delegation"]
                log(f"export: {fname}: {d['delegated_nodes']} nodes delegated to XNNPACK, "
                    f"{d['not_delegated_nodes']} not: " +
                    ", ".join(f"{k} {v['not_delegated']}" for k, v in d["by_op"].items() if v["not_delegated"]))
            artifacts.append(sidecar)
    return artifacts, failures


def kept_float(entries: list[str], model: str, fmt: str, seq_len: int | None = None) -> list[str]:
    """An int8 keep-float list's modules for one model's files in one format (at one window length): a plain name
    applies to every model, format and length, student:name to one model, tflite:name to one format, 384:name to
    one window length, and tflite:student:384:name to all three (a fix for one file need not cost its twins)."""
    kept = []
    for entry in entries:
        *scopes, module = entry.split(":")
        if all(scope in (model, fmt, str(seq_len)) for scope in scopes):
            kept.append(module)
    return kept


def _matching(names: list[str], known: list[str], option: str, model: str) -> list[str]:
    """The modules that names give ('*' stands for one dotted part: blocks.*.ffn2), each at least one."""
    out = []
    for name in names:
        rx = re.compile(re.escape(name).replace(r"\*", r"[^.]+"))
        hits = [k for k in known if rx.fullmatch(k)]
        if not hits:
            raise UserError(f"export.{option}: no module {[name]} in {model}'s export forward "
                            f"(e.g. {', '.join(n for n in known if n.endswith('ffn2'))})")
        out += [h for h in hits if h not in out]
    return out


def _quant_inputs(cfg, model: str, folder: Path, train, seq_len: int, module) -> dict:
    # an fp32/fp16 export does not read the int8 options, so a keep-float list tuned for other models cannot stop it
    if not any(p in registry.QUANTIZED for _, p in plan(cfg)):
        return {"keep_float": {}, "keep_float_static": {}, "calibration": []}
    known = [n for n, _ in module.named_modules()]
    keep, keep_static = {}, {}
    for fmt in dict.fromkeys(f for f, _ in plan(cfg) if registry.FORMATS[f].keeps_float):
        keep[fmt] = _matching(kept_float(cfg.export.int8_keep_float, model, fmt, seq_len), known, "int8_keep_float",
                              model)
        keep_static[fmt] = [m for m in _matching(kept_float(cfg.export.int8_static_keep_float, model, fmt, seq_len), known,
                                                 "int8_static_keep_float", model) if m not in keep[fmt]]
    static = "int8-static" in [p for _, p in plan(cfg)]
    return {"keep_float": keep, "keep_float_static": keep_static, "observer": cfg.export.calibration_observer,
            "embeddings": cfg.export.int8_embeddings,
            "calibration": calibration_windows(cfg, folder, train, seq_len, module) if static else []}


def load_train(ctx) -> list[dict]:
    path = Path(ctx.inputs.get("qa_data") or ".") / "train.json"
    return load_squad_file(path, "reject") if path.is_file() else []


def _export_worker(cfg, name: str, folder: Path, out: Path, vers: dict, train, bar, threads: int) -> tuple[list, list]:
    """export_model as a workers job; in a worker process (bar None) the parent shows progress per model."""
    with contextlib.nullcontext(bar) if bar is not None else tqdm(disable=True) as shown:
        return export_model(cfg, name, folder, out, vers, shown, train)


def _export_all(cfg, models: list[str], src: Path, out: Path, vers: dict, train, bar) -> dict:
    """{model: (artifacts, failures)}. The converters spend most of their time in single-threaded Python
    (tracing, graph passes, serialising), so with several cores each model gets its own process."""
    workers = worker_count(cfg, len(models))
    inline = bar if workers == 1 else None  # a progress bar cannot cross into a worker process
    order = sorted(models, key=lambda m: -size_bytes(src / m))  # the largest first: the others fill the rest
    if workers > 1:
        bar.set_postfix_str(f"{workers} processes: {', '.join(order)}")
    files = len(plan(cfg)) * len(cfg.export.seq_lens)
    done = run_jobs(cfg, _export_worker, {m: (cfg, m, src / m, out, vers, train, inline) for m in order},
                    on_done=None if inline else lambda m: bar.update(files))
    return {name: done[name] for name in models}


def run(cfg, ctx) -> dict:
    src = Path(ctx.inputs["qa_finetune"])
    models = [m for m in cfg.export.models if (src / m).is_dir()]
    missing = [m for m in cfg.export.models if m not in models]
    if not models:
        raise UserError(f"export: none of {cfg.export.models} is a checkpoint folder in {src}")
    vers = versions()
    train = load_train(ctx)
    jobs = len(plan(cfg)) * len(cfg.export.seq_lens) * len(models)
    artifacts, failures = [], [dict(model=m, error="no checkpoint folder") for m in missing]
    with tqdm(total=jobs, desc="export", unit="file") as bar:
        for a, f in _export_all(cfg, models, src, ctx.out, vers, train, bar).values():
            artifacts += a
            failures += f
    if not artifacts:
        raise UserError("export: every converter failed: " + "; ".join(f"{f.get('file', f['model'])}: {f['error']}"
                                                                       for f in failures)[:2000])
    keys = ("model", "format", "backend", "precision", "seq_len", "file", "bytes", "params")
    result = results.document("artifacts", results.run_scale(cfg, results.host_label()),
                              artifacts=[{k: a[k] for k in keys} for a in artifacts],
                              failures=[{k: v for k, v in f.items() if k != "traceback"} for f in failures],
                              exporter_versions=vers)
    write_json_atomic(ctx.out / "artifacts.json", result)
    results.write(ctx.results / "artifacts.json", result)
    for f in failures:
        log(f"export: FAILED {f.get('file', f['model'])}: {f['error']}")
    return {"artifacts": len(artifacts), "failures": len(failures)}
