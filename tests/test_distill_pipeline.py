"""Issue 2: the distillation stages end to end on a tiny teacher and corpus, through build_all."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest import build_all


def _manifest(tmp_path):
    return json.loads((tmp_path / "run" / "manifest.json").read_text())


def _statuses(stdout: str) -> dict:
    """stage -> ran/skipped, from build_all's summary table (columns split on whitespace)."""
    return {cols[0]: cols[1] for cols in map(str.split, stdout.splitlines())
            if len(cols) >= 2 and cols[1] in ("ran", "skipped")}


def test_full_distillation_run_then_cached(tmp_path, tiny_preset):
    build_all("--preset", tiny_preset, "--stages", "corpus,teacher,student_init,distill")
    run = tmp_path / "run"
    man = _manifest(tmp_path)
    assert set(man["stages"]) == {"corpus", "teacher", "student_init", "distill"}
    assert man["config"]["distill"]["alpha_ce"] == 5.0 and "torch" in man["versions"] and man["git_commit"]
    for stage in man["stages"].values():
        assert stage["outputs"] and stage["wall_s"] >= 0
    # the student is a standard DistilBERT checkpoint
    from transformers import AutoModelForMaskedLM, AutoModelForQuestionAnswering
    student = AutoModelForMaskedLM.from_pretrained(run / "distill" / "model")
    assert student.config.model_type == "distilbert" and student.config.n_layers == 2
    AutoModelForQuestionAnswering.from_pretrained(run / "distill" / "model")
    log = [json.loads(l) for l in (run / "distill" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4]
    assert {"ce", "mlm", "cos", "lr", "tokens_per_s"} <= set(log[0])
    res = json.loads((tmp_path / "results" / "mlm" / "student.json").read_text())
    assert res["kind"] == "mlm_eval" and 0 < res["param_ratio"] < 1
    teacher = json.loads((tmp_path / "results" / "mlm" / "teacher.json").read_text())
    assert teacher["baseline"]["model"] == "unigram" and len(teacher["models"]) == 2
    # same inputs and config: every stage is skipped and nothing changes
    before = (run / "distill" / "model" / "model.safetensors").read_bytes()
    out = build_all("--preset", tiny_preset, "--stages", "corpus,teacher,student_init,distill")
    assert _statuses(out.stdout) == dict.fromkeys(("corpus", "teacher", "student_init", "distill"), "skipped")
    assert "training precision: fp32 (run.precision fp32)" in out.stderr.splitlines()  # the tiny preset pins it
    assert (run / "distill" / "model" / "model.safetensors").read_bytes() == before
    # a changed distillation option re-runs only distillation
    out = build_all("--preset", tiny_preset, "--stages", "corpus,teacher,student_init,distill", "--distill.lr", "1e-4")
    assert _statuses(out.stdout) == dict(corpus="skipped", teacher="skipped", student_init="skipped", distill="ran")


def test_corpus_filters_and_splits(tmp_path, tiny_preset, tiny_corpus):
    build_all("--preset", tiny_preset, "--stages", "corpus", "--corpus.min_tokens", "20")
    out = tmp_path / "run" / "corpus"
    from pipeline.data.corpus import load_split
    train, held = load_split(out, "train"), load_split(out, "heldout")
    assert train and held
    assert all(20 <= len(s) <= 48 for s in train + held)
    assert all(s[0] == 2 and s[-1] == 3 for s in train)  # [CLS] ... [SEP]
    docs = [json.loads(l) for l in (out / "documents.jsonl").read_text().splitlines()]
    assert len(docs) == 60 and all(d["text"] for d in docs)
    assert np.load(out / "token_counts.npy").sum() == sum(len(s) for s in train)


def test_unk_heavy_sequences_are_dropped(tmp_path, tiny_preset):
    src = tmp_path / "unk"
    src.mkdir()
    (src / "a.txt").write_text(" ".join(["zzqx"] * 30) + ".\n\n")  # every word unknown to the vocab
    for i in range(4):
        (src / f"b{i}.txt").write_text(" ".join(["the model learns"] * 10))
    build_all("--preset", tiny_preset, "--stages", "corpus", "--corpus.source", str(src))
    stats = json.loads((tmp_path / "run" / "corpus" / "stats.json").read_text())
    assert stats["dropped"]["unk"] == 1


def test_student_layers_equal_teacher_layers(tiny_teacher):
    from transformers import BertForMaskedLM
    from pipeline.training.student_init import LAYER_MAP, build_student
    teacher = BertForMaskedLM.from_pretrained(tiny_teacher)
    student, layers = build_student(teacher, [0, 3])
    assert layers == [0, 3] and student.config.n_layers == 2
    for s_idx, t_idx in enumerate(layers):
        t_layer, s_layer = teacher.bert.encoder.layer[t_idx], student.distilbert.transformer.layer[s_idx]
        for t_name, s_name in LAYER_MAP.items():
            t_sd, s_sd = t_layer.get_submodule(t_name).state_dict(), s_layer.get_submodule(s_name).state_dict()
            assert t_sd.keys() == s_sd.keys()
            for k in t_sd:
                assert torch.equal(t_sd[k], s_sd[k]), (t_idx, t_name, k)
    assert torch.equal(student.vocab_transform.weight, teacher.cls.predictions.transform.dense.weight)
    assert torch.equal(student.vocab_projector.bias, teacher.cls.predictions.bias)
    assert not hasattr(student.distilbert.embeddings, "token_type_embeddings")
    # token type 0 is folded into the positions, so the embedding outputs agree exactly
    ids = torch.tensor([[2, 10, 11, 12, 3]])
    teacher.eval(), student.eval()
    assert torch.allclose(teacher.bert.embeddings(input_ids=ids), student.distilbert.embeddings(ids), atol=1e-6)


def test_default_layer_choice():
    from pipeline.training.student_init import default_layers
    assert default_layers(12) == [0, 2, 4, 7, 9, 11]
    assert default_layers(6) == [0, 2, 4]


def test_triple_loss_matches_definition():
    """KL at T times T^2 over selected rows, CE at masked rows, 1 - cos over real tokens."""
    from pipeline.config import DistillCfg
    from pipeline.training.distill import triple_loss
    torch.manual_seed(0)
    d = DistillCfg(temperature=2.0, alpha_ce=5.0, alpha_mlm=2.0, alpha_cos=1.0)
    s_h, t_h = torch.randn(2, 5, 8), torch.randn(2, 5, 8)
    attn = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0]])
    labels = torch.full((2, 5), -100)
    labels[0, 1], labels[1, 2] = 3, 4
    proj_s, proj_t = torch.nn.Linear(8, 10), torch.nn.Linear(8, 10)
    total, terms = triple_loss(d, s_h, t_h, proj_s, proj_t, labels, attn)
    real = attn.bool()
    s, t = proj_s(s_h[real]), proj_t(t_h[real])
    kl = (torch.softmax(t / 2, -1) * (torch.log_softmax(t / 2, -1) - torch.log_softmax(s / 2, -1))).sum(-1).mean() * 4
    mlm = torch.nn.functional.cross_entropy(proj_s(s_h[labels != -100]), labels[labels != -100])
    cos = (1 - torch.nn.functional.cosine_similarity(s_h[real], t_h[real], dim=-1)).mean()
    assert terms["ce"] == pytest.approx(kl.item(), rel=1e-5)
    assert terms["mlm"] == pytest.approx(mlm.item(), rel=1e-5)
    assert terms["cos"] == pytest.approx(cos.item(), rel=1e-5)
    assert total.item() == pytest.approx(5 * kl.item() + 2 * mlm.item() + cos.item(), rel=1e-5)


