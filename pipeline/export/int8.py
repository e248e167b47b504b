"""What a quantized export takes (int8: the modules kept float, the calibration windows; int4: the group size and
scheme) and what its sidecar says about it (`quantization`): the same for every format; what a format's int8 or
int4 means comes from its plug-in."""
from __future__ import annotations

import random
import re
from pathlib import Path

import torch

from pipeline.config import UserError
from pipeline.core import registry
from pipeline.export.formats.base import ExportFormat, kept_modules
from pipeline.export.sidecar import Window

SEARCH_REASON = "export.int8_search: the file missed its F1 gate until this layer stayed float"
INT4_SEARCH_REASON = "export.int8_search: the 4-bit file missed its F1 gate until this layer had 8-bit weights"
KEEP_FLOAT_REASON = ("export.int8_keep_float: left in float so the int8 file keeps its accuracy, as published "
                     "int8 recipes keep an FFN output projection in fp32")


def kept_float(entries: list[str], model: str, fmt: str, seq_len: int | None = None) -> list[str]:
    """An int8 keep-float list's modules for one model's files in one format (at one window length): a plain name
    applies to every model, format and length, student:name to one model, tflite:name to one format, 384:name to
    one window length, and tflite:student:384:name to all three (a fix for one file need not cost its twins).
    The entries are read by registry.parse_keep_float, the parser config checks them with."""
    kept = []
    for entry in entries:
        parsed = registry.parse_keep_float(entry)
        if parsed is None:
            raise UserError(f"export: keep-float entry {entry!r} is not [format:][model:][seq_len:]module")
        if registry.keep_float_applies(parsed[0], model, fmt, seq_len):
            kept.append(parsed[1])
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


def calibration_windows(cfg, folder: Path, train: list[dict], seq_len: int, module, n: int = 0) -> list[tuple]:
    """The first n (default export.calibration_windows) windows of train questions in a fixed-seed order, cut as
    the apps cut them: deterministic, and from the train split so no dev answer shapes the ranges."""
    from transformers import AutoTokenizer
    from pipeline.data.qa_features import prepare_features
    if not train:
        raise UserError("export: int8-static needs train questions for calibration (qa_data train.json)")
    n = n or cfg.export.calibration_windows
    picked = random.Random(0).sample(train, min(len(train), n))
    w = Window.fit(seq_len, cfg.qa)
    feats = prepare_features(AutoTokenizer.from_pretrained(str(folder)), [e["question"] for e in picked],
                             [e["context"] for e in picked], max_seq_length=seq_len, doc_stride=w.doc_stride,
                             max_query_length=w.max_query_length, token_type_ids=module.uses_token_type_ids,
                             pad=True)
    names = module.input_names()
    return [tuple(torch.tensor(feats[k][i], dtype=torch.int32).reshape(1, -1) for k in names)
            for i in range(min(n, len(feats["input_ids"])))]


def int4_options(cfg) -> dict:
    """What an int4 file's plug-in and the search's 4-bit ranking take from the options."""
    return {"group_size": cfg.export.int4_group_size, "symmetric": cfg.export.int4_scheme == "symmetric"}


def quant_inputs(cfg, jobs: list[tuple[str, str]], model: str, folder: Path, train, seq_len: int, module) -> dict:
    """keep_float / keep_float_static per format that keeps modules float, the observer, the embeddings option,
    (int8-static) the calibration windows, and int4's group size and scheme, for the planned (format, precision)
    jobs."""
    int4 = int4_options(cfg)
    # an fp32/fp16/int4 export does not read the int8 options, so a keep-float list tuned for other models cannot
    # stop it
    if not any(p in ("int8", "int8-static") for _, p in jobs):
        return {"keep_float": {}, "keep_float_static": {}, "calibration": [], **int4}
    known = [n for n, _ in module.named_modules()]
    keep, keep_static = {}, {}
    for fmt in dict.fromkeys(f for f, _ in jobs if registry.FORMATS[f].keeps_float):
        keep[fmt] = _matching(kept_float(cfg.export.int8_keep_float, model, fmt, seq_len), known, "int8_keep_float",
                              model)
        keep_static[fmt] = [m for m in _matching(kept_float(cfg.export.int8_static_keep_float, model, fmt, seq_len),
                                                 known, "int8_static_keep_float", model) if m not in keep[fmt]]
    static = "int8-static" in [p for _, p in jobs]
    return {"keep_float": keep, "keep_float_static": keep_static, "observer": cfg.export.calibration_observer,
            "embeddings": cfg.export.int8_embeddings,
            "calibration": calibration_windows(cfg, folder, train, seq_len, module) if static else [], **int4}


def quantization_facts(fmt: str, plugin: ExportFormat, precision: str, quant: dict, searched=()) -> dict:
    """What the sidecar says about an int8 artifact: the scheme, its calibration, what stayed float and why."""
    if precision not in registry.QUANTIZED:
        return {}
    if precision == "int4":
        facts = dict(plugin.int4_facts(quant), group_size=quant["group_size"])
        # the float weights the 4-bit ones were rounded from: the model's own, or a QAT copy (pipeline/export/qat.py)
        facts["qat"] = quant.get("qat") or "none: the model's trained weights rounded as they are"
        if registry.FORMATS[fmt].keeps_float:
            facts["at_8_bits"] = [{"module": m, "reason": INT4_SEARCH_REASON} for m in searched]
        return {"quantization": facts}
    static = precision == "int8-static"
    facts = {"weights": "int8 symmetric per output channel (linear layers)",
             "activations": "int8 per tensor, " + ("ranges calibrated" if static else "dynamic"),
             "embeddings": "unknown"}
    facts.update(plugin.int8_facts(precision, quant))
    if registry.FORMATS[fmt].keeps_float:
        facts["kept_float"] = [{"module": m, "reason": KEEP_FLOAT_REASON} for m in kept_modules(quant, precision, fmt)]
        facts["kept_float"] += [{"module": m, "reason": SEARCH_REASON} for m in searched]
    if static:
        facts["calibration"] = {"windows": len(quant["calibration"]), "source": "qa_data train.json, seed 0",
                                "observer": quant.get("observer", "histogram")}
    return {"quantization": facts}
