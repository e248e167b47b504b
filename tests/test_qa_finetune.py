"""QA fine-tune stage on tiny random models: (D) loss, saved checkpoints, results, resume."""
import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import qa_tiny
from pipeline.data import qa_data
from pipeline.training import qa_eval, qa_finetune, qa_loop
from pipeline.core import results_schema
from pipeline.core.runs import StageContext


def test_distillation_loss_matches_hand_computation_and_ignores_padding():
    s, t = torch.tensor([[1.0, 2.0, 0.5]]), torch.tensor([[0.0, 3.0, 1.0]])
    assert qa_loop.qa_distillation_loss(s, s, s, s, 2.0).item() == pytest.approx(0.0, abs=1e-7)
    p, q = F.softmax(t / 2, -1), F.softmax(s / 2, -1)
    kl = float((p * (p.log() - q.log())).sum()) * 4  # x T^2
    got = qa_loop.qa_distillation_loss(s, 2 * s, t, 2 * t, 2.0).item()
    p2, q2 = F.softmax(t, -1), F.softmax(s, -1)
    kl2 = float((p2 * (p2.log() - q2.log())).sum()) * 4
    assert got == pytest.approx((kl + kl2) / 2, rel=1e-5)
    # a padded position carries the NEG logit on both sides and adds nothing
    pad = torch.full((1, 1), qa_loop.NEG)
    sp, tp = torch.cat([s, pad], 1), torch.cat([t, pad], 1)
    assert qa_loop.qa_distillation_loss(sp, sp, tp, tp, 2.0).item() == pytest.approx(kl, rel=1e-5)


@pytest.fixture(scope="module")
def stage_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("qa")
    teacher, student = qa_tiny.save_models(tmp / "up")
    cfg = qa_tiny.cfg(tmp)
    data = tmp / "qa_data"
    data.mkdir()
    qa_data.run(cfg, StageContext(cfg, "qa_data", tmp, data, tmp / "w0", "k", {"corpus": qa_tiny.write_corpus(tmp / "c")}))
    if not (data / "natural_dev.json").is_file():  # a qa_data stage that does not write it yet: a stand-in
        dev = qa_data.load_squad_file(data / "dev.json")[:5]
        (data / "natural_dev.json").write_text(json.dumps(qa_data.to_squad(dev)))
    out, work = tmp / "qa_finetune", tmp / "work"
    out.mkdir()
    work.mkdir()
    ctx = StageContext(cfg, "qa_finetune", tmp, out, work, "k",
                       {"qa_data": data, "teacher": teacher.parent, "distill": student.parent})
    metrics = qa_finetune.run(cfg, ctx)
    return cfg, ctx, metrics


def test_stage_writes_every_model_predictions_and_valid_results(stage_run):
    cfg, ctx, metrics = stage_run
    assert set(metrics["training"]) == set(qa_finetune.MODELS)  # the demo trains the (D) from teacher layers too
    assert metrics["training"]["student_d"]["init"] == "student" and metrics["training"]["student_dt"]["init"] == "qa_teacher"
    for name in qa_finetune.MODELS:
        info = metrics["training"][name]
        assert info["steps"] == math.ceil(info["windows"] / cfg.qa.batch_size) and info["final_loss"] > 0
    assert json.loads((ctx.out / "teacher" / "config.json").read_text())["model_type"] == "bert"
    assert json.loads((ctx.out / "student_d" / "config.json").read_text())["model_type"] == "distilbert"
    hand = qa_data.load_squad_file(qa_data.HANDWRITTEN)
    preds = json.loads((ctx.out / "predictions" / "student_d.handwritten.json").read_text())
    assert set(preds) == {e["id"] for e in hand}
    for e in hand:  # every prediction is a piece of its own passage
        assert preds[e["id"]] in e["context"]
    for ds in ("generated_dev", "natural_dev", "natural_test", "handwritten"):
        obj, problems = results_schema.validate_file(ctx.results / "qa" / f"{ds}.json")
        assert problems == [] and [m["model"] for m in obj["models"]] == list(qa_finetune.MODELS)
    curve, problems = results_schema.validate_file(ctx.results / "qa" / "teacher_curve.json")
    assert problems == [] and set(curve["epochs"][0]["scores"]) == {"generated_dev", "natural_dev"}
    assert metrics["training"]["teacher"]["curve"] == curve["epochs"] and "curve" not in metrics["training"]["student"]
    assert metrics["training"]["teacher"]["epochs"] == len(curve["epochs"]) <= curve["max_epochs"]


