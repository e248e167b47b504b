"""Masked-LM pieces shared by the teacher fit, distillation and evaluation.

The vocabulary projection (hidden x 30k words) costs more than the encoder for small models,
so every model here is split into an encoder and a head, and the head is applied only to the
positions a loss needs (masked positions, or the non-pad positions of the soft-target loss).
"""
from __future__ import annotations

import math
import random

import numpy as np
import torch
import torch.nn.functional as F


def encoder_and_head(model):
    """(encode(input_ids, attention_mask) -> last hidden states, head(hidden rows) -> vocab logits)."""
    if hasattr(model, "distilbert"):
        def head(h):
            return model.vocab_projector(model.vocab_layer_norm(model.activation(model.vocab_transform(h))))
        return (lambda ids, mask: model.distilbert(input_ids=ids, attention_mask=mask)[0]), head
    if hasattr(model, "bert") and hasattr(model, "cls"):
        return (lambda ids, mask: model.bert(input_ids=ids, attention_mask=mask)[0]), model.cls
    raise TypeError(f"{type(model).__name__} is neither a BertForMaskedLM nor a DistilBertForMaskedLM")


def pad_batch(seqs: list[np.ndarray], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.from_numpy(s.astype(np.int64))
        mask[i, :len(s)] = 1
    return ids, mask


def token_weights(counts: np.ndarray, smoothing: float, special_ids: list[int]) -> torch.Tensor:
    """Selection weight per vocabulary id: count^-smoothing (rare words masked more often), 0 for specials."""
    w = np.maximum(counts.astype(np.float64), 1.0) ** (-smoothing)
    w[list(special_ids)] = 0.0
    return torch.tensor(w, dtype=torch.float32)


def mask_tokens(ids: torch.Tensor, attn: torch.Tensor, weights: torch.Tensor, prob: float, mask_id: int,
                vocab_size: int, gen: torch.Generator, split=(0.8, 0.1, 0.1)):
    """Dynamic masking: pick round(prob x real tokens) positions by weight, then 80% [MASK],
    10% random token, 10% unchanged. Returns (masked ids, labels with -100 where not picked)."""
    w = (weights[ids] * attn).flatten()
    n_real = int((w > 0).sum())
    n_pick = min(n_real, max(1, round(prob * n_real)))
    picked = torch.zeros_like(w, dtype=torch.bool)
    if n_pick:
        picked[torch.multinomial(w, n_pick, replacement=False, generator=gen)] = True
    picked = picked.view_as(ids)
    labels = torch.where(picked, ids, torch.full_like(ids, -100))
    r = torch.rand(ids.shape, generator=gen)
    masked = ids.clone()
    masked[picked & (r < split[0])] = mask_id
    swap = picked & (r >= split[0]) & (r < split[0] + split[1])
    masked[swap] = torch.randint(vocab_size, ids.shape, generator=gen)[swap]
    return masked, labels


def special_ids(tok) -> list[int]:
    return sorted({i for i in tok.all_special_ids if i is not None})


@torch.no_grad()
def evaluate(model, seqs: list[np.ndarray], tok, *, batch_size: int = 32, max_batches: int = 20,
             device="cpu", seed: int = 1234) -> dict:
    """Held-out masked-token accuracy and loss. The masks are drawn uniformly with a fixed seed and
    all replaced by [MASK], so teacher and student are scored on exactly the same positions."""
    model.eval()
    encode, head = encoder_and_head(model)
    weights = token_weights(np.ones(len(tok), dtype=np.int64), 0.0, special_ids(tok))
    gen = torch.Generator().manual_seed(seed)
    order = list(range(len(seqs)))
    random.Random(seed).shuffle(order)
    total_loss, correct, n = 0.0, 0, 0
    for b in range(min(max_batches, math.ceil(len(order) / batch_size))):
        chunk = [seqs[i] for i in order[b * batch_size:(b + 1) * batch_size]]
        ids, attn = pad_batch(chunk, tok.pad_token_id)
        masked, labels = mask_tokens(ids, attn, weights, 0.15, tok.mask_token_id, len(tok), gen, split=(1.0, 0.0, 0.0))
        sel = labels != -100
        hidden = encode(masked.to(device), attn.to(device))
        logits = head(hidden[sel.to(device)]).float()
        target = labels[sel].to(device)
        total_loss += F.cross_entropy(logits, target, reduction="sum").item()
        correct += (logits.argmax(-1) == target).sum().item()
        n += target.numel()
    return {"masked_acc": correct / max(n, 1), "mlm_loss": total_loss / max(n, 1), "n_masked": n}


def unigram_baseline(seqs: list[np.ndarray], counts: np.ndarray, tok, *, batch_size=32, max_batches=20,
                     seed=1234) -> dict:
    """What a model that knows only word frequencies scores on the same masked positions."""
    probs = (counts.astype(np.float64) + 1.0)
    probs[special_ids(tok)] = 0.0
    probs /= probs.sum()
    weights = token_weights(np.ones(len(tok), dtype=np.int64), 0.0, special_ids(tok))
    gen = torch.Generator().manual_seed(seed)
    order = list(range(len(seqs)))
    random.Random(seed).shuffle(order)
    targets = []
    for b in range(min(max_batches, math.ceil(len(order) / batch_size))):
        chunk = [seqs[i] for i in order[b * batch_size:(b + 1) * batch_size]]
        ids, attn = pad_batch(chunk, tok.pad_token_id)
        _, labels = mask_tokens(ids, attn, weights, 0.15, tok.mask_token_id, len(tok), gen, split=(1.0, 0.0, 0.0))
        targets.append(labels[labels != -100].numpy())
    t = np.concatenate(targets)
    return {"masked_acc": float((t == probs.argmax()).mean()), "mlm_loss": float(-np.log(probs[t]).mean()),
            "n_masked": int(t.size)}
