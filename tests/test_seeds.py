"""pipeline/seeds.py: one run folder and results folder per seed, planned before anything runs, resumable,
the seed-free corpus shared between seeds; bad input is one error line and exit 2 with nothing written."""
from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import seeds
from pipeline.build_all import BY_NAME
from pipeline.config import UndeclaredConfigRead, build_parser, load
from pipeline.core.runs import Run
from pipeline.core.view import StageView

REPO = Path(__file__).resolve().parent.parent


def _inproc(*args) -> subprocess.CompletedProcess:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = seeds.main([str(a) for a in args])
        except SystemExit as e:  # argparse's own errors
            rc = e.code
    return subprocess.CompletedProcess(args, rc, out.getvalue(), err.getvalue())


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "pipeline" / "seeds.py"), *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("args, says", [
    (["--seeds", "0,a"], "--seeds: '0,a' is not a comma-separated list of integers >= 0"),
    (["--seeds", "-1"], "--seeds: '-1' is not a comma-separated list"),
    (["--seeds", ""], "--seeds: '' is not a comma-separated list"),
    (["--seeds", "1,2,1"], "--seeds: '1,2,1' names a seed twice"),
    (["--seeds", "0,1", "--run.seed", "3"], "--run.seed is set per seed by --seeds"),
    (["--seeds", "0", "--stages", "corpus,apps"], "--stages: apps does not run per seed"),
    (["--seeds", "0", "--stages", "report"], "--stages: report does not run per seed"),
    (["--seeds", "0", "--stages", "corpse"], "unknown stage(s) corpse"),
    (["--seeds", "0", "--stages", "teacher"], "stage 'teacher' needs 'corpus', which has not run"),
    (["--seeds", "0", "--qa.lr", "-1"], "qa.lr"),
    ([], "the following arguments are required: --seeds"),
])
def test_bad_input_is_one_error_line_and_nothing_is_written(tmp_path, args, says):
    res = _inproc(*args, "--run.run_dir", tmp_path / "run", "--run.results_dir", tmp_path / "results")
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], res.stderr
    assert list(tmp_path.iterdir()) == []


def test_help_names_the_seeds_and_the_per_seed_stages():
    res = _inproc("--help")
    assert res.returncode == 0 and "--seeds LIST" in res.stdout and "--plan" in res.stdout
    assert seeds.SEED_STAGES == [s for s in BY_NAME if s not in ("apps", "report")]


def test_plan_of_fresh_seeds_runs_the_corpus_once_and_writes_nothing(tmp_path):
    res = _inproc("--seeds", "4,2", "--plan", "--run.run_dir", tmp_path / "run",
                  "--run.results_dir", tmp_path / "results")
    assert res.returncode == 0, res.stderr
    first, second = res.stdout.strip().splitlines()
    assert first.startswith(f"seed 4 ({tmp_path / 'run'}-seed4): to run: corpus, teacher, student_init, distill")
    assert second.startswith(f"seed 2 ({tmp_path / 'run'}-seed2): shared: corpus from {tmp_path / 'run'}-seed4 "
                             "once it has run; to run: teacher,")
    assert list(tmp_path.iterdir()) == []


def test_each_seed_gets_its_own_folders_and_config():
    ns = build_parser("seeds.py", "", seeds._extra).parse_args(["--seeds", "0,3", "--qa.lr", "2e-4"])
    base, cfgs = seeds.seed_configs(ns)
    assert list(cfgs) == [0, 3] and base.run_dir == Path("runs/demo")
    c = cfgs[3]
    assert (c.run.seed, c.run_dir, c.run.results_dir, c.qa.lr) == (3, Path("runs/demo-seed3"), "results/seeds/seed3", 2e-4)


def test_the_corpus_reads_no_seed_and_has_one_key_for_every_seed(tmp_path):
    corpus = BY_NAME["corpus"]
    keys = {Run(load("demo", {"run.seed": n, "run.run_dir": str(tmp_path / f"r{n}")})).fingerprint(corpus)
            for n in (0, 1, 7)}
    assert len(keys) == 1
    view = StageView(load("demo"), "corpus", corpus.sections, seeded=corpus.seeded)
    with pytest.raises(UndeclaredConfigRead, match="run.seed"):
        view.run.seed
    assert StageView(load("demo"), "teacher", BY_NAME["teacher"].sections).run.seed == 0


def test_two_tiny_seeds_share_the_corpus_carry_their_seed_and_resume(tiny_preset, tmp_path):
    base = ("--preset", tiny_preset, "--seeds", "0,1", "--stages", "corpus,teacher")
    first = _cli(*base)
    assert first.returncode == 0, first.stderr[-3000:]
    run0, run1 = tmp_path / "run-seed0", tmp_path / "run-seed1"
    assert f"== corpus: shared from {run0}" in first.stderr
    for name in json.loads((run0 / "manifest.json").read_text())["stages"]["corpus"]["outputs"]:
        assert os.stat(run0 / "corpus" / name).st_ino == os.stat(run1 / "corpus" / name).st_ino  # linked
    manifest1 = json.loads((run1 / "manifest.json").read_text())["stages"]
    assert manifest1["corpus"]["shared_from"] == str(run0) and "shared_from" not in manifest1["teacher"]
    for n in (0, 1):
        doc = json.loads((tmp_path / "results" / "seeds" / f"seed{n}" / "mlm" / "teacher.json").read_text())
        assert doc["scale"]["seed"] == n
    assert "report over seeds 0, 1:" in first.stdout and (tmp_path / "results" / "REPORT.md").exists()
    assert "2 seeds (0, 1)" in (tmp_path / "results" / "REPORT.md").read_text()

    again = _cli(*base)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"seed 1 ({run1}): current: corpus, teacher" in again.stdout
    assert "== seed 0 (1 of 2): every stage current" in again.stderr and "== corpus: ran" not in again.stderr
    later = _cli("--preset", tiny_preset, "--seeds", "0,1", "--stages", "corpus,teacher,student_init", "--plan")
    assert f"seed 0 ({run0}): current: corpus, teacher; to run: student_init" in later.stdout
