"""The report's derived figures are computed once (reporting/rows.py) and read by tables and plots."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import report_fixtures as rf
from pipeline import report

REPO = Path(__file__).resolve().parent.parent


def test_markdown_is_written_without_importing_matplotlib(tmp_path):
    rf.write_all(tmp_path)
    code = ("import sys\nfrom pathlib import Path\nfrom pipeline import report\n"
            f"files, data = report.collect(Path({str(tmp_path)!r}))\n"
            "md = report.render(files, data, [])\n"
            "assert 'Accuracy kept' in md\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == "[]"


def test_derived_figures_are_on_the_rows_and_in_the_tables(tmp_path):
    rf.write_all(tmp_path)
    files, data = report.collect(tmp_path)
    student = next(r for r in data["qa"] if r["model"] == "student")
    assert student["kept"]["exact_match"] == pytest.approx(100 * 52 / 60)
    assert student["kept"]["f1"] == pytest.approx(100 * 63 / 70)
    deltas = {r["variant"]: r["delta"] for r in data["ablation"]}
    assert deltas["full"] is None and deltas["ce_only"] == pytest.approx(100 * (0.30 - 0.33))
    cls = next(r for r in data["cls"] if r["model"] == "student")
    assert cls["kept"]["score"] == pytest.approx(100 * 88 / 90)
    md = report.render(files, data, [])
    assert f"{deltas['ce_only']:+.2f}" in md and f"{student['kept']['exact_match']:.1f}%" in md


def test_single_seed_ablation_file_has_no_noise_verdict(tmp_path):
    """A file without a summary (one seed, as older runs wrote it) still gives changes, with no noise claim."""
    old = {k: v for k, v in rf.example("ablation").items() if k not in ("summary", "seeds", "qa")}
    old["variants"] = [{"variant": v, "masked_acc": a, "mlm_loss": 1.0, "steps": 3} for v, a, _ in rf.ABLATION_MEANS]
    rf.write(tmp_path, "mlm/ablation.json", old)
    files, data = report.collect(tmp_path)
    ce = next(r for r in data["ablation"] if r["variant"] == "ce_only")
    assert ce["delta"] == pytest.approx(-3.0) and ce["noise"] is None and ce["beyond"] is None
    assert "| ce_only | L_ce only | 30.00 | -3.00 | n/a (1 seed) |" in report.render(files, data, [])


def test_pooled_noise_and_beyond_flags(tmp_path):
    from pipeline.reporting.rows import pooled_noise
    assert pooled_noise(0.3, 0.4) == pytest.approx(2 * ((0.09 + 0.16) / 2) ** 0.5)
    assert pooled_noise(None, 0.4) is None
    rf.write_all(tmp_path)
    _, data = report.collect(tmp_path)
    by = {r["variant"]: r for r in data["ablation"]}
    assert by["ce_only"]["noise"] == pytest.approx(2 * 1.414, abs=1e-3) and by["ce_only"]["beyond"] is True
    assert by["no_mlm"]["beyond"] is False and by["cos_only"]["qa_beyond"] is True
    assert by["ce_only"]["qa_delta"] == pytest.approx(-1.0) and by["ce_only"]["qa_beyond"] is False
