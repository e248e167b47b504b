"""Ablation stage on a tiny teacher and corpus: variants x seeds, mean/std rows, short QA score."""
from __future__ import annotations

import json

import pytest

from conftest import build_all
from pipeline.config import UserError
from pipeline.core import results_schema
from pipeline.training import ablation


def test_two_variants_two_seeds_give_per_seed_rows_and_mean_std(tmp_path, tiny_preset, monkeypatch):
    build_all("--preset", tiny_preset, "--stages", "corpus,teacher,student_init,qa_data,ablation",
              "--ablation.variants", "no_mlm", "--ablation.seeds", "2", "--ablation.steps", "2",
              "--ablation.qa_steps", "2", "--ablation.qa_dev_examples", "4",
              "--qa.train_examples", "16", "--qa.dev_examples", "6", "--qa.batch_size", "4")
    obj, problems = results_schema.validate_file(tmp_path / "results" / "mlm" / "ablation.json")
    assert problems == []
    assert [(r["variant"], r["seed"]) for r in obj["variants"]] == [("full", 0), ("full", 1), ("no_mlm", 0), ("no_mlm", 1)]
    assert all(r["steps"] == 2 and r["qa_steps"] == 2 and 0 <= r["qa_f1"] <= 100 for r in obj["variants"])
    assert obj["qa"]["dev_examples"] == 4 and obj["seeds"] == [0, 1]
    for s in obj["summary"]:
        accs = [r["masked_acc"] for r in obj["variants"] if r["variant"] == s["variant"]]
        assert s["masked_acc"]["mean"] == pytest.approx(sum(accs) / 2, abs=1e-5)
        assert s["masked_acc"]["std"] == pytest.approx(abs(accs[0] - accs[1]) / 2 ** 0.5, abs=1e-5)
        assert s["qa_f1"]["std"] is not None
    # seeds differ: masks, batches and dropout are drawn from the seed
    out = tmp_path / "run" / "ablation"
    assert (out / "no_mlm" / "seed0" / "model" / "config.json").is_file() and not (out / "no_mlm" / "seed1" / "model").exists()
    full = [r for r in obj["variants"] if r["variant"] == "full"]
    assert (full[0]["masked_acc"], full[0]["mlm_loss"]) != (full[1]["masked_acc"], full[1]["mlm_loss"])
    # the loss options run, and a (variant, seed) finished before a crash is reused, not distilled again
    from pipeline import config as config_mod
    from pipeline.core.runs import StageContext
    from pipeline.training import distill
    cfg = config_mod.load(str(tiny_preset), {"ablation.variants": [], "ablation.seeds": 1, "ablation.steps": 2,
                                             "ablation.qa_steps": 2, "ablation.qa_dev_examples": 4, "qa.batch_size": 4})
    run_dir = tmp_path / "run"
    inputs = {n: run_dir / n for n in ("corpus", "teacher", "student_init", "qa_data")}
    def ctx(out):
        (tmp_path / out).mkdir()
        return StageContext(cfg, "ablation", run_dir, tmp_path / out, tmp_path / "w", "k", inputs)
    cfg.ablation.variants = ["hidden_mse", "attn_kl"]  # the intermediate-layer loss options run too
    first = ablation.run(cfg, ctx("o1"))
    assert [s["variant"] for s in first["summary"]] == ["full", "hidden_mse", "attn_kl"]
    monkeypatch.setattr(distill, "distill", lambda *a, **k: (_ for _ in ()).throw(AssertionError("distilled again")))
    assert ablation.run(cfg, ctx("o2")) == first


def test_summary_mean_and_sample_std():
    rows = [{"variant": "full", "seed": s, "steps": 3, "masked_acc": a, "mlm_loss": 1.0} for s, a in ((0, 0.2), (1, 0.4))]
    rows.append({"variant": "ce_only", "seed": 0, "steps": 3, "masked_acc": 0.1, "mlm_loss": 2.0, "qa_f1": 5.0})
    full, ce = ablation.summarize(rows)
    assert full["masked_acc"] == {"mean": 0.3, "std": pytest.approx(0.14142, abs=1e-5)} and "qa_f1" not in full
    assert ce["masked_acc"] == {"mean": 0.1, "std": None} and ce["qa_f1"]["mean"] == 5.0 and ce["seeds"] == [0]


def test_variant_naming_a_missing_loss_option_fails_in_one_line(monkeypatch):
    from pipeline import config as config_mod
    cfg = config_mod.load("demo", {})
    monkeypatch.setitem(ablation.VARIANTS, "bogus", {"alpha_nonexistent": 1.0})
    with pytest.raises(UserError, match="needs distill.alpha_nonexistent") as e:
        ablation.variant_cfg(cfg, "bogus")
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("name", [n for n in ablation.VARIANTS if n not in ("full", "random_init")])
def test_every_variant_changes_the_distill_section(name):
    from pipeline import config as config_mod
    cfg = config_mod.load("ablation", {})  # its reference is the paper's triple loss (no hidden-state term)
    if any(not hasattr(cfg.distill, k) for k in ablation.VARIANTS[name]):
        pytest.skip(f"distill section lacks the fields of {name} in this checkout")
    assert ablation.variant_cfg(cfg, name) != cfg.distill