def test_masking_split_and_smoothing():
    from pipeline.training.mlm import mask_tokens, token_weights
    ids = torch.randint(5, 100, (64, 64))
    attn = torch.ones_like(ids)
    counts = np.ones(100, dtype=np.int64)
    counts[5:50] = 10_000  # frequent words are masked less often under count^-0.7
    w = token_weights(counts, 0.7, [0, 1, 2, 3, 4])
    masked, labels = mask_tokens(ids, attn, w, 0.15, 4, 100, torch.Generator().manual_seed(0))
    picked = labels != -100
    assert picked.sum() == round(0.15 * ids.numel())
    frac_mask = (masked[picked] == 4).float().mean().item()
    assert 0.75 < frac_mask < 0.85
    rare_rate = picked[ids >= 50].float().mean() / picked[ids < 50].float().mean()
    assert rare_rate > 5


def test_export_vocab_from_tokenizer_json(tiny_teacher, tmp_path):
    """transformers 5 checkpoints carry tokenizer.json but no vocab.txt: the apps' vocabulary is rebuilt by id."""
    import shutil
    from pipeline.export.export import tokenizer_facts
    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_teacher, ckpt)
    original = (ckpt / "vocab.txt").read_text().splitlines()
    (ckpt / "vocab.txt").unlink()
    facts = tokenizer_facts(ckpt, tmp_path / "vocab.txt")
    assert (tmp_path / "vocab.txt").read_text().splitlines() == original
    assert facts["do_lower_case"] is True