def test_saved_checkpoints_are_standard_qa_checkpoints(stage_run):
    """transformers 5 removed the question-answering pipeline (pipeline() raises KeyError), so the
    acceptance check is what that pipeline did: Auto* classes load the folder with no missing or
    unexpected weights and reproduce the stage's predictions. On transformers < 5 the pipeline
    itself is exercised too."""
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer
    from transformers.pipelines import SUPPORTED_TASKS
    cfg, ctx, _ = stage_run
    hand = qa_data.load_squad_file(qa_data.HANDWRITTEN)
    for name in qa_finetune.MODELS:
        model, info = AutoModelForQuestionAnswering.from_pretrained(ctx.out / name, output_loading_info=True)
        assert not info["missing_keys"] and not info["unexpected_keys"]
        tok = AutoTokenizer.from_pretrained(ctx.out / name)
        preds = qa_eval.predict(model, tok, hand, cfg, torch.device("cpu"), "check")
        assert preds == json.loads((ctx.out / "predictions" / f"{name}.handwritten.json").read_text())
        if "question-answering" in SUPPORTED_TASKS:
            from transformers import pipeline
            qa = pipeline("question-answering", model=str(ctx.out / name), tokenizer=str(ctx.out / name))
            ans = qa(question=hand[0]["question"], context=hand[0]["context"])
            assert hand[0]["context"][ans["start"]:ans["end"]] == ans["answer"]


def test_turning_off_the_teacher_layer_d_retrains_nothing(stage_run, monkeypatch, tmp_path):
    trained, again, _ = _rerun(stage_run, monkeypatch, tmp_path, **{"qa.teacher_layer_d": False})
    assert trained == [] and set(again["training"]) == {"teacher", "student", "student_d"}


def test_finished_models_are_not_retrained(stage_run, monkeypatch):
    cfg, ctx, first = stage_run
    def boom(*a, **k):
        raise AssertionError("retrained a finished model")
    monkeypatch.setattr(qa_finetune, "train", boom)
    out2 = ctx.out.parent / "again"
    out2.mkdir()
    again = qa_finetune.run(cfg, StageContext(cfg, ctx.name, ctx.run_dir, out2, ctx.work, ctx.key, ctx.inputs))
    assert again == first


def _rerun(stage_run, monkeypatch, tmp_path, **over) -> tuple[list, dict, "Path"]:
    """The stage again with options changed, on a copy of the fixture's work folder: (the descs of the models it
    trained, its result, its output folder)."""
    import shutil
    cfg, ctx, _ = stage_run
    work = tmp_path / "work"
    shutil.copytree(ctx.work, work)
    trained = []
    real_train = qa_finetune.train
    monkeypatch.setattr(qa_finetune, "train", lambda m, f, c, d, desc, *a, **k: trained.append(desc) or real_train(m, f, c, d, desc, *a, **k))
    cfg2 = qa_tiny.cfg(ctx.run_dir, **over)
    out2 = tmp_path / "out"
    out2.mkdir()
    again = qa_finetune.run(cfg2, StageContext(cfg2, ctx.name, ctx.run_dir, out2, work, "another-stage-key", ctx.inputs))
    return trained, again, out2


