"""Issue 2: resume after SIGKILL, checkpoint errors, torchrun equality, bad input."""
from __future__ import annotations

import errno
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from conftest import REPO, TINY_LENGTHS, build_all, build_all_inproc

PREP = "corpus,teacher,student_init"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, tiny_teacher, tiny_corpus):
    """One tiny run folder with corpus, teacher and student ready; tests copy it."""
    base = tmp_path_factory.mktemp("prepared")
    preset = base / "tiny.toml"
    preset.write_text(f'''extends = "demo"
[run]
results_dir = "{base / 'results'}"
threads = 1
[corpus]
source = ["{tiny_corpus}"]
max_seq_len = 48
heldout_frac = 0.1
[teacher]
model = "{tiny_teacher}"
fit_head = "never"
eval_batches = 2
[distill]
steps = 5
batch_size = 4
grad_accum = 2
checkpoint_every = 2
eval_batches = 2
{TINY_LENGTHS}''')
    build_all("--preset", preset, "--stages", PREP, "--run.run_dir", base / "run")
    return preset, base / "run"


def _copy(prepared, tmp_path, name="run"):
    preset, run = prepared
    dst = tmp_path / name
    shutil.copytree(run, dst)
    return preset, dst


def _weights(run):
    return load_file(run / "distill" / "model" / "model.safetensors")


def _tree_digest(folder):
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(folder)).encode() + p.read_bytes())
    return h.hexdigest()


class Stopped(BaseException):
    """Stands for a kill: raised by the on_step hook, it ends the process's work mid-run, and
    like SIGKILL it is no error the stage runner handles (the runner keeps the checkpoints)."""


def _stopped_at(monkeypatch, step, *args):
    """build_all in this process with distillation stopped right after optimizer step `step`."""
    from pipeline.training import distill

    def stop(n):
        if n == step:
            raise Stopped(n)

    monkeypatch.setattr(distill, "distill", functools.partial(distill.distill, on_step=stop))
    with pytest.raises(Stopped):
        build_all_inproc(*args)
    monkeypatch.undo()


