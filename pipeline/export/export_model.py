"""An export-friendly extractive-QA forward for BERT (teacher) and DistilBERT (student).

The transformers forward builds its attention mask with data-dependent code (arange,
index, any, where, new_ones) that Core ML cannot convert, that keeps half of the graph
out of XNNPACK and that makes the XNNPACK quantizer fail. This module re-implements the
same computation with only static-shape tensor ops:

- the int mask input becomes a plain additive mask ``(1 - mask) * -10000``;
- attention is ``bmm`` over [heads, L, d] (batch is fixed to 1);
- layer norm can be written as 4-D means (``decompose_layer_norm=True``) because XNNPACK
  has no layer-norm kernel but does run ``mean`` over the two innermost dims of a 4-D
  tensor; Core ML and LiteRT keep the native op;
- the QA head is split into two 1-output linears so no slicing is left after it.

Weights are copied from a trained ``AutoModelForQuestionAnswering``; the forward takes
int32 ``input_ids``, ``attention_mask`` (and ``token_type_ids`` for BERT), shape [1, L],
and returns ``(start_logits, end_logits)``, each float [1, L].
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

MASK_VALUE = -10000.0  # small enough to zero a softmax term, still finite in fp16


class LayerNorm4d(nn.Module):
    """LayerNorm over the last dim, optionally as means of a [1, L, H, 1] view (XNNPACK runs those)."""

    def __init__(self, ln: nn.LayerNorm, decompose: bool):
        super().__init__()
        self.weight = nn.Parameter(ln.weight.detach().clone())
        self.bias = nn.Parameter(ln.bias.detach().clone())
        self.eps = float(ln.eps)
        self.decompose = decompose

    def forward(self, x):
        if not self.decompose:
            return nn.functional.layer_norm(x, (x.shape[-1],), self.weight, self.bias, self.eps)
        b, n, h = x.shape
        x4 = x.reshape(b, n, h, 1)
        mu = x4.mean(dim=(2, 3), keepdim=True)
        xc = x4 - mu
        var = (xc * xc).mean(dim=(2, 3), keepdim=True)
        y = xc * torch.rsqrt(var + self.eps)
        return y.reshape(b, n, h) * self.weight + self.bias


def _linear(src: nn.Linear) -> nn.Linear:
    out = nn.Linear(src.in_features, src.out_features, bias=src.bias is not None)
    out.load_state_dict(src.state_dict())
    return out


class QAHead(nn.Linear):
    """The start/end logit projections: their own type, so a quantizer that takes nn.Linear by type
    (LiteRT int8-static) leaves them float and the outputs stay the float32 logits the sidecar
    promises (quantized, LiteRT returned int8 logits)."""


class Block(nn.Module):
    """One post-LN transformer block (BERT and DistilBERT share this layout)."""

    def __init__(self, q, k, v, o, ln1, ffn1, ffn2, ln2, heads: int, decompose_ln: bool):
        super().__init__()
        self.q, self.k, self.v, self.o = map(_linear, (q, k, v, o))
        self.ffn1, self.ffn2 = _linear(ffn1), _linear(ffn2)
        self.ln1, self.ln2 = LayerNorm4d(ln1, decompose_ln), LayerNorm4d(ln2, decompose_ln)
        self.heads = heads
        self.head_dim = q.out_features // heads
        self.scale = 1.0 / math.sqrt(self.head_dim)

    def _split(self, x):  # [1, L, H] -> [heads, L, d]
        n = x.shape[1]
        return x.reshape(n, self.heads, self.head_dim).permute(1, 0, 2)

    def forward(self, x, mask_add):
        n, hidden = x.shape[1], x.shape[2]
        q = self._split(self.q(x) * self.scale)
        k = self._split(self.k(x))
        v = self._split(self.v(x))
        scores = torch.bmm(q, k.permute(0, 2, 1)) + mask_add
        ctx = torch.bmm(torch.softmax(scores, dim=-1), v)
        ctx = ctx.permute(1, 0, 2).reshape(1, n, hidden)
        x = self.ln1(x + self.o(ctx))
        return self.ln2(x + self.ffn2(nn.functional.gelu(self.ffn1(x))))


class ExportQA(nn.Module):
    def __init__(self, hf_model, decompose_layer_norm: bool = False):
        super().__init__()
        cfg = hf_model.config
        self.model_type = cfg.model_type
        act = getattr(cfg, "hidden_act", getattr(cfg, "activation", "gelu"))
        if act != "gelu":
            raise ValueError(f"export forward supports the exact 'gelu' activation, the model uses {act!r}")
        if self.model_type == "bert":
            if getattr(cfg, "position_embedding_type", "absolute") != "absolute":
                raise ValueError("export forward supports absolute position embeddings only")
            emb, layers = hf_model.bert.embeddings, hf_model.bert.encoder.layer
            self.token_type = nn.Embedding.from_pretrained(emb.token_type_embeddings.weight.detach().clone())
            blocks = [(l.attention.self.query, l.attention.self.key, l.attention.self.value,
                       l.attention.output.dense, l.attention.output.LayerNorm, l.intermediate.dense,
                       l.output.dense, l.output.LayerNorm) for l in layers]
            heads = cfg.num_attention_heads
        elif self.model_type == "distilbert":
            emb, layers = hf_model.distilbert.embeddings, hf_model.distilbert.transformer.layer
            self.token_type = None
            blocks = [(l.attention.q_lin, l.attention.k_lin, l.attention.v_lin, l.attention.out_lin,
                       l.sa_layer_norm, l.ffn.lin1, l.ffn.lin2, l.output_layer_norm) for l in layers]
            heads = cfg.n_heads
        else:
            raise ValueError(f"export forward supports bert and distilbert, not {self.model_type!r}")
        self.word = nn.Embedding.from_pretrained(emb.word_embeddings.weight.detach().clone())
        self.position = nn.Parameter(emb.position_embeddings.weight.detach().clone())
        self.emb_ln = LayerNorm4d(emb.LayerNorm, decompose_layer_norm)
        self.blocks = nn.ModuleList(Block(*b, heads=heads, decompose_ln=decompose_layer_norm) for b in blocks)
        w, b = hf_model.qa_outputs.weight.detach(), hf_model.qa_outputs.bias.detach()
        self.start_head, self.end_head = QAHead(w.shape[1], 1), QAHead(w.shape[1], 1)
        with torch.no_grad():
            self.start_head.weight.copy_(w[0:1]); self.start_head.bias.copy_(b[0:1])
            self.end_head.weight.copy_(w[1:2]); self.end_head.bias.copy_(b[1:2])
        self.max_positions = self.position.shape[0]
        self.eval()

    @property
    def uses_token_type_ids(self) -> bool:
        return self.token_type is not None

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        n = input_ids.shape[1]
        x = self.word(input_ids.long()) + self.position[:n].unsqueeze(0)
        if self.token_type is not None:
            x = x + self.token_type(token_type_ids.long())
        x = self.emb_ln(x)
        mask_add = ((1.0 - attention_mask.to(torch.float32)) * MASK_VALUE).unsqueeze(0)  # [1, 1, L]
        for block in self.blocks:
            x = block(x, mask_add)
        return self.start_head(x).reshape(1, n), self.end_head(x).reshape(1, n)

    def input_names(self) -> list[str]:
        return ["input_ids", "attention_mask"] + (["token_type_ids"] if self.uses_token_type_ids else [])

    def example_inputs(self, seq_len: int) -> tuple:
        """Int32 [1, L] inputs: a realistic window (some padding) so calibration sees a mask."""
        if seq_len > self.max_positions:
            raise ValueError(f"seq_len {seq_len} exceeds the model's {self.max_positions} positions")
        g = torch.Generator().manual_seed(0)
        ids = torch.randint(1, self.word.num_embeddings, (1, seq_len), generator=g, dtype=torch.int32)
        mask = torch.ones(1, seq_len, dtype=torch.int32)
        mask[0, seq_len - seq_len // 4:] = 0
        ids[mask == 0] = 0
        out = (ids, mask)
        if self.uses_token_type_ids:
            tt = torch.zeros(1, seq_len, dtype=torch.int32)
            tt[0, seq_len // 4: seq_len - seq_len // 4] = 1
            out += (tt,)
        return out


def load_qa(folder: str | Path):
    """The trained transformers QA model (eager attention, eval mode)."""
    from transformers import AutoModelForQuestionAnswering
    return AutoModelForQuestionAnswering.from_pretrained(str(folder), attn_implementation="eager").eval()


def export_forward(folder_or_model, decompose_layer_norm: bool = False) -> ExportQA:
    model = load_qa(folder_or_model) if isinstance(folder_or_model, (str, Path)) else folder_or_model
    return ExportQA(model, decompose_layer_norm=decompose_layer_norm)