def test_a_d_only_change_retrains_only_the_d_students(stage_run, monkeypatch, tmp_path):
    cfg, ctx, first = stage_run
    trained, again, _ = _rerun(stage_run, monkeypatch, tmp_path, **{"qa.temperature": 3.0, "qa.distil_epochs": 2.0,
                                                                   "qa.distil_lr": 3e-4})
    assert trained == ["qa student_d", "qa student_dt"]
    d = again["training"]["student_d"]  # qa.distil_epochs and qa.distil_lr: the (D) step's own
    assert d["epochs"] == 2.0 and d["steps"] == 2 * math.ceil(d["windows"] / cfg.qa.batch_size)
    assert d["lr"] == 3e-4 and first["training"]["student_d"]["lr"] == cfg.qa.lr
    assert again["training"]["teacher"] == first["training"]["teacher"]
    assert again["training"]["student"] == first["training"]["student"]


def test_frozen_word_embeddings_stay_as_they_start_and_retrain_only_that_model(stage_run, monkeypatch, tmp_path):
    from safetensors.torch import load_file
    cfg, ctx, first = stage_run
    trained, again, out2 = _rerun(stage_run, monkeypatch, tmp_path, **{"qa.freeze_embeddings": ["student_d"]})
    assert trained == ["qa student_d"]
    assert again["training"]["student_d"]["frozen_word_embeddings"] and not first["training"]["student_d"]["frozen_word_embeddings"]
    start = load_file(ctx.inputs["distill"] / "model" / "model.safetensors")  # qa_tiny: (D) from the distilled student
    end, before = load_file(out2 / "student_d" / "model.safetensors"), load_file(ctx.out / "student_d" / "model.safetensors")
    emb = next(k for k in end if k.endswith("word_embeddings.weight"))
    assert torch.equal(end[emb], start[emb]) and not torch.equal(before[emb], start[emb])
    moved = [k for k in end if k in start and "layer.0." in k and k.endswith("weight")]
    assert moved and all(not torch.equal(end[k], start[k]) for k in moved)


def test_a_finished_stage_keeps_its_models_for_the_next_run(stage_run, monkeypatch, tmp_path):
    """After the stage has committed (its work folder gone), a (D)-only change retrains only the student (D):
    the teacher and the plain student come from the stage's previous output."""
    import shutil
    cfg, ctx, first = stage_run
    run_dir = tmp_path / "run"
    shutil.copytree(ctx.out, run_dir / "qa_finetune")
    trained = []
    real_train = qa_finetune.train
    monkeypatch.setattr(qa_finetune, "train", lambda m, f, c, d, desc, *a, **k: trained.append(desc) or real_train(m, f, c, d, desc, *a, **k))
    cfg2 = qa_tiny.cfg(ctx.run_dir, **{"qa.temperature": 3.0})
    out2, work = tmp_path / "out", tmp_path / "work"
    out2.mkdir()
    again = qa_finetune.run(cfg2, StageContext(cfg2, "qa_finetune", run_dir, out2, work, "next-key", ctx.inputs))
    assert trained == ["qa student_d", "qa student_dt"]
    assert again["training"]["teacher"] == first["training"]["teacher"]
    assert again["training"]["student"] == first["training"]["student"]


def test_span_labels_point_at_the_answer_or_cls(tmp_path):
    tok = qa_tiny.tokenizer(tmp_path)
    cfg = qa_tiny.cfg(tmp_path, **{"qa.max_seq_length": 24, "qa.doc_stride": 4})
    ctx = "the town was founded in 1517 by builder and grew over the centuries near the long stone bridge"
    ex = {"id": "x", "question": "when was it founded?", "context": ctx,
          "answers": [{"text": "1517", "answer_start": ctx.index("1517")}]}
    feats = qa_eval.featurize(tok, [ex], cfg, token_type_ids=False, labels=True)
    assert len(feats) > 1
    hits = [f for f in feats if f["start"] > 0]
    assert hits and any(f["start"] == 0 for f in feats)
    for f in hits:
        a, b = f["offsets"][f["start"]][0], f["offsets"][f["end"]][1]
        assert ctx[a:b] == "1517"


