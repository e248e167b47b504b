"""The QA teacher trains until its dev F1 settles (qa.teacher_epochs, qa.converge_f1): curve, stop, resume."""
import json
import math
from pathlib import Path

import pytest
import torch

import qa_tiny
from pipeline.core import results_schema
from pipeline.data import qa_data
from pipeline.training import qa_finetune


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("curve")
    teacher, _ = qa_tiny.save_models(tmp / "up")
    train, dev = qa_data.generate(sorted(qa_tiny.DOCS.items()), 24, 6, seed=0)
    return tmp, teacher, train, dev


def _teach(tiny, sub, **over):
    tmp, teacher, train, dev = tiny
    cfg = qa_tiny.cfg(tmp / sub, **{"qa.batch_size": 8, "qa.teacher_epochs": 3, **over})
    work = tmp / sub / "work"
    work.mkdir(parents=True, exist_ok=True)
    return cfg, work, lambda **kw: qa_finetune._finetune_one(
        "teacher", teacher, train, cfg, torch.device("cpu"), work, "k",
        curve_sets={"generated_dev": dev, "natural_dev": dev[:3]}, **kw)


def test_teacher_stops_once_one_more_epoch_moves_f1_by_less_than_converge_f1(tiny):
    _, _, run = _teach(tiny, "huge", **{"qa.converge_f1": 1000.0})
    info = run()
    assert [e["epoch"] for e in info["curve"]] == [1, 2] and info["converged"] is True
    per_epoch = info["curve"][0]["steps"]
    assert info["steps"] == 2 * per_epoch and info["curve"][1]["steps"] == 2 * per_epoch
    assert set(info["curve"][0]["scores"]) == {"generated_dev", "natural_dev"}
    assert info["curve"][0]["scores"]["natural_dev"]["n"] == 3


def test_teacher_runs_to_the_epoch_cap_when_f1_never_settles(tiny):
    cfg, work, run = _teach(tiny, "zero", **{"qa.converge_f1": 0.0})
    info = run()
    assert [e["epoch"] for e in info["curve"]] == [1, 2, 3] and info["converged"] is False
    assert info["steps"] == 3 * math.ceil(info["windows"] / cfg.qa.batch_size)
    saved = json.loads((work / "teacher" / "train.json").read_text())
    assert saved["curve"] == info["curve"] and saved["max_epochs"] == 3


def test_curve_survives_a_crash_and_resumes_without_re_evaluating(tiny, monkeypatch):
    _, _, whole = _teach(tiny, "whole", **{"qa.converge_f1": 0.0, "qa.checkpoint_every": 0})
    reference = whole()

    class Stopped(BaseException):
        pass

    per_epoch = reference["curve"][0]["steps"]
    cfg, work, run = _teach(tiny, "crash", **{"qa.converge_f1": 0.0, "qa.checkpoint_every": 0})

    def stop(n):
        if n == per_epoch + 1:  # one step into epoch 2: the checkpoint at the end of epoch 1 holds its score
            raise Stopped

    real_train = qa_finetune.train
    monkeypatch.setattr(qa_finetune, "train", lambda *a, **k: real_train(*a, **k, on_step=stop))
    with pytest.raises(Stopped):
        run()
    assert (work / "teacher.ckpt.pt").is_file()
    monkeypatch.setattr(qa_finetune, "train", real_train)
    calls = []
    real_call = qa_finetune.EpochCurve.__call__
    monkeypatch.setattr(qa_finetune.EpochCurve, "__call__", lambda self, step: calls.append(step) or real_call(self, step))
    info = run()
    assert calls == [2 * per_epoch, 3 * per_epoch]  # epoch 1 came back from the checkpoint, not re-evaluated
    strip = lambda c: [{k: v for k, v in e.items() if k != "seconds"} for e in c]  # noqa: E731
    assert strip(info["curve"]) == strip(reference["curve"])


def test_curve_results_file_is_valid_and_says_whether_it_converged(tiny, tmp_path):
    from pipeline.core import results as results_io
    _, _, run = _teach(tiny, "file", **{"qa.converge_f1": 1000.0})
    info = run()
    path = tmp_path / "qa" / "teacher_curve.json"
    qa_finetune.write_curve(path, results_io.scale("demo", "t", "c", "cpu"), info)
    obj, problems = results_schema.validate_file(path)
    assert problems == [] and obj["kind"] == "qa_curve" and obj["converged"] is True
    bad = dict(obj, epochs=[{"epoch": 1, "steps": 3, "seconds": 1.0, "scores": {"dev": {"f1": 101, "exact_match": 0, "n": 1}}}])
    assert results_schema.validate(bad)


def test_a_student_curve_scores_every_epoch_and_never_stops_early(tiny):
    """qa.student_curve: the same per-epoch scores for a student, which trains its qa.epochs even when its F1
    settles at once (converge_f1 huge would stop a teacher after 2 epochs)."""
    _, _, run = _teach(tiny, "student", **{"qa.converge_f1": 1000.0, "qa.epochs": 3.0})
    info = run(stops=False)
    assert [e["epoch"] for e in info["curve"]] == [1, 2, 3] and "converged" not in info
    assert info["steps"] == 3 * info["curve"][0]["steps"] and info["autocast"] == "fp32"


def test_student_curve_changes_no_model_key():
    from types import SimpleNamespace
    from pipeline import config as config_mod
    keys = []
    for on in (False, True):
        cfg = config_mod.load("demo", {"qa.student_curve": on})
        ctx = SimpleNamespace(inputs={"qa_data": Path("/nonexistent"), "teacher": Path("/nonexistent"),
                                      "distill": Path("/nonexistent")})
        keys.append(qa_finetune.model_keys(cfg, ctx))
    assert keys[0] == keys[1]
