"""Intermediate-layer distillation terms (pipeline/training/layer_losses.py) on a tiny teacher/student:
each term against a hand computation from the HF models' own hidden_states/attentions, the layer map,
and the all-weights-0 path reproducing the paper's triple loss bit for bit without extra teacher outputs."""
from __future__ import annotations

import dataclasses
import json
import math
from types import SimpleNamespace

import pytest
import torch

from pipeline.config import DistillCfg, UserError
from pipeline.training import layer_losses
from pipeline.training.student_init import build_student

LAYERS = [1, 3]


@pytest.fixture(scope="module")
def pair():
    from transformers import BertConfig, BertForMaskedLM
    torch.manual_seed(0)
    teacher = BertForMaskedLM(BertConfig(vocab_size=60, hidden_size=16, num_hidden_layers=4, num_attention_heads=2,
                                         intermediate_size=32, max_position_embeddings=64)).eval()
    student, _ = build_student(teacher, LAYERS)
    with torch.no_grad():  # move the student off the teacher so every term is non-zero
        for p in student.parameters():
            p.add_(0.05 * torch.randn_like(p))
    ids = torch.randint(5, 60, (2, 7))
    attn = torch.ones_like(ids)
    attn[1, 4:] = 0
    return teacher, student.eval(), ids, attn


def _outputs(teacher, student, ids, attn):
    for m in (teacher, student):
        m.set_attn_implementation("eager")
    kw = dict(input_ids=ids, attention_mask=attn, output_hidden_states=True, output_attentions=True)
    with torch.no_grad():
        return student.base_model(**kw), teacher.base_model(**kw)


def test_layer_map_follows_the_copied_layers():
    m = layer_losses.layer_map([0, 2, 4, 7, 9, 11])
    assert m["hidden_states"] == [[0, 0], [1, 1], [2, 3], [3, 5], [4, 8], [5, 10], [6, 12]]
    assert m["attentions"] == [[0, 0], [1, 2], [2, 4], [3, 7], [4, 9], [5, 11]]


def test_block_end_map_matches_the_last_layer_of_each_block():
    """Three student layers of a six-layer teacher: outputs to teacher hidden states 2, 4, 6 (the last one is
    what the head reads), attentions to teacher layers 1, 3, 5, whichever layers were copied."""
    m = layer_losses.layer_map([0, 2, 4], "block_end", 6)
    assert m["match"] == "block_end" and m["teacher_layers"] == [0, 2, 4]
    assert m["hidden_states"] == [[0, 0], [1, 2], [2, 4], [3, 6]]
    assert m["attentions"] == [[0, 1], [1, 3], [2, 5]]


def test_each_term_matches_a_hand_computation(pair):
    teacher, student, ids, attn = pair
    s_out, t_out = _outputs(teacher, student, ids, attn)
    real = attn.bool()
    lmap = layer_losses.layer_map(LAYERS)
    c = SimpleNamespace(alpha_hidden=1.0, alpha_attn=1.0, alpha_emb=1.0, hidden_loss="mse")
    got = layer_losses.layer_terms(c, lmap, s_out, t_out, attn)
    rows = [(b, q) for b in range(2) for q in range(7) if attn[b, q]]
    sq = lambda a, b: sum(float(((a[i, j] - b[i, j]) ** 2).sum()) for i, j in rows) / (len(rows) * 16)  # noqa: E731
    emb = sq(s_out.hidden_states[0], t_out.hidden_states[0])
    hidden = (sq(s_out.hidden_states[1], t_out.hidden_states[2]) + sq(s_out.hidden_states[2], t_out.hidden_states[4])) / 2
    kl = []
    for s_l, t_l in ((0, 1), (1, 3)):
        s, t = s_out.attentions[s_l], t_out.attentions[t_l]
        for b, q in rows:
            for h in range(2):
                kl.append(sum(float(t[b, h, q, k]) * math.log(float(t[b, h, q, k]) / float(s[b, h, q, k]))
                              for k in range(7) if attn[b, k]))
    assert got["emb"].item() == pytest.approx(emb, rel=1e-5)
    assert got["hidden"].item() == pytest.approx(hidden, rel=1e-5)
    assert got["attn"].item() == pytest.approx(sum(kl) / len(kl), rel=1e-4) and got["attn"] > 0
    cos = layer_losses.layer_terms(dataclasses.replace(DistillCfg(), alpha_hidden=1.0, hidden_loss="cos"),
                                   lmap, s_out, t_out, attn)
    cs = lambda a, b: sum(1 - float(torch.cosine_similarity(a[i, j], b[i, j], dim=0)) for i, j in rows) / len(rows)  # noqa: E731
    assert set(cos) == {"hidden"}
    assert cos["hidden"].item() == pytest.approx((cs(s_out.hidden_states[1], t_out.hidden_states[2])
                                                  + cs(s_out.hidden_states[2], t_out.hidden_states[4])) / 2, rel=1e-5)
    assert layer_losses.weighted(c, got).item() == pytest.approx(emb + hidden + sum(kl) / len(kl), rel=1e-4)