def test_fine_tuning_learns_the_cloze_task(tmp_path):
    """A tiny random student, trained briefly at a high rate, answers held-out clozes it could not before."""
    from pipeline.data import squad_metrics
    from pipeline.training.hardware import pick_device
    _, student = qa_tiny.save_models(tmp_path)
    cfg = qa_tiny.cfg(tmp_path, **{"qa.lr": 3e-3, "qa.epochs": 8.0, "qa.batch_size": 16, "qa.max_seq_length": 128,
                                   "qa.doc_stride": 32, "qa.warmup_frac": 0.0})
    pick_device(cfg)  # applies run.threads
    train, dev = qa_data.generate(sorted(qa_tiny.DOCS.items()), 40, 12, seed=0)
    gold = {e["id"]: [a["text"] for a in e["answers"]] for e in dev}
    model, tok = qa_eval.load_qa_model(student)
    before = squad_metrics.evaluate(qa_eval.predict(model, tok, dev, cfg, torch.device("cpu"), "dev"), gold)
    feats = qa_eval.featurize(tok, train, cfg, token_type_ids=False, labels=True)
    info = qa_finetune.train(model, feats, cfg, torch.device("cpu"), "train")
    after = squad_metrics.evaluate(qa_eval.predict(model, tok, dev, cfg, torch.device("cpu"), "dev"), gold)
    assert info["final_loss"] < 0.7 * info["first_loss"]
    assert after["exact_match"] >= before["exact_match"] + 20


def test_training_stopped_midway_resumes_to_the_same_weights(tmp_path):
    from pipeline.training.hardware import pick_device
    _, student = qa_tiny.save_models(tmp_path)
    cfg = qa_tiny.cfg(tmp_path, **{"qa.checkpoint_every": 2, "qa.batch_size": 4})
    pick_device(cfg)
    train, _ = qa_data.generate(sorted(qa_tiny.DOCS.items()), 20, 4, seed=0)

    def fresh():
        torch.manual_seed(0)
        model, tok = qa_eval.load_qa_model(student)
        return model, qa_eval.featurize(tok, train, cfg, token_type_ids=False, labels=True)

    model, feats = fresh()
    torch.manual_seed(1)
    qa_finetune.train(model, feats, cfg, torch.device("cpu"), "whole")
    reference = {k: v.clone() for k, v in model.state_dict().items()}

    class Stopped(BaseException):
        pass

    def stop_after_3(n):
        if n == 3:  # one step past the checkpoint at step 2: that step must be redone
            raise Stopped

    ckpt = tmp_path / "student.ckpt.pt"
    model, feats = fresh()
    torch.manual_seed(1)
    with pytest.raises(Stopped):
        qa_finetune.train(model, feats, cfg, torch.device("cpu"), "killed", ckpt=ckpt, key="k", on_step=stop_after_3)
    assert ckpt.is_file()
    model, feats = fresh()
    info = qa_finetune.train(model, feats, cfg, torch.device("cpu"), "resumed", ckpt=ckpt, key="k")
    assert info["steps"] > 4
    for k, v in model.state_dict().items():
        assert torch.equal(v, reference[k]), k
    # the same checkpoint under another key (another config) is refused, not silently restarted
    from pipeline.config import UserError
    with pytest.raises(UserError, match="belongs to a different config"):
        qa_finetune.train(fresh()[0], feats, cfg, torch.device("cpu"), "other", ckpt=ckpt, key="other")


