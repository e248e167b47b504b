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
