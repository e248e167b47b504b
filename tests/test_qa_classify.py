"""Sequence-classification path (GLUE/IMDb for users with a network) on a local TSV fixture."""

import numpy as np
import pytest

import qa_tiny
from pipeline.training import classify
from pipeline.core import results_schema

GOOD = ["the harbour is long and the markets are known", "visitors come in summer to walk along the coast"]
BAD = ["the bridge fell and the town became old", "nothing grew and the boats did not return"]


def _tsv(path, n):
    rows = [(s, "pos") for s in GOOD] + [(s, "neg") for s in BAD]
    path.write_text("sentence\tlabel\n" + "".join(f"{s}\t{y}\n" for s, y in (rows * n)))
    return path


def test_metrics_by_hand():
    p, y = np.array([1, 1, 0, 0]), np.array([1, 0, 0, 0])
    assert classify.score("accuracy", p, y) == 75.0
    assert classify.score("f1", p, y) == pytest.approx(100 * 2 / 3)  # tp 1, fp 1, fn 0
    assert classify.score("matthews", p, y) == pytest.approx(100 * (1 * 2 - 1 * 0) / np.sqrt(2 * 1 * 3 * 2))
    assert classify.score("pearson", np.array([1.0, 2, 3]), np.array([2.0, 4, 6])) == pytest.approx(100)
    assert classify.score("spearman", np.array([1.0, 5, 9]), np.array([1.0, 2, 30])) == pytest.approx(100)


def test_local_tsv_fine_tune_writes_classification_results(tmp_path, capsys):
    teacher, student = qa_tiny.save_models(tmp_path / "m")
    rc = classify.main(["--task", "toy", "--train", str(_tsv(tmp_path / "train.tsv", 4)),
                        "--dev", str(_tsv(tmp_path / "dev.tsv", 1)), "--text-cols", "sentence",
                        "--model", f"teacher={teacher}", "--model", f"student={student}", "--classify.epochs", "1",
                        "--classify.batch_size", "8", "--run.results_dir", str(tmp_path / "res"), "--run.device", "cpu", "--run.threads", "1"])
    assert rc == 0
    obj, problems = results_schema.validate_file(tmp_path / "res" / "glue" / "toy.json")
    assert problems == []
    assert obj["metric"] == "accuracy" and [m["model"] for m in obj["models"]] == ["teacher", "student"]
    assert all(m["n"] == 4 and 0 <= m["score"] <= 100 for m in obj["models"])
    assert "toy teacher" in capsys.readouterr().out


@pytest.mark.parametrize("extra, match", [
    (["--text-cols", "text"], "no column"),
    (["--text-cols", "sentence", "--model", "teacher"], "NAME=FOLDER"),
])
def test_bad_input_is_one_error_line(tmp_path, capsys, extra, match):
    f = str(_tsv(tmp_path / "t.tsv", 1))
    rc = classify.main(["--task", "toy", "--train", f, "--dev", f, "--run.results_dir", str(tmp_path), *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err[-1].startswith("error:") and match in err[-1]