def _d_setup(tmp_path, **overrides):
    """A tiny (D) setup: the student in eval mode, its windows, what _teacher_targets gave, and a batch of 4
    windows as the teacher sees them (its own token types)."""
    teacher_dir, student_dir = qa_tiny.save_models(tmp_path)
    cfg = qa_tiny.cfg(tmp_path, **overrides)
    train, _ = qa_data.generate(sorted(qa_tiny.DOCS.items()), 6, 2, seed=0)
    model, tok = qa_eval.load_qa_model(student_dir)
    feats = qa_eval.featurize(tok, train, cfg, token_type_ids=False, labels=True)
    for i, f in enumerate(feats):
        f["id"] = i
    logits, teacher = qa_finetune._teacher_targets(model, feats, train, cfg, torch.device("cpu"), teacher_dir,
                                                   tmp_path / "no_map")
    t_model, t_tok = qa_eval.load_qa_model(teacher_dir)
    t_batch = qa_loop.collate(qa_eval.featurize(t_tok, train, cfg, token_type_ids=True, labels=False)[:4],
                              torch.device("cpu"))
    return cfg, model.eval(), feats, logits, teacher, t_model.eval(), t_batch


def test_cached_teacher_loss_is_the_d_loss_plus_the_layer_terms(tmp_path):
    """(D) with hidden and embedding terms: the teacher's logits and hidden states are computed once per window;
    the loss is alpha * KL + (1 - alpha) * span + alpha_hidden * MSE(student hidden 1, teacher hidden 1)
    + alpha_emb * MSE(embeddings), the teacher's side computed here by a fresh forward with its token types."""
    from pipeline.training import layer_losses
    cfg, model, feats, logits, teacher, t_model, t_batch = _d_setup(tmp_path, **{"qa.alpha_hidden": 2.0,
                                                                                  "qa.alpha_emb": 0.5})
    assert isinstance(teacher, qa_loop.CachedTeacher) and teacher.lmap == layer_losses.layer_map([0])
    assert teacher.layers == [0, 1] and feats[0]["teacher_hidden"].shape[:2] == (2, len(feats[0]["input_ids"]))
    assert t_batch["token_type_ids"].any()  # the BERT teacher's passage tokens are type 1
    batch = qa_loop.collate(feats[:4], torch.device("cpu"), logits)
    with torch.no_grad():
        got = qa_loop._loss(model, batch, cfg, torch.device("cpu"), logits, teacher)
        s_start, s_end, s = qa_loop.forward(model, batch, output_hidden_states=True)
        t_start, t_end, t = qa_loop.forward(t_model, t_batch, output_hidden_states=True)
    real = batch["attention_mask"].bool()
    mse = lambda a, b: ((a[real] - b[real]) ** 2).mean().item()  # noqa: E731
    d = qa_loop.qa_distillation_loss(s_start, s_end, t_start, t_end, cfg.qa.temperature).item()
    span = qa_loop.span_loss(s_start, s_end, batch).item()
    want = 0.5 * d + 0.5 * span + 2.0 * mse(s.hidden_states[1], t.hidden_states[1]) \
        + 0.5 * mse(s.hidden_states[0], t.hidden_states[0])
    assert got.item() == pytest.approx(want, rel=1e-3)  # the cache keeps hidden states in fp16


def test_cached_and_live_teachers_give_the_same_loss(tmp_path):
    """The cache is only a speed-up: the same teacher run per batch gives the same (D) loss; with the attention
    term on, _teacher_targets hands over such a live teacher and caches nothing."""
    cfg, model, feats, logits, cached, t_model, t_batch = _d_setup(tmp_path, **{"qa.alpha_hidden": 1.0})
    batch = qa_loop.collate(feats[:4], torch.device("cpu"), logits)
    live_batch = dict(qa_loop.collate(feats[:4], torch.device("cpu")), teacher_token_type_ids=t_batch["token_type_ids"])
    with torch.no_grad():
        got = qa_loop._loss(model, batch, cfg, torch.device("cpu"), logits, cached)
        want = qa_loop._loss(model, live_batch, cfg, torch.device("cpu"), None, qa_loop.LiveTeacher(t_model, cached.lmap))
    assert got.item() == pytest.approx(want.item(), rel=1e-3)
    _, _, attn_feats, none, live, _, _ = _d_setup(tmp_path / "attn", **{"qa.alpha_hidden": 1.0, "qa.alpha_attn": 1.0})
    assert none is None and isinstance(live, qa_loop.LiveTeacher) and "teacher_hidden" not in attn_feats[0]
    assert "teacher_token_type_ids" in attn_feats[0]


