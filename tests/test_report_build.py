"""The report over small results folders the tests write: full, partial, empty and broken."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report_fixtures as rf  # noqa: E402

from pipeline import config, report  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
ALL_PLOTS = {"sizes", "latency", "latency_vs_seq_len", "qa_accuracy", "qa_curve", "classification", "ablation", "mlm"}


def _cli(*args):
    return subprocess.run([sys.executable, str(REPO / "pipeline" / "report.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    """Every kind, a device benchmark, plus a malformed, a foreign and a schema-failing file."""
    root = tmp_path_factory.mktemp("results")
    rf.write_all(root)
    rf.write(root, "broken/truncated.json", '{"kind": "qa_metrics", "models": [')
    rf.write(root, "package.json", {"name": "not-ours", "version": "1.0"})
    bad = rf.example("qa_metrics")
    bad["models"][0]["f1"] = 170.0
    rf.write(root, "qa/out_of_range.json", bad)
    out = tmp_path_factory.mktemp("out")
    res = _cli("--results", root, "--out", out)
    return SimpleNamespace(root=root, out=out, res=res, md=(out / "REPORT.md").read_text())


def test_full_report_exit_code_and_summary(full):
    assert full.res.returncode == 0, full.res.stderr
    assert "12 results file(s): 9 valid, 3 skipped; 8 plot(s); 0 result type(s) missing" in full.res.stdout


def test_bad_and_foreign_files_are_named_and_do_not_stop_the_report(full):
    for name, why in [("broken/truncated.json", "not valid JSON"), ("package.json", "no 'kind' field"),
                      ("qa/out_of_range.json", "models[0].f1: 170.0 is greater than the maximum of 100")]:
        assert f"skipped {name}:" in full.res.stderr
        assert f"| {name} |" in full.md and why in full.md
    # the broken QA file did not leak into the QA table; the good one did
    assert "qa/out_of_range.json |" not in full.md.split("## Accuracy kept")[1]
    assert "| generated | student | 52.0 | 63.0 | 86.7% / 90.0% |" in full.md


def test_every_plot_is_written_as_png_and_svg_and_linked(full):
    names = {p.name for p in (full.out / "plots").iterdir()}
    assert names == {f"{n}.{ext}" for n in ALL_PLOTS for ext in ("png", "svg")}
    for n in ALL_PLOTS:
        assert f"](plots/{n}.png)" in full.md
        assert (full.out / "plots" / f"{n}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in (full.out / "plots" / f"{n}.svg").read_text()


def test_figures_from_the_fixture_data(full):
    md = full.md
    # speedup = teacher median / student median on the same device, runtime, precision, length
    assert "| student | eager 1.0 | fp32 | 128 | 11.00 |" in md and "1.82x" in md and "1.90x" in md
    assert "### device: Pixel 8 (Tensor G3, Android 15, 4 thr)" in md
    assert "| student | tflite | int8 | 384 | 15.60 | 69 |" in md           # % of the teacher's file
    assert "| this run | 22.70 | 15.60 | 69% |" in md
    # ablation vs full, in points, mean +- std over 2 seeds; beyond noise when |change| > 2 x pooled std (2.83)
    assert "| ce_only | L_ce only | 30.00 ± 1.41 | -3.00 | **yes** | 20.0 ± 1.4 | -1.0 | no |  |  |  | 2 |" in md
    assert "| no_mlm | no L_mlm | 32.00 ± 1.41 | -1.00 | no |" in md
    assert "| SST-2 | accuracy | student | 88.00 | 97.8% | SST-2: 91.3 (98.5%) |" in md  # the paper's SST-2 row
    assert "| distill | student | after distillation | 33.00 | 3.900 | 900 | 15.60 |" in md
    assert "| distill | unigram (baseline) | word frequencies | 5.00 |" in md
    assert "| this run: host: test host (x86_64, Linux, 1 thr) | seq len 128, student, 2 runtime/precision setting(s) | 1.82x |" in md
    assert "| paper (iPhone 7 Plus, Core ML) | 207 MB |" in md and "| this run (tflite int8, seq len 384) | 15.6 MB |" in md


def test_retention_per_data_set_and_teacher_curve(full):
    md = full.md
    assert "| paper, SQuAD v1.1 dev | 88.5 | 85.8 (96.9%) | 86.9 (98.2%) | n/a |" in md
    assert "| this run, generated | 70.0 | 63.0 (90.0%) | 65.5 (93.6%) | n/a |" in md
    assert ("qa/teacher_curve.json: **converged**: the last epoch changed generated_dev F1 by +0.50 points "
            "(less than 1) after 3 of at most 4 epochs") in md
    assert "| qa/teacher_curve.json | 2 | 20 | 60 | 60.0 / 70.0 | 30.0 / 35.0 |" in md
    assert "distill: student 33.0% vs teacher 41.0% held-out masked-token accuracy (the student keeps 80% of it)." in md


def test_teacher_curve_that_hit_the_epoch_cap_says_so(tmp_path):
    curve = rf.example("qa_curve")
    curve.update(converged=False, max_epochs=3)
    rf.write(tmp_path, "qa/teacher_curve.json", curve)
    report.build(tmp_path, tmp_path / "out")
    md = (tmp_path / "out" / "REPORT.md").read_text()
    assert "**epoch cap reached** (3 epochs) before convergence: the last epoch changed generated_dev F1 by +0.50" in md
    assert (tmp_path / "out" / "plots" / "qa_curve.png").is_file()


def test_paper_side_by_side_and_scale_warning(full):
    md = full.md
    for paper in ["| paper, SQuAD v1.1 dev | teacher | 81.2 | 88.5 |", "| paper, SQuAD v1.1 dev | student (D) | 79.1 | 86.9 |",
                  "| paper (BERT-base / DistilBERT) | 110 | 66 | 60% |", "668 s vs 410 s | 1.63x", "| -2.96 |", "| -3.69 |"]:
        assert paper in md
    assert "**Not the paper's scale.**" in md and "demo (teacher embedded, corpus embedded docs" in md
    assert "| host/bench.json | benchmark | demo | embedded | embedded docs (2k sequences) | test cpu |" in md
    assert "Every study has results." in md and "Incomplete studies" not in md


def test_same_inputs_give_identical_bytes(full, tmp_path):
    again = tmp_path / "again"
    assert report.build(full.root, again)["files"] == 12
    assert _snapshot(again) == _snapshot(full.out)


def test_results_folder_is_only_read(full):
    assert not (full.root / "REPORT.md").exists() and not (full.root / "plots").exists()


def test_empty_results_folder_says_everything_is_missing(tmp_path):
    res = _cli("--results", tmp_path)
    assert res.returncode == 0, res.stderr
    md = (tmp_path / "REPORT.md").read_text()
    assert "0 JSON file(s)" in md and "No valid results file" in md
    assert md.count("\n- no ") == 9
    assert list((tmp_path / "plots").iterdir()) == []
    assert "| paper, SQuAD v1.1 dev | teacher | 81.2 | 88.5 |" in md   # the paper's numbers still shown


def test_host_only_subset_and_stale_plots_are_removed(tmp_path):
    rf.write_all(tmp_path)
    report.build(tmp_path, tmp_path)
    assert (tmp_path / "plots" / "qa_accuracy.png").exists()
    for p in list(tmp_path.rglob("*.json")):
        if not p.match("host/*.json"):
            p.unlink()
    metrics = report.build(tmp_path, tmp_path)
    assert metrics["valid"] == 1 and metrics["missing"] == 8
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "latency.png", "latency.svg", "latency_vs_seq_len.png", "latency_vs_seq_len.svg"]
    md = (tmp_path / "REPORT.md").read_text()
    assert "- no on-device latency:" in md and "- no QA exact match / F1:" in md
    assert "plots/qa_accuracy.png" not in md and "plots/latency.png" in md


def test_student_without_teacher_and_ablation_without_full(tmp_path):
    bench = rf.benchmark("host", seq_lens=(128,))
    bench["entries"] = [e for e in bench["entries"] if e["model"] != "teacher"]
    rf.write(tmp_path, "host/students.json", bench)
    abl = rf.example("ablation")
    abl["variants"] = [v for v in abl["variants"] if v["variant"] != "full"]
    abl["summary"] = [v for v in abl["summary"] if v["variant"] != "full"]
    rf.write(tmp_path, "mlm/ablation.json", abl)
    metrics = report.build(tmp_path, tmp_path / "out")
    assert metrics["valid"] == 2 and metrics["plots"] == 2
    md = (tmp_path / "out" / "REPORT.md").read_text()
    assert "no teacher/student pair timed" in md
    assert "- latency host: test host (x86_64, Linux, 1 thr): no teacher timed, so no speedup" in md
    assert "- ablation: no full (changes need 'full')" in md
    assert "| ce_only | L_ce only | 30.00 ± 1.41 |  |  |" in md   # no change without a 'full' run


def test_two_files_from_one_device_stay_apart(tmp_path):
    rf.write(tmp_path, "host/a.json", rf.benchmark("host", seq_lens=(128,)))
    rf.write(tmp_path, "host/b.json", rf.benchmark("host", seq_lens=(128,)))
    report.build(tmp_path, tmp_path)
    md = (tmp_path / "REPORT.md").read_text()
    assert "### host: test host (x86_64, Linux, 1 thr)\n" in md
    assert "### host: test host (x86_64, Linux, 1 thr) [host/b.json]" in md


def test_paper_scale_files_get_no_warning(tmp_path):
    qa = rf.example("qa_metrics")
    qa["scale"].update(preset="paper", teacher="bert-base-uncased")
    rf.write(tmp_path, "qa/squad.json", qa)
    report.build(tmp_path, tmp_path)
    md = (tmp_path / "REPORT.md").read_text()
    assert "Not the paper's scale" not in md and "| qa/squad.json | qa_metrics | paper | bert-base-uncased |" in md


def test_missing_results_folder_is_one_error_line(tmp_path):
    res = _cli("--results", tmp_path / "nope", "--out", tmp_path / "out")
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [f"error: results folder not found: {tmp_path / 'nope'}"]
    assert not (tmp_path / "out").exists()


def test_stage_writes_into_results_dir_and_the_stage_folder(tmp_path):
    rf.write(tmp_path / "results", "qa/generated.json", rf.example("qa_metrics"))
    cfg = config.load("demo", {"run.results_dir": str(tmp_path / "results")})
    (tmp_path / "stage").mkdir()
    metrics = report.run_stage(cfg, SimpleNamespace(out=tmp_path / "stage"))
    assert metrics["files"] == 1 and metrics["valid"] == 1 and metrics["plots"] == 1
    assert (tmp_path / "stage" / "REPORT.md").read_bytes() == (tmp_path / "results" / "REPORT.md").read_bytes()


def test_build_all_runs_the_report_stage(tmp_path):
    rf.write(tmp_path / "results", "artifacts.json", rf.example("artifacts"))
    res = subprocess.run([sys.executable, str(REPO / "pipeline" / "build_all.py"), "--stages", "report",
                          "--run.results_dir", str(tmp_path / "results"), "--run.run_dir", str(tmp_path / "run")],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "results" / "plots" / "sizes.png").exists()
    assert (tmp_path / "run" / "report" / "REPORT.md").exists()


def test_the_first_screen_answers_the_three_claims(full):
    """The first 40 lines: the paper's claims (smaller, faster, kept) beside this run's figures, and what is missing."""
    first = "\n".join(full.md.splitlines()[:40])
    assert "## The paper's claims and this run's answers" in first
    for claim in ("| Smaller |", "| Faster |", "| Kept (QA) |", "| Kept (GLUE) |", "Missing: "):
        assert claim in first
    assert "student / teacher speed-up" in first and "SST-2: student 97.8% of the teacher's accuracy" in first
    assert "QA F1 on generated (teacher 70.0): student 90.0%, student (D) 93.6%" in first
