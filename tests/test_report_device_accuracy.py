"""The report puts the phone's F1 beside the host's for the same file and flags a gap over 0.5 F1."""
import json
from pathlib import Path

from pipeline import report
from pipeline.core import results_schema
from pipeline.reporting import rows
from tests import report_fixtures

REPO = Path(__file__).resolve().parent.parent
DEVICE = json.loads((REPO / "mobile/fixtures/accuracy_results.json").read_text())  # the app's file, Python's figures


def check(seq_len, precision="fp32", fmt="tflite", ran=True, passed=True, **extra) -> dict:
    return {"model": "student", "format": fmt, "backend": fmt, "precision": precision, "seq_len": seq_len, "ran": ran,
            "max_abs_diff": 0.0 if ran else None, "answer_agreement": 1.0 if ran else None, "em_delta": 0.0 if ran else None,
            "f1_delta": 0.0 if ran else None, "passed": passed, "note": None if ran else "Core ML predicts on macOS only",
            **extra}


def reference(seq_len, f1) -> dict:
    return dict(check(seq_len, fmt="pytorch"), backend=None, question_set="handwritten", f1=f1, n=50,
                note="reference (transformers eager), handwritten")


# 128: the file's own figure on the set, 0.17 below the phone's; 384: no own figure, fp32 passed, so PyTorch's, 0.76 above.
PARITY = dict(report_fixtures.example("parity"), checks=[
    check(128, handwritten={"question_set": "handwritten", "f1": 68.0, "n": 50}), check(384),
    reference(128, 10.0), reference(384, 69.0)])


def test_the_golden_device_file_is_a_valid_benchmark_with_accuracy():
    assert results_schema.validate(DEVICE) == []
    assert DEVICE["source"] == "device" and DEVICE["accuracy"]["entries"]


def test_device_f1_beside_host_f1_and_the_gap_flagged(tmp_path):
    report_fixtures.write(tmp_path, "parity.json", PARITY)
    report_fixtures.write(tmp_path, "device/android-Pixel-8-r1.json", DEVICE)
    files, data = report.collect(tmp_path)
    assert all(f["status"] == "ok" for f in files), files
    by_len = {r["seq_len"]: r for r in data["device_accuracy"]}
    assert by_len[128]["host_from"] == "file" and abs(by_len[128]["f1_gap"] - 0.17391) < 1e-4
    assert not by_len[128]["flagged"]
    assert by_len[384]["host_from"] == "PyTorch fp32" and by_len[384]["host_f1"] == 69.0 and by_len[384]["flagged"]
    md = report.render(files, data, [])
    section = md[md.index("## Accuracy on the phone beside the host's"):]
    assert "| Pixel 8 | litert 2.3.0 | student | tflite (tflite) | fp32 | 128 | 50 handwritten | 68.00 | 68.17 | 68.00 | " \
           "same within tolerance |" in section
    assert "| 384 | 50 handwritten | 68.00 | 68.24 | 69.00 | **differs by -0.76 F1** (host: PyTorch fp32) |" in section
    assert "| Pixel 8 | litert 2.3.0 | student | tflite (tflite) | fp32 | 128: 27, 384: 23 | 76.00 | 76.00 |" in section


def test_no_host_figure_says_why():
    row = {"model": "student", "format": "coreml (coreml)", "precision": "fp16", "seq_len": 128,
           "question_set": "natural_dev"}
    parity = [dict(check(128, "fp16", "coreml", ran=False), format="coreml (coreml)")]
    assert rows.host_f1(row, parity) == (None, "parity could not run it (Core ML predicts on macOS only)")
    assert rows.host_f1(row, []) == (None, "no parity check of this file")
    parity = [dict(check(128, "fp16", "coreml"), format="coreml (coreml)"), dict(reference(128, 60.0), question_set="natural_dev")]
    assert rows.host_f1(row, parity) == (None, "parity scored this file on the dev set, not on natural_dev")


def test_without_device_accuracy_the_section_says_how_to_get_it(tmp_path):
    report_fixtures.write_all(tmp_path)
    files, data = report.collect(tmp_path)
    assert data["device_accuracy"] == []
    assert "No device results with accuracy yet" in report.render(files, data, [])