def test_d_step_trains_on_extra_examples_with_the_live_teacher(stage_run, tmp_path):
    """extra.json goes to the (D) step only (teacher and plain student are reused untouched), and its
    train.json records how many extra examples, the layer weights and the map."""
    import shutil
    cfg, ctx, first = stage_run
    cfg = qa_tiny.cfg(ctx.run_dir, **{"qa.alpha_hidden": 1.0, "qa.alpha_attn": 1.0})
    data, work, out = tmp_path / "qa_data", tmp_path / "work", tmp_path / "out"
    shutil.copytree(ctx.inputs["qa_data"], data)
    for name in ("teacher", "student"):
        shutil.copytree(ctx.work / name, work / name)
    out.mkdir()
    squad = json.loads((data / "train.json").read_text())
    squad["data"] = squad["data"][:1]
    for para in squad["data"][0]["paragraphs"]:
        for qa in para["qas"]:
            qa["id"] += "-extra"
    (data / "extra.json").write_text(json.dumps(squad))
    n_extra = len(qa_data.load_squad_file(data / "extra.json"))
    res = qa_finetune.run(cfg, StageContext(cfg, ctx.name, ctx.run_dir, out, work, ctx.key, {**ctx.inputs, "qa_data": data}))
    for name in ("teacher", "student"):
        assert res["training"][name] == first["training"][name]
    d = res["training"]["student_d"]
    assert d["extra_examples"] == n_extra > 0 and d["windows"] > first["training"]["student_d"]["windows"]
    assert d["layer_losses"] == {"hidden": 1.0, "attn": 1.0} and d["layer_map"]["teacher_layers"] == [0]
    assert first["training"]["student_d"]["extra_examples"] == 0
    assert json.loads((out / "student_d" / "train.json").read_text())["extra_examples"] == n_extra


def test_length_grouped_epochs_hold_every_window_once_with_less_padding():
    import random
    rng = random.Random(0)
    feats = [{"input_ids": [0] * rng.randint(20, 384)} for _ in range(300)]
    width = lambda order: sum(max(len(feats[j]["input_ids"]) for j in order[i:i + 16])  # noqa: E731
                              for i in range(0, len(order), 16))
    grouped = qa_loop.epoch_order(feats, 16, 1, by_length=True)
    plain = qa_loop.epoch_order(feats, 16, 1, by_length=False)
    assert sorted(grouped) == sorted(plain) == list(range(300))
    assert grouped == qa_loop.epoch_order(feats, 16, 1, by_length=True)
    assert width(grouped) < 0.75 * width(plain)


def test_qa_student_with_every_teacher_layer_answers_as_the_qa_teacher(stage_run):
    from pipeline.training.student_init import build_qa_student
    _, ctx, _ = stage_run
    teacher, _ = qa_eval.load_qa_model(ctx.work / "teacher")
    student, layers = build_qa_student(teacher, [0, 1])
    ids = torch.randint(5, teacher.config.vocab_size, (2, 12))
    mask = torch.ones_like(ids)
    t, s = teacher.eval()(input_ids=ids, attention_mask=mask), student.eval()(input_ids=ids, attention_mask=mask)
    assert layers == [0, 1]
    assert torch.allclose(s.start_logits, t.start_logits, atol=1e-5)  # single segment: token type 0 is folded in
    assert torch.allclose(s.end_logits, t.end_logits, atol=1e-5)


