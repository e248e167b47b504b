"""The one writer of results/ files: header, provenance ("scale"), schema check, atomic write.

Every stage and command that puts a JSON file into the results folder builds it with
`document()` and writes it with `write()`, so the header and the provenance are made in one
place and nothing unvalidated reaches the report:

    from pipeline.core import results
    obj = results.document("qa_metrics", results.run_scale(cfg, results.torch_label(device)), dataset=..., models=...)
    results.write(ctx.results / "qa" / "dev.json", obj)
"""
from __future__ import annotations

import json
import platform
from pathlib import Path

from pipeline.core import results_schema
from pipeline.core.results_schema import SCHEMA_VERSION
from pipeline.core.runs import write_json_atomic


class InvalidResults(RuntimeError):
    """A results object does not match its schema: a bug in the code that built it, not user input."""


def scale(preset: str, teacher: str, corpus: str, device: str, seed: int | None = None) -> dict:
    """What a result was measured on, so the report never passes a demo run off as the paper's, and which
    run.seed made it, so the report can group runs over seeds (None: no run's seed, e.g. a re-timing CLI)."""
    out = {"preset": preset, "teacher": teacher, "corpus": corpus, "device": device}
    return out if seed is None else {**out, "seed": seed}


def run_scale(cfg, device: str) -> dict:
    return scale(Path(cfg.preset).stem, cfg.teacher.model, ",".join(cfg.corpus.source), device, cfg.run.seed)


def torch_label(device) -> str:
    """The device a torch stage trained or evaluated on, with the thread count it used."""
    import torch
    return f"{device.type} ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def host_label() -> str:
    """The host the export-side stages (export, parity, host benchmark) ran on."""
    return f"cpu ({platform.processor() or platform.machine()}, {platform.system()})"


def document(kind: str, scale: dict, **body) -> dict:
    """A results object: the header first, then the body in the caller's order."""
    return {"kind": kind, "schema_version": SCHEMA_VERSION, "scale": scale, **body}


def write(path: Path, obj: dict) -> dict:
    """Validate obj against its kind's schema, then write it to path atomically; returns obj."""
    # Checked as the report will read it back (tuples become lists, paths strings).
    problems = results_schema.validate(json.loads(json.dumps(obj, default=str)))
    if problems:
        raise InvalidResults(f"{obj.get('kind')} results for {path} do not match the schema: " + "; ".join(problems))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, obj)
    return obj