def test_teacher_fit_keeps_frozen_layers(tmp_path, tiny_preset, tiny_teacher):
    """--teacher.frozen_layers N: embeddings (and the tied decoder) and the bottom N layers stay as
    loaded, the layers above and the head are adapted; a value beyond the depth is an input error."""
    from transformers import BertForMaskedLM
    build_all("--preset", tiny_preset, "--stages", "corpus,teacher", "--teacher.frozen_layers", "2")
    before = BertForMaskedLM.from_pretrained(tiny_teacher).state_dict()
    after = BertForMaskedLM.from_pretrained(tmp_path / "run" / "teacher" / "model").state_dict()
    same = {k for k in before if torch.equal(before[k], after[k])}
    assert {k for k in before if k.startswith("bert.embeddings.")} <= same
    assert {k for k in before if k.startswith(("bert.encoder.layer.0.", "bert.encoder.layer.1."))} <= same
    for prefix in ("bert.encoder.layer.2.", "bert.encoder.layer.3.", "cls.predictions.transform."):
        assert any(k.startswith(prefix) and k not in same for k in before), prefix
    res = build_all("--preset", tiny_preset, "--stages", "teacher", "--teacher.frozen_layers", "5", check=False)
    assert res.returncode == 2 and "teacher.frozen_layers" in res.stderr.strip().splitlines()[-1]


def test_distillation_with_layer_terms_records_the_map(tmp_path, tiny_preset):
    """--distill.alpha_hidden/alpha_attn/alpha_emb: each term is logged per step, and the layer map
    (student_init's copied layers) is in distill/layer_map.json, the manifest and results/mlm/student.json."""
    stages = "corpus,teacher,student_init,distill"
    build_all("--preset", tiny_preset, "--stages", stages, "--distill.alpha_hidden", "1", "--distill.hidden_loss", "cos",
              "--distill.alpha_attn", "0.5", "--distill.alpha_emb", "1")
    run = tmp_path / "run"
    copied = json.loads((run / "student_init" / "init.json").read_text())["copied_layers"]
    lmap = json.loads((run / "distill" / "layer_map.json").read_text())
    assert lmap["teacher_layers"] == copied and lmap["hidden_states"][0] == [0, 0]
    assert lmap["hidden_states"][1:] == [[i + 1, t + 1] for i, t in enumerate(copied)]
    log = [json.loads(l) for l in (run / "distill" / "log.jsonl").read_text().splitlines()]
    assert all(r["hidden"] > 0 and r["attn"] >= 0 and r["emb"] >= 0 and {"ce", "mlm", "cos"} <= set(r) for r in log)
    man = _manifest(tmp_path)["stages"]["distill"]
    assert man["metrics"]["layer_map"] == lmap and man["metrics"]["layer_losses"] == {"hidden": 1.0, "attn": 0.5, "emb": 1.0}
    res = json.loads((tmp_path / "results" / "mlm" / "student.json").read_text())
    assert res["distill"]["layer_map"] == lmap
