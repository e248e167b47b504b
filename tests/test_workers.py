"""Stages made of independent jobs (export, parity) share pipeline/core/workers.py."""
from __future__ import annotations

import pytest
import torch

from pipeline import config as config_mod
from pipeline.config import UserError
from pipeline.core.workers import run_jobs


def _square(x, threads):
    return x * x, threads, torch.get_num_threads()


def _refuse(x, threads):
    if x == 2:
        raise UserError(f"job {x} refused")
    return x


def test_jobs_come_back_in_the_given_order_each_with_its_share_of_the_threads():
    cfg = config_mod.load("demo", {"run.workers": 2, "run.threads": 2})
    done = []
    out = run_jobs(cfg, _square, {"b": (4,), "a": (3,), "c": (5,)}, on_done=done.append)
    assert list(out) == ["b", "a", "c"] and sorted(done) == ["a", "b", "c"]
    assert out == {"b": (16, 1, 1), "a": (9, 1, 1), "c": (25, 1, 1)}
    inline = run_jobs(config_mod.load("demo", {"run.workers": 1, "run.threads": 2}), _square, {"a": (3,)})
    assert inline == {"a": (9, 2, 2)}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_job_raises_its_error_here(workers):
    cfg = config_mod.load("demo", {"run.workers": workers, "run.threads": 2})
    with pytest.raises(UserError, match="job 2 refused"):
        run_jobs(cfg, _refuse, {"one": (1,), "two": (2,)})
