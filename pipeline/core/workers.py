"""Stages made of independent jobs (export: a model each; parity: a model and window length each) run them in
worker processes, each with its share of the CPU threads.

On 2 cores two processes of one thread each get more done than one process of two threads: the converters are
mostly single-threaded Python, and one window at a time is too small a matrix product to keep two threads busy.
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Callable

import torch


def worker_count(cfg, jobs: int) -> int:
    """run.workers processes (0 = one per CPU), never more than there are jobs."""
    return max(1, min(jobs, cfg.run.workers or os.cpu_count() or 1))


def all_threads(cfg) -> int:
    return cfg.run.threads or torch.get_num_threads()


def _call(fn: Callable, args: tuple, threads: int):
    torch.set_num_threads(threads)
    return fn(*args, threads)


def run_jobs(cfg, fn: Callable, jobs: dict, on_done: Callable | None = None) -> dict:
    """{name: fn(*args, threads)} for jobs {name: args}. One worker: in this process with every thread; more:
    in spawned processes sharing the threads, the jobs submitted in the order given (largest first, so the
    small ones fill the other workers meanwhile). on_done(name) is called as each job finishes; a job's
    exception is raised here."""
    workers, done = worker_count(cfg, len(jobs)), {}
    if workers == 1:
        for name, args in jobs.items():
            done[name] = _call(fn, args, all_threads(cfg))
            if on_done:
                on_done(name)
        return done
    threads = max(1, all_threads(cfg) // workers)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_call, fn, args, threads): name for name, args in jobs.items()}
        for future in as_completed(futures):
            done[futures[future]] = future.result()
            if on_done:
                on_done(futures[future])
    return {name: done[name] for name in jobs}