def _batch(student, ids, attn):
    labels = torch.full_like(ids, -100)
    labels[0, 2], labels[1, 1] = 7, 9
    return ids.clone(), attn, labels


def test_zero_weights_reproduce_the_triple_loss_bit_for_bit(pair):
    """Training mode (dropout on), same seed: StudentLoss + _teacher_forward as the stage runs them
    equal today's code path exactly, and the teacher's layer outputs are never requested."""
    from pipeline.training.distill import StudentLoss, _teacher_forward, triple_loss
    from pipeline.training.mlm import encoder_and_head
    teacher, student, ids, attn = pair
    student.train()
    d = DistillCfg()
    assert layer_losses.weights(d) == {}
    masked, attn, labels = _batch(student, ids, attn)
    t_encode, t_head = encoder_and_head(teacher)
    forbid = SimpleNamespace(d=d, teacher=SimpleNamespace())  # no base_model: any layer request would fail
    torch.manual_seed(5)
    with torch.no_grad():
        t_hidden, t_out = _teacher_forward(forbid, t_encode, masked, attn)
    new = StudentLoss(student, d)(masked, attn, labels, t_hidden, t_head, t_out)
    torch.manual_seed(5)
    encode, head = encoder_and_head(student)
    with torch.no_grad():
        old_t = t_encode(masked, attn)
    old, _ = triple_loss(d, encode(masked, attn), old_t, head, t_head, labels, attn)
    student.eval()
    assert t_out is None and torch.equal(new, old)


def test_layer_path_keeps_the_triple_terms(pair):
    """With a layer term on, the student's last hidden state comes from output_hidden_states; the
    paper's three terms stay what they were, and the total adds the weighted layer term."""
    from pipeline.training.distill import StudentLoss, _teacher_forward, triple_loss
    from pipeline.training.mlm import encoder_and_head
    teacher, student, ids, attn = pair
    d = dataclasses.replace(DistillCfg(), alpha_hidden=3.0)
    masked, attn, labels = _batch(student, ids, attn)
    t_encode, t_head = encoder_and_head(teacher)
    with torch.no_grad():
        t_hidden, t_out = _teacher_forward(SimpleNamespace(d=d, teacher=teacher), t_encode, masked, attn)
        module = StudentLoss(student, d, layer_losses.layer_map(LAYERS))
        total = module(masked, attn, labels, t_hidden, t_head, t_out)
        encode, head = encoder_and_head(student)
        base, terms = triple_loss(d, encode(masked, attn), t_encode(masked, attn), head, t_head, labels, attn)
    for k in ("ce", "mlm", "cos"):
        assert module.terms[k] == pytest.approx(terms[k], rel=1e-6)
    assert module.terms["hidden"] > 0
    assert total.item() == pytest.approx(base.item() + 3.0 * module.terms["hidden"], rel=1e-5)


def test_map_lookup_and_width_check(tmp_path, pair):
    teacher, student, *_ = pair
    (tmp_path / "init.json").write_text(json.dumps({"copied_layers": LAYERS}))
    assert layer_losses.find_layer_map(tmp_path, 4, 2)["teacher_layers"] == LAYERS
    (tmp_path / "layer_map.json").write_text(json.dumps(layer_losses.layer_map([0, 3])))
    assert layer_losses.find_layer_map(tmp_path, 4, 2)["teacher_layers"] == [0, 3]  # distill's record wins
    assert layer_losses.find_layer_map(tmp_path / "model", 4, 2)["teacher_layers"] == [0, 3]  # the stage's record
    assert layer_losses.find_layer_map(tmp_path / "model", 4, 2, match="block_end")["hidden_states"] == [[0, 0], [1, 2],
                                                                                                       [2, 4]]
    assert layer_losses.find_layer_map(tmp_path / "a" / "b", 4, 2)["teacher_layers"] == [0, 2]  # default choice
    with pytest.raises(UserError, match="does not fit"):
        layer_losses.find_layer_map(tmp_path, 4, 3)
    assert layer_losses.find_layer_map(tmp_path, 4, 3, strict=False) is None
    from transformers import DistilBertConfig, DistilBertForMaskedLM
    narrow = DistilBertForMaskedLM(DistilBertConfig(vocab_size=60, dim=8, n_layers=2, n_heads=2, hidden_dim=16))
    on = dataclasses.replace(DistillCfg(), alpha_emb=1.0)
    with pytest.raises(UserError, match="equal hidden sizes"):
        layer_losses.prepare(on, tmp_path, narrow, teacher)
    assert layer_losses.prepare(DistillCfg(), tmp_path, narrow, teacher)["teacher_layers"] == [0, 3]  # weights 0: no check
