"""Student stage: a DistilBERT with half the teacher's layers, initialised from the teacher.

Same hidden size, no token-type embeddings, no pooler; saved as a standard
DistilBertForMaskedLM (AutoModelForMaskedLM.from_pretrained loads it). Teacher layers are
copied one out of two by default (the paper's [0, 2, 4, 7, 9, 11] for 12 layers), with the
word/position embeddings, the embedding LayerNorm and the whole MLM head.

BERT adds token_type_embeddings[0] to every token of a single-segment input; DistilBERT has
no such table, so that row is folded into the position embeddings. The student's embedding
output then equals the teacher's for single-segment input, instead of starting off by a
constant shift as a plain copy would.
"""
from __future__ import annotations

import json

import torch

from pipeline.config import UserError
from pipeline.core.models import count_params
from pipeline.core.runs import log

PAPER_LAYERS_12 = [0, 2, 4, 7, 9, 11]

# teacher (BertLayer) sub-module -> student (TransformerBlock) sub-module
LAYER_MAP = {
    "attention.self.query": "attention.q_lin",
    "attention.self.key": "attention.k_lin",
    "attention.self.value": "attention.v_lin",
    "attention.output.dense": "attention.out_lin",
    "attention.output.LayerNorm": "sa_layer_norm",
    "intermediate.dense": "ffn.lin1",
    "output.dense": "ffn.lin2",
    "output.LayerNorm": "output_layer_norm",
}


def default_layers(n: int) -> list[int]:
    if n == 12:
        return list(PAPER_LAYERS_12)
    return list(range(0, n, 2))


def student_config(teacher_config, n_layers: int):
    from transformers import DistilBertConfig
    tc = teacher_config
    if tc.hidden_act not in ("gelu", "relu"):
        raise UserError(f"teacher activation '{tc.hidden_act}' has no DistilBERT equivalent (gelu or relu)")
    return DistilBertConfig(
        vocab_size=tc.vocab_size, max_position_embeddings=tc.max_position_embeddings, sinusoidal_pos_embds=False,
        n_layers=n_layers, n_heads=tc.num_attention_heads, dim=tc.hidden_size, hidden_dim=tc.intermediate_size,
        dropout=tc.hidden_dropout_prob, attention_dropout=tc.attention_probs_dropout_prob,
        activation=tc.hidden_act, initializer_range=tc.initializer_range, pad_token_id=tc.pad_token_id,
        tie_word_embeddings=True)


def _copy(dst: torch.nn.Module, src: torch.nn.Module) -> None:
    dst.load_state_dict(src.state_dict())


def _student_layers(teacher, layers: list[int] | None) -> list[int]:
    n_teacher = teacher.config.num_hidden_layers
    layers = list(layers) if layers else default_layers(n_teacher)
    bad = [i for i in layers if not 0 <= i < n_teacher]
    if bad:
        raise UserError(f"student.layers {layers}: teacher has layers 0..{n_teacher - 1}")
    return layers


def _copy_encoder(bert, distilbert, layers: list[int]) -> None:
    """Embeddings and the chosen layers of a BertModel into a DistilBertModel."""
    te, se = bert.embeddings, distilbert.embeddings
    _copy(se.word_embeddings, te.word_embeddings)
    se.position_embeddings.weight.copy_(te.position_embeddings.weight + te.token_type_embeddings.weight[0])
    _copy(se.LayerNorm, te.LayerNorm)
    for s_idx, t_idx in enumerate(layers):
        t_layer, s_layer = bert.encoder.layer[t_idx], distilbert.transformer.layer[s_idx]
        for t_name, s_name in LAYER_MAP.items():
            _copy(s_layer.get_submodule(s_name), t_layer.get_submodule(t_name))


@torch.no_grad()
def build_student(teacher, layers: list[int] | None = None, init: str = "teacher"):
    """Return a DistilBertForMaskedLM built from a BertForMaskedLM teacher."""
    from transformers import DistilBertForMaskedLM
    layers = _student_layers(teacher, layers)
    student = DistilBertForMaskedLM(student_config(teacher.config, len(layers)))
    if init == "random":
        return student, layers
    _copy_encoder(teacher.bert, student.distilbert, layers)
    pred = teacher.cls.predictions
    _copy(student.vocab_transform, pred.transform.dense)
    _copy(student.vocab_layer_norm, pred.transform.LayerNorm)
    student.vocab_projector.bias.copy_(pred.bias)  # the projector weight is tied to the word embeddings
    return student, layers


@torch.no_grad()
def build_qa_student(qa_teacher, layers: list[int] | None = None):
    """A DistilBertForQuestionAnswering from a fine-tuned BertForQuestionAnswering: its embeddings, the
    chosen layers and its span head (qa.distil_init qa_teacher: the task-tuned weights are the start)."""
    from transformers import DistilBertForQuestionAnswering
    layers = _student_layers(qa_teacher, layers)
    student = DistilBertForQuestionAnswering(student_config(qa_teacher.config, len(layers)))
    _copy_encoder(qa_teacher.bert, student.distilbert, layers)
    _copy(student.qa_outputs, qa_teacher.qa_outputs)
    return student, layers


def save_student(student, tokenizer_dir, out) -> None:
    from transformers import DistilBertTokenizerFast
    student.save_pretrained(out)
    # DistilBERT's tokenizer class drops token_type_ids, which the student does not accept.
    DistilBertTokenizerFast.from_pretrained(tokenizer_dir).save_pretrained(out)


def run(cfg, ctx) -> dict:
    from transformers import BertForMaskedLM
    from pipeline.training.hardware import seed_everything
    seed_everything(cfg.run.seed)
    teacher_dir = ctx.inputs["teacher"] / "model"
    teacher = BertForMaskedLM.from_pretrained(teacher_dir)
    student, layers = build_student(teacher, cfg.student.layers, cfg.student.init)
    save_student(student, teacher_dir, ctx.out / "model")
    info = {"teacher_layers": teacher.config.num_hidden_layers, "copied_layers": layers, "init": cfg.student.init,
            "teacher_params": count_params(teacher), "student_params": count_params(student)}
    info["param_ratio"] = round(info["student_params"] / info["teacher_params"], 4)
    (ctx.out / "init.json").write_text(json.dumps(info, indent=2) + "\n")
    log(f"student: {len(layers)} layers from teacher layers {layers} ({cfg.student.init} init), "
        f"{info['student_params']:,} params = {info['param_ratio']:.1%} of the teacher's {info['teacher_params']:,}")
    return info