def test_distil_init_qa_teacher_starts_d_from_the_qa_teachers_layers_and_head(stage_run, monkeypatch, tmp_path):
    import shutil
    cfg, ctx, first = stage_run
    work = tmp_path / "work"
    shutil.copytree(ctx.work, work)
    starts = {}
    real_train = qa_finetune.train

    def spy(m, f, c, d, desc, *a, **k):
        starts[desc] = {n: p.detach().clone() for n, p in m.named_parameters()}
        return real_train(m, f, c, d, desc, *a, **k)
    monkeypatch.setattr(qa_finetune, "train", spy)
    cfg2 = qa_tiny.cfg(ctx.run_dir, **{"qa.distil_init": "qa_teacher", "qa.distil_init_layers": [1],
                                           "qa.alpha_hidden": 1.0, "qa.teacher_layer_d": False})
    out2 = tmp_path / "out"
    out2.mkdir()
    again = qa_finetune.run(cfg2, StageContext(cfg2, ctx.name, ctx.run_dir, out2, work, "another-key", ctx.inputs))
    assert list(starts) == ["qa student_d"]
    teacher = dict(qa_eval.load_qa_model(work / "teacher")[0].named_parameters())
    start = starts["qa student_d"]
    assert torch.equal(start["qa_outputs.weight"], teacher["qa_outputs.weight"])
    assert torch.equal(start["distilbert.transformer.layer.0.attention.q_lin.weight"],
                       teacher["bert.encoder.layer.1.attention.self.query.weight"])
    d = again["training"]["student_d"]
    assert d["init"] == "qa_teacher" and d["layer_map"]["teacher_layers"] == [1]
    assert first["training"]["student_d"]["init"] == "student"
    assert again["training"]["student"] == first["training"]["student"]


def test_a_d_from_the_qa_teacher_does_not_depend_on_the_distilled_student(stage_run, tmp_path):
    import shutil
    _, ctx, _ = stage_run
    other = tmp_path / "distill"
    shutil.copytree(ctx.inputs["distill"], other)
    (other / "note.txt").write_text("another distilled student")
    for init, d_changes in (("student", True), ("qa_teacher", False)):
        cfg = qa_tiny.cfg(ctx.run_dir, **{"qa.distil_init": init})
        keys = [qa_finetune.model_keys(cfg, StageContext(cfg, ctx.name, ctx.run_dir, ctx.out, ctx.work, "k",
                                                         {**ctx.inputs, "distill": d}))
                for d in (ctx.inputs["distill"], other)]
        assert keys[0]["teacher"] == keys[1]["teacher"] and keys[0]["student"] != keys[1]["student"]
        assert (keys[0]["student_d"] != keys[1]["student_d"]) == d_changes


def test_the_qa_teacher_start_is_built_once_per_teacher_and_layer_choice(stage_run, tmp_path):
    import shutil
    cfg, ctx, _ = stage_run
    work = tmp_path / "work"
    shutil.copytree(ctx.work, work)
    one = qa_tiny.cfg(ctx.run_dir, **{"qa.distil_init": "qa_teacher", "qa.distil_init_layers": [1]})
    start = qa_finetune._distil_start(one, "qa_teacher", Path("unused"), work, "teacher-key")
    stamp = (start / "config.json").stat().st_mtime_ns
    assert qa_finetune._distil_start(one, "qa_teacher", Path("unused"), work, "teacher-key") == start
    assert (start / "config.json").stat().st_mtime_ns == stamp  # reused, not rebuilt
    other = qa_tiny.cfg(ctx.run_dir, **{"qa.distil_init": "qa_teacher", "qa.distil_init_layers": [0]})
    qa_finetune._distil_start(other, "qa_teacher", Path("unused"), work, "teacher-key")
    assert json.loads((start / "init.json").read_text())["copied_layers"] == [0]
    qa_finetune._distil_start(other, "qa_teacher", Path("unused"), work, "retrained-teacher")
    assert json.loads((start / "init.json").read_text())["teacher_key"] == "retrained-teacher"
