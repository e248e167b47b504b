"""Intermediate-layer distillation terms, shared by general distillation and the QA (D) step.

Options (DistillCfg / QACfg, each weight 0 by default = the term is neither computed nor its
teacher outputs requested):
  alpha_hidden  hidden-state loss on mapped layers, MSE or 1 - cosine (hidden_loss), real tokens only
  alpha_attn    KL(teacher || student) between attention distributions, per head and real query
                row, on mapped layers (TinyBERT / MiniLM style); needs eager attention
  alpha_emb     MSE between the embedding-layer outputs, real tokens only

Layer map (layer_match): student_init copies teacher layer L[i] into student layer i. "copied" matches
student hidden state i + 1 (output of layer i) to teacher hidden state L[i] + 1 and student attention i
to teacher attention L[i]. "block_end" (PKD / TinyBERT's uniform map) gives each student layer a block of
n_teacher / n_student teacher layers and matches its output to the block's last output, hidden state
(i + 1) * n_teacher // n_student, and its attention to that block's last layer: the student's last layer
is matched to the teacher's last hidden state, which its span or MLM head reads (with "copied" and
L = [0, 2, 4] it is matched to teacher layer 4's output instead). Hidden state 0 (the embeddings) is
matched to hidden state 0 either way. Each term is the mean over its mapped layers, so a weight does
not grow with depth.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F

from pipeline.config import UserError

TERMS = ("hidden", "attn", "emb")


def weights(c) -> dict:
    """{term: weight} of the terms switched on in c (a DistillCfg or QACfg)."""
    w = {"hidden": c.alpha_hidden, "attn": c.alpha_attn, "emb": c.alpha_emb}
    return {k: v for k, v in w.items() if v > 0}


def layer_map(teacher_layers: list[int], match: str = "copied", n_teacher: int | None = None) -> dict:
    """The recorded map: copied teacher layers, the match rule and the hidden-state / attention index pairs."""
    layers = list(teacher_layers)
    if match == "block_end":
        ends = [(i + 1) * n_teacher // len(layers) for i in range(len(layers))]
        hidden, attn = [[i + 1, e] for i, e in enumerate(ends)], [[i, e - 1] for i, e in enumerate(ends)]
    else:
        hidden, attn = [[i + 1, t + 1] for i, t in enumerate(layers)], [[i, t] for i, t in enumerate(layers)]
    return {"teacher_layers": layers, "match": match, "hidden_states": [[0, 0]] + hidden, "attentions": attn}


def _recorded_layers(folder: Path) -> list[int] | None:
    """Teacher layers recorded for the student in folder or in its stage folder (folder's parent): a
    layer_map.json (distill) or an init.json (student_init, the QA-teacher start of the (D) step)."""
    for d in (folder, folder.parent):
        if (d / "layer_map.json").is_file():
            return json.loads((d / "layer_map.json").read_text())["teacher_layers"]
        if (d / "init.json").is_file():
            return json.loads((d / "init.json").read_text())["copied_layers"]
    return None


def find_layer_map(folder: Path, n_teacher: int, n_student: int, strict: bool = True,
                   match: str = "copied") -> dict | None:
    """The map of the student checkpoint in `folder`: the layers recorded beside it or in its stage folder,
    else the default choice when the depths fit it (a student built elsewhere), matched by `match`.
    A map that does not fit is an input error when strict (a layer term needs it), else None."""
    from pipeline.training.student_init import default_layers
    layers = _recorded_layers(Path(folder)) or default_layers(n_teacher)
    if len(layers) != n_student or not all(0 <= t < n_teacher for t in layers):
        if not strict:
            return None
        raise UserError(f"layer map {layers} does not fit a {n_student}-layer student of a {n_teacher}-layer "
                        f"teacher; rebuild the student with student_init")
    return layer_map(layers, match, n_teacher)


def prepare(c, folder: Path, student, teacher) -> dict | None:
    """The layer map for the student checkpoint in folder and its teacher (None if it has none and no term needs one);
    with a term switched on, checks the widths and, for the attention term, switches both models to
    eager attention (SDPA returns no attention probabilities)."""
    sc, tc = student.config, teacher.config
    lmap = find_layer_map(folder, tc.num_hidden_layers, sc.num_hidden_layers, strict=bool(weights(c)),
                          match=c.layer_match)
    if weights(c) and sc.hidden_size != tc.hidden_size:
        raise UserError(f"layer losses need equal hidden sizes (student {sc.hidden_size}, teacher "
                        f"{tc.hidden_size}); no projection is provided")
    if c.alpha_attn > 0:
        for m in (student, teacher):
            m.set_attn_implementation("eager")
    return lmap


def hidden_term(s: torch.Tensor, t: torch.Tensor, real: torch.Tensor, kind: str) -> torch.Tensor:
    """MSE (mean over real tokens and features) or 1 - cosine (mean over real tokens)."""
    s, t = s[real].float(), t[real].float()
    if kind == "cos":
        return (1 - F.cosine_similarity(s, t, dim=-1)).mean()
    return F.mse_loss(s, t)


def attn_term(s: torch.Tensor, t: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """KL(t || s) over keys, mean over heads and real query rows. s, t: (batch, heads, query, key)
    probabilities; padded keys carry probability 0 on both sides and are left out of the sum."""
    s, t = s.float(), t.float()
    keys = real[:, None, None, :]
    kl = torch.where(keys, torch.xlogy(t, t) - t * s.clamp_min(1e-12).log(), 0.0).sum(-1)  # (b, h, q)
    rows = real[:, None, :].expand_as(kl)
    return kl[rows].mean()


def layer_terms(c, lmap: dict, s_out, t_out, attn_mask: torch.Tensor) -> dict:
    """{term: value} for the terms switched on in c; s_out / t_out carry hidden_states (and
    attentions when alpha_attn > 0), as returned by a transformers model."""
    w, real, terms = weights(c), attn_mask.bool(), {}
    if "emb" in w:
        terms["emb"] = F.mse_loss(s_out.hidden_states[0][real].float(), t_out.hidden_states[0][real].float())
    if "hidden" in w:
        pairs = lmap["hidden_states"][1:]
        terms["hidden"] = sum(hidden_term(s_out.hidden_states[i], t_out.hidden_states[j], real, c.hidden_loss)
                              for i, j in pairs) / len(pairs)
    if "attn" in w:
        pairs = lmap["attentions"]
        terms["attn"] = sum(attn_term(s_out.attentions[i], t_out.attentions[j], real) for i, j in pairs) / len(pairs)
    return terms


def teacher_hidden_states(c, lmap: dict) -> list[int]:
    """The teacher hidden-state indices that layer_terms reads for the hidden and embedding terms of c."""
    w = weights(c)
    wanted = {j for _, j in lmap["hidden_states"][1:]} if "hidden" in w else set()
    return sorted(wanted | ({0} if "emb" in w else set()))


def weighted(c, terms: dict) -> torch.Tensor | float:
    w = weights(c)
    return sum(w[k] * terms[k] for k in TERMS if k in terms)


def outputs_kwargs(c) -> dict:
    """Extra forward arguments that make a model return what the switched-on terms need."""
    return {"output_hidden_states": True, "output_attentions": c.alpha_attn > 0}
