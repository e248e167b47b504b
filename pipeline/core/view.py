"""StageView: the config as one stage sees it, so a stage cannot read what its fingerprint does not cover.

A stage declares (Stage.sections) whole sections ('distill') or single fields ('export.seq_lens'); the
runner hashes exactly those into the stage's fingerprint and hands the stage this view, which refuses
every other read with UndeclaredConfigRead. So a declared list is complete by construction: a missing
field fails the first run that reads it, and a field left out of the list cannot re-run the stage.
It knows the config only as an object with sections (pipeline.config.Config), so core does not
import config.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

# What any stage may read without declaring it: where things go, what the manifest already keys
# on (the seed), and the provenance that results files carry.
ALWAYS_READABLE = frozenset({"run.run_dir", "run.results_dir", "run.seed", "run.device", "run.threads",
                             "run.workers", "teacher.model", "corpus.source"})


class UndeclaredConfigRead(AttributeError):
    """A stage read a field that its fingerprint does not cover: its outputs could go stale."""


class StageView:
    """The config as one stage sees it: only the sections and fields its `Stage.sections` declare
    (plus ALWAYS_READABLE), so a stage cannot depend on a value that does not key its outputs."""

    def __init__(self, cfg, stage: str, sections, seeded: bool = True):
        self._cfg, self._stage, self._allowed = cfg, stage, set(sections) | ALWAYS_READABLE
        if not seeded:  # its fingerprint leaves the seed out, so it must not read it (Stage.seeded)
            self._allowed.discard("run.seed")
        self._sections = {fl.name for fl in dataclasses.fields(cfg) if fl.name != "preset"}

    @property
    def preset(self) -> str:
        return self._cfg.preset

    @property
    def run_dir(self) -> Path:
        return self._cfg.run_dir

    def readable(self, dotted: str) -> bool:
        return dotted in self._allowed or dotted.partition(".")[0] in self._allowed

    def refuse(self, dotted: str) -> UndeclaredConfigRead:
        return UndeclaredConfigRead(f"stage '{self._stage}' reads {dotted}, which its declared sections do not "
                                    f"cover; add it to the stage's sections so that its fingerprint does")

    def section(self, name: str) -> dict:
        if name not in self._allowed:
            raise self.refuse(name)
        return self._cfg.section(name)

    def __getattr__(self, name: str):
        if name.startswith("_") or name not in self._sections:
            raise AttributeError(name)
        if name in self._allowed:
            return getattr(self._cfg, name)
        return _SectionView(self, name)


class _SectionView:
    """A section of which the stage declared single fields: reads of the others are refused."""

    def __init__(self, view: StageView, name: str):
        self._view, self._name = view, name

    def __getattr__(self, key: str):
        if key.startswith("_"):  # copy and pickle probe for these before __init__ has run
            raise AttributeError(key)
        dotted = f"{self._name}.{key}"
        if not self._view.readable(dotted):
            raise self._view.refuse(dotted)
        return getattr(getattr(self._view._cfg, self._name), key)
