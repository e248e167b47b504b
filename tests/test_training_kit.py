"""The training kit every trainer uses: groups, schedule, optimizer step, checkpoints."""
from __future__ import annotations

import pytest
import torch

from pipeline import config as config_mod
from pipeline.config import UserError
from pipeline.training import kit


def _opt(lr=1.0):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def _lrs(sched, n):
    out = []
    for _ in range(n):
        out.append(sched.get_last_lr()[0])
        sched.optimizer.step()
        sched.step()
    return out


@pytest.mark.parametrize("total, warmup", [(10, 0), (10, 1), (10, 3), (7, 7), (25, 2)])
def test_fine_tuning_schedule_is_the_hugging_face_one(total, warmup):
    from transformers import get_linear_schedule_with_warmup
    ours = _lrs(kit.warmup_linear(_opt(), total, warmup, first_step_at_zero=True), total + 2)
    hf = _lrs(get_linear_schedule_with_warmup(_opt(), warmup, total), total + 2)
    assert ours == hf


def test_distillation_schedule_starts_at_lr_over_warmup_and_ends_at_zero():
    lrs = _lrs(kit.warmup_linear(_opt(), 10, 4), 11)
    assert lrs[:4] == [0.25, 0.5, 0.75, 1.0]
    assert lrs[4:] == [(10 - s) / 6 for s in range(4, 10)] + [0.0]


def test_decay_groups_exempt_biases_and_layer_norms_of_bert_and_distilbert():
    from transformers import BertConfig, BertForQuestionAnswering, DistilBertConfig, DistilBertForQuestionAnswering
    models = [BertForQuestionAnswering(BertConfig(vocab_size=30, hidden_size=8, num_hidden_layers=1,
                                                  num_attention_heads=2, intermediate_size=16)),
              DistilBertForQuestionAnswering(DistilBertConfig(vocab_size=30, dim=8, n_layers=1, n_heads=2,
                                                              hidden_dim=16))]
    for model in models:
        decay, keep = kit.decay_groups(model, 0.01)
        names = {id(p): n for n, p in model.named_parameters()}
        kept = {names[id(p)] for p in keep["params"]}
        assert kept == {n for n in names.values() if n.endswith("bias") or "LayerNorm" in n or "layer_norm" in n}
        assert decay["weight_decay"] == 0.01 and keep["weight_decay"] == 0.0
        assert len(decay["params"]) + len(keep["params"]) == len(names)
    everything = kit.decay_groups(models[0], 0.01, exempt=False)
    assert len(everything) == 1 and len(everything[0]["params"]) == len(list(models[0].parameters()))


def _training(seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(kit.decay_groups(model, 0.1), lr=0.1)
    return model, opt, kit.warmup_linear(opt, 5, 2)


def _steps(model, opt, sched, n):
    for _ in range(n):
        model(torch.randn(4, 3)).pow(2).sum().backward()
        kit.optimizer_step(opt, sched, model.parameters(), 1.0)


def test_checkpoint_round_trip_resumes_exactly(tmp_path):
    ref_model, ref_opt, ref_sched = _training()
    _steps(ref_model, ref_opt, ref_sched, 4)
    model, opt, sched = _training()
    _steps(model, opt, sched, 2)
    ckpt = kit.Checkpoint(tmp_path / "c.pt", "key-1")
    ckpt.save(2, model, opt, sched, extra={"order": [3, 1]})
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]
    model, opt, sched = _training(seed=5)
    state = ckpt.load()
    assert ckpt.restore(state, model, opt, sched) == 2 and state["extra"] == {"order": [3, 1]}
    _steps(model, opt, sched, 2)
    for a, b in zip(model.parameters(), ref_model.parameters()):
        assert torch.equal(a, b)


def test_checkpoint_rules(tmp_path):
    assert kit.Checkpoint(tmp_path / "none.pt", "k").load() is None
    model, opt, sched = _training()
    kit.Checkpoint(tmp_path / "c.pt", "k").save(1, model, opt, sched)
    with pytest.raises(UserError, match=r"belongs to a different config or input \(key k != other\)"):
        kit.Checkpoint(tmp_path / "c.pt", "other").load()
    (tmp_path / "bad.pt").write_bytes(b"junk")
    with pytest.raises(UserError, match="is corrupt .*delete it to start this stage over"):
        kit.Checkpoint(tmp_path / "bad.pt", "k").load()
    torch.save({"key": "k", "step": 1}, tmp_path / "old.pt")  # another program's (or version's) layout
    with pytest.raises(UserError, match="is corrupt .*missing model, optimizer, scheduler, rng"):
        kit.Checkpoint(tmp_path / "old.pt", "k").load()


def test_auto_precision_trains_in_bf16_only_where_the_probe_measured_it_faster(monkeypatch):
    from pipeline.training import hardware
    cpu, cpu_cfg = torch.device("cpu"), {"run.device": "cpu"}
    monkeypatch.setattr(hardware, "cpu_bf16_speedup", lambda: 1.8)
    assert hardware.autocast_precision(config_mod.load("demo", {}), cpu) == "bf16"
    assert hardware.autocast_precision(config_mod.load("demo", {"run.precision": "fp32"}), cpu) == "fp32"
    with hardware.autocast(config_mod.load("demo", {}), cpu):
        assert torch.mm(torch.ones(2, 2), torch.ones(2, 2)).dtype == torch.bfloat16
    assert "measured 1.80x the speed of fp32" in hardware.precision_line(config_mod.load("demo", cpu_cfg))
    monkeypatch.setattr(hardware, "cpu_bf16_speedup", lambda: 0.8)  # bf16 instructions, slower all the same
    assert hardware.autocast_precision(config_mod.load("demo", {}), cpu) == "fp32"
    assert hardware.autocast_precision(config_mod.load("demo", {"run.precision": "bf16"}), cpu) == "bf16"
    assert hardware.precision_line(config_mod.load("demo", cpu_cfg)).startswith(
        "training precision: fp32: bf16 autocast measured 0.80x")
    monkeypatch.setattr(hardware, "cpu_bf16_speedup", lambda: 0.0)
    assert "neither AMX nor AVX512-BF16" in hardware.precision_line(config_mod.load("demo", cpu_cfg))


def test_bf16_probe_times_both_precisions_once_per_process(monkeypatch):
    from pipeline.training import hardware
    hardware.cpu_bf16_speedup.cache_clear()
    monkeypatch.setattr(hardware, "cpu_has_bf16_instructions", lambda: True)
    torch.manual_seed(7)
    first = hardware.cpu_bf16_speedup()
    after_probe = torch.rand(3)
    torch.manual_seed(7)
    assert torch.equal(torch.rand(3), after_probe)  # the probe leaves the global RNG where it was
    assert first > 0 and hardware.cpu_bf16_speedup() == first
    hardware.cpu_bf16_speedup.cache_clear()
    monkeypatch.setattr(hardware, "cpu_has_bf16_instructions", lambda: False)
    assert hardware.cpu_bf16_speedup() == 0.0
    hardware.cpu_bf16_speedup.cache_clear()
    # under torchrun a rank takes rank 0's figure, whatever its own probe measured
    from pipeline.core import distributed
    monkeypatch.setattr(distributed, "broadcast", lambda own: 1.5)
    assert hardware.cpu_bf16_speedup() == 1.5
    hardware.cpu_bf16_speedup.cache_clear()