def test_stop_then_resume_gives_identical_weights(prepared, tmp_path, monkeypatch):
    preset, a = _copy(prepared, tmp_path, "a")
    _, b = _copy(prepared, tmp_path, "b")
    build_all("--preset", preset, "--stages", "distill", "--run.run_dir", a)
    _stopped_at(monkeypatch, 3, "--preset", preset, "--stages", "distill", "--run.run_dir", b)
    assert (b / ".distill.work" / "checkpoint.pt").exists() and not (b / "distill").exists()
    resumed = build_all("--preset", preset, "--stages", "distill", "--run.run_dir", b)
    assert "resuming from" in resumed.stderr and "at step 2/5" in resumed.stderr
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k
    steps = [json.loads(l)["step"] for l in (b / "distill" / "log.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5]


def test_corrupt_checkpoint_is_an_error_not_a_restart(prepared, tmp_path):
    preset, run = _copy(prepared, tmp_path)
    work = run / ".distill.work"
    work.mkdir()
    (work / "checkpoint.pt").write_bytes(b"not a checkpoint")
    res = build_all("--preset", preset, "--stages", "distill", "--run.run_dir", run, check=False)
    assert res.returncode == 2
    err = [l for l in res.stderr.splitlines() if l.startswith("error:")]
    assert len(err) == 1 and "corrupt" in err[0]
    assert (work / "checkpoint.pt").read_bytes() == b"not a checkpoint"


def test_checkpoint_from_other_config_is_refused(prepared, tmp_path, monkeypatch):
    preset, run = _copy(prepared, tmp_path)
    _stopped_at(monkeypatch, 2, "--preset", preset, "--stages", "distill", "--run.run_dir", run)
    res = build_all("--preset", preset, "--stages", "distill", "--run.run_dir", run, "--distill.lr", "1e-3", check=False)
    assert res.returncode == 2 and "different config" in res.stderr


def test_torchrun_two_processes_equal_one_process(prepared, tmp_path):
    preset, one = _copy(prepared, tmp_path, "one")
    _, two = _copy(prepared, tmp_path, "two")
    build_all("--preset", preset, "--stages", "distill", "--run.run_dir", one, "--distill.grad_accum", "2")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
           str(REPO / "pipeline" / "build_all.py"), "--preset", str(preset), "--stages", "distill",
           "--run.run_dir", str(two), "--distill.grad_accum", "1"]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=600,
                         env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert res.returncode == 0, res.stderr[-3000:]
    man = json.loads((two / "manifest.json").read_text())
    assert man["stages"]["distill"]["metrics"]["world_size"] == 2
    assert man["stages"]["distill"]["metrics"]["effective_batch"] == 8
    w1, w2 = _weights(one), _weights(two)
    for k in w1:
        assert torch.allclose(w1[k], w2[k], atol=1e-5, rtol=1e-4), k


def _one_error(res):
    assert res.returncode == 2, res.stderr[-2000:]
    errs = [l for l in res.stderr.splitlines() if l.startswith("error:")]
    assert len(errs) == 1, res.stderr[-2000:]
    return errs[0]


BAD = {
    "missing corpus": (["--corpus.source", "/nonexistent/corpus"], "no such file"),
    "unknown preset": (["--preset", "nosuchpreset"], "unknown preset"),
    "bad value": (["--distill.lr", "fast"], "cannot read"),
    "bad choice": (["--student.init", "magic"], "not one of"),
    "unknown stage": (["--stages", "distil"], "unknown stage"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_one_line_and_nothing_overwritten(prepared, tmp_path, case):
    preset, run = _copy(prepared, tmp_path)
    before = _tree_digest(run)
    args, needle = BAD[case]
    base = ["--preset", preset] if "--preset" not in args else []
    res = build_all_inproc(*base, "--stages", PREP, "--run.run_dir", run, *args)
    assert needle in _one_error(res)
    assert _tree_digest(run) == before


def test_unknown_option_is_rejected(prepared, tmp_path):
    preset, run = _copy(prepared, tmp_path)
    res = build_all_inproc("--preset", preset, "--distill.lrr", "1")
    assert res.returncode == 2 and "unrecognized arguments: --distill.lrr" in res.stderr


def test_empty_corpus(prepared, tmp_path):
    preset, run = _copy(prepared, tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "a.txt").write_text("\n\n")
    before = _tree_digest(run)
    res = build_all_inproc("--preset", preset, "--stages", "corpus", "--run.run_dir", run, "--corpus.source", empty)
    assert "is empty" in _one_error(res)
    assert _tree_digest(run) == before


def test_teacher_folder_without_config(prepared, tmp_path):
    preset, run = _copy(prepared, tmp_path)
    bad = tmp_path / "teacher"
    bad.mkdir()
    (bad / "model.safetensors").write_bytes(b"")
    res = build_all_inproc("--preset", preset, "--stages", PREP, "--run.run_dir", run, "--teacher.model", bad)
    assert "has no config.json" in _one_error(res)


def test_non_bert_teacher(prepared, tmp_path):
    from transformers import GPT2Config
    preset, run = _copy(prepared, tmp_path)
    bad = tmp_path / "gpt2"
    GPT2Config(n_layer=1, n_embd=8, n_head=2, vocab_size=50).save_pretrained(bad)
    shutil.copy(prepared[1].parent / "run" / "teacher" / "model" / "tokenizer.json", bad)
    shutil.copy(prepared[1].parent / "run" / "teacher" / "model" / "tokenizer_config.json", bad)
    res = build_all_inproc("--preset", preset, "--stages", "teacher", "--run.run_dir", run, "--teacher.model", bad)
    assert "needs a BERT teacher" in _one_error(res)


def test_malformed_preset_and_manifest(prepared, tmp_path):
    preset, run = _copy(prepared, tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text("[distill\nlr = 1")
    assert "not valid TOML" in _one_error(build_all_inproc("--preset", bad))
    bad.write_text("[distil]\nlr = 1\n")
    assert "unknown section" in _one_error(build_all_inproc("--preset", bad))
    (run / "manifest.json").write_text("{broken")
    res = build_all_inproc("--preset", preset, "--stages", PREP, "--run.run_dir", run)
    assert "not valid JSON" in _one_error(res)
    assert (run / "manifest.json").read_text() == "{broken"


def test_full_disk_during_a_checkpoint_write_is_one_error_line_and_loses_nothing(prepared, tmp_path, monkeypatch):
    """The disk fills while distillation writes its second checkpoint: one error line, exit 2, the earlier
    stages, the manifest and the first checkpoint whole, and the same command resumes from that checkpoint."""
    from pipeline.training import kit
    preset, run = _copy(prepared, tmp_path)
    before = {d: _tree_digest(run / d) for d in PREP.split(",")}
    manifest = (run / "manifest.json").read_text()
    real, calls = kit.torch.save, []

    def full_disk(obj, fh, *a, **k):
        calls.append(getattr(fh, "name", fh))
        if len(calls) == 2:
            fh.write(b"half a checkpoint")
            raise OSError(errno.ENOSPC, "No space left on device", str(calls[-1]))
        return real(obj, fh, *a, **k)

    monkeypatch.setattr(kit.torch, "save", full_disk)
    res = build_all_inproc("--preset", preset, "--stages", "distill", "--run.run_dir", run)
    monkeypatch.undo()
    line = _one_error(res)
    assert "stage 'distill' stopped writing" in line and "the disk is full" in line and "resume" in line, line
    assert "Traceback" not in res.stderr
    assert {d: _tree_digest(run / d) for d in PREP.split(",")} == before
    assert (run / "manifest.json").read_text() == manifest and not (run / "distill").exists()
    assert torch.load(run / ".distill.work" / "checkpoint.pt", weights_only=False)["step"] == 2
    resumed = build_all("--preset", preset, "--stages", "distill", "--run.run_dir", run)
    assert "resuming from" in resumed.stderr and "at step 2/5" in resumed.stderr
    assert json.loads((run / "manifest.json").read_text())["stages"]["distill"]["metrics"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder (the /proc cases in "
                                              "test_config_values cover it there)")
def test_read_only_results_folder_is_one_error_line_before_any_stage(prepared, tmp_path):
    preset, run = _copy(prepared, tmp_path)
    results = tmp_path / "results"
    results.mkdir()
    results.chmod(0o555)
    try:
        res = build_all_inproc("--preset", preset, "--stages", PREP, "--run.run_dir", run,
                               "--run.results_dir", results)
    finally:
        results.chmod(0o755)
    assert "run.results_dir: cannot write into" in _one_error(res) and "==" not in res.stderr


def test_failed_stage_still_writes_the_report(tiny_preset, tmp_path):
    res = build_all_inproc("--preset", tiny_preset, "--stages", "corpus,report", "--corpus.source", "/nonexistent/x")
    assert "no such file" in _one_error(res)
    assert (tmp_path / "results" / "REPORT.md").is_file()
