"""Quantization-aware training for the int4 files: a copy of a QA model fine-tuned with its 4-bit weights simulated,
so that the export's post-training 4-bit rounding lands where training already put the weights.

Rounding every linear layer and the word-embedding table to 4 bits after training costs the demo's student 3-4 F1
(docs/experiments.md, issue 38): more than the gate allows, and falling back to 8 bits gives back most of the size.
With export.int4_qat_epochs > 0 each model's int4 files are made from a copy trained for that many epochs of the QA
train windows with torchao's QATConfig: the linear layers as Int8DynamicActivationIntxWeightConfig simulates them
(8-bit per-token activations, 4-bit symmetric weights per group), the word table as IntxWeightOnlyConfig (4-bit per
group, export.int4_scheme), the span head float as in every quantized file. Only the layers learn (the table
rounded alone costs little); the loss is self-distillation alone, the (D) step's KL to the float model's own logits
at qa.temperature with no span loss, so the copy learns to answer as the float model does, not to fit the train
answers further. The fake quantizers are then taken out and the copy is
saved with save_pretrained; its float weights are what the int4 plug-ins quantize. The gate still compares the int4
file with the original model's fp32 PyTorch F1, so the training cannot move the bar it is measured against.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import torch

from pipeline.core.runs import log, write_json_atomic


def _prepare(model, cfg) -> None:
    """Swap the linear layers (not the span head) and the word table for torchao's fake-quantized modules, with the
    numerics of the int4 plug-ins' configs: Int8DynamicActivationIntxWeightConfig for the layers (8-bit per-token
    asymmetric activations, 4-bit symmetric weights per group), IntxWeightOnlyConfig for the table."""
    from torchao.quantization import quantize_
    from torchao.quantization.granularity import PerGroup
    from torchao.quantization.qat import IntxFakeQuantizeConfig, QATConfig
    group = PerGroup(cfg.export.int4_group_size)
    table, head = model.get_input_embeddings(), model.qa_outputs
    act = IntxFakeQuantizeConfig(torch.int8, "per_token", is_symmetric=False)
    quantize_(model, QATConfig(activation_config=act, weight_config=IntxFakeQuantizeConfig(
        torch.int4, group, is_symmetric=True), step="prepare"),
              filter_fn=lambda m, _: type(m) is torch.nn.Linear and m is not head)
    quantize_(model, QATConfig(weight_config=IntxFakeQuantizeConfig(
        torch.int4, group, is_symmetric=cfg.export.int4_scheme == "symmetric"), step="prepare"),
              filter_fn=lambda m, _: m is table)


def _convert(model) -> None:
    """Take the fake quantizers out again: plain nn.Linear / nn.Embedding holding the trained float weights."""
    from torchao.quantization import quantize_
    from torchao.quantization.qat import QATConfig
    quantize_(model, QATConfig(step="convert"))


def settings(cfg) -> dict:
    """What decides a QAT copy (besides its source checkpoint): recorded in its qat.json and the sidecars."""
    q = cfg.qa
    return {"epochs": cfg.export.int4_qat_epochs, "lr": cfg.export.int4_qat_lr, "group_size": cfg.export.int4_group_size,
            "scheme": cfg.export.int4_scheme, "batch_size": q.batch_size, "temperature": q.temperature,
            "seed": cfg.run.seed, "precision": cfg.run.precision}


def _record(dest: Path) -> dict:
    """A finished copy's qat.json; {} when there is none or it cannot be read (the copy is then trained again)."""
    try:
        record = json.loads((dest / "qat.json").read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def qat_copy(cfg, name: str, folder: Path, source_sha256: str, train: list[dict], out: Path) -> tuple[Path, dict]:
    """(folder of the QAT copy of model `name`, its record). Made in out/qat/<name>/ unless a copy for the same
    source and settings is there; training resumes from its checkpoint after a crash."""
    from pipeline.config import UserError
    from pipeline.core.models import uses_token_types
    from pipeline.training.hardware import pick_device, seed_everything
    from pipeline.training.qa_eval import featurize, load_qa_model
    from pipeline.training.qa_loop import train as train_loop
    from pipeline.training.qa_loop import window_logits
    record = {"source": name, "source_sha256": source_sha256, **settings(cfg)}
    dest = out / "qat" / name
    key = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]
    done = _record(dest)
    if done.get("key") == key:
        return dest, done
    if not train:
        raise UserError("export.int4_qat_epochs: QAT needs the QA train questions (qa_data train.json)")
    (out / "qat").mkdir(parents=True, exist_ok=True)
    device = pick_device(cfg)
    seed_everything(cfg.run.seed)
    model, tok = load_qa_model(folder)
    feats = featurize(tok, train, cfg, uses_token_types(model), labels=True)
    for i, f in enumerate(feats):
        f["id"] = i
    targets = window_logits(model, feats, device, 2 * cfg.qa.batch_size, f"qat {name}: float logits")
    # the table rounded alone costs the demo's student 0.2 F1, its layers 2.3 (issue 38's lab book): only the layers
    # learn, against the table's 4-bit values
    model.get_input_embeddings().weight.requires_grad_(False)
    for m in model.modules():  # the float logits are dropout-free: with dropout on, most of the loss is its noise
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    _prepare(model, cfg)
    info = train_loop(model, feats, cfg, device, f"qat {name}", targets, ckpt=out / "qat" / f"{name}.ckpt.pt", key=key,
                      epochs=cfg.export.int4_qat_epochs, lr=cfg.export.int4_qat_lr, alpha=1.0)
    _convert(model)
    tmp = out / "qat" / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    record = dict(record, key=key, steps=info["steps"], seconds=info["seconds"], first_loss=info["first_loss"],
                  final_loss=info["final_loss"])
    write_json_atomic(tmp / "qat.json", record)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    (out / "qat" / f"{name}.ckpt.pt").unlink(missing_ok=True)
    log(f"export: {name}: QAT copy for int4 trained ({info['steps']} steps, {info['seconds'] / 60:.1f} min)")
    return dest, record
