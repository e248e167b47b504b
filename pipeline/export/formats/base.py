"""The one interface every export format implements, and how export finds a format's plug-in.

A plug-in is a module named by its registry row (registry.Format.module) that defines PLUGIN, an
ExportFormat. Export calls `convert` for fp32/fp16 and `quantize` for int8/int8-static/int4 with one
Job, for the precisions that `cannot_make` does not rule out on this host; the sidecar's `quantization`
facts start from `int8_facts` (int8) or `int4_facts`; parity, the host benchmark and
distilkit-ask run a file with `runner` (None: no host runtime) or, where it cannot run on this
host, check it with `interface_problems`. Adding a format is one registry row and one module.
"""
from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.core import registry

OUTPUT_NAMES = ["start_logits", "end_logits"]


@dataclass
class Job:
    """One file to write: the export forward, its example window, the precision and where it goes."""
    module: object            # the export forward (pipeline/export/export_model.py)
    args: tuple               # one example window, int32 tensors named input_names
    precision: str
    path: Path
    input_names: list
    quant: dict = field(default_factory=dict)  # int8: keep_float, keep_float_static, calibration, observer,
                                               # embeddings; int4: group_size, symmetric
    fmt: str = ""             # the registry name, for kept_modules
    searched: list = field(default_factory=list)  # layers the accuracy search moved to registry.FALLBACK

    def kept(self) -> list[str]:
        """The modules this file leaves float: the keep-float options' and the int8 search's."""
        float_fallback = registry.FALLBACK.get(self.precision) == "float"
        return kept_modules(self.quant, self.precision, self.fmt) + (self.searched if float_fallback else [])

    def at_8_bits(self) -> list[str]:
        """int4: the modules (linear layers, embedding tables) the search moved to 8-bit weights."""
        return list(self.searched) if registry.FALLBACK.get(self.precision) == "int8" else []


class ExportFormat:
    # the export forward it is traced from: "xnnpack" decomposes layer_norm (XNNPACK takes the pieces)
    forward = "plain"
    # what its int8 leaves the embedding tables as (the word table is half of a small model)
    embeddings = "unknown"
    runner = None             # class(path, sidecar, threads), called with a feed -> (start, end); None: none

    def convert(self, job: Job) -> dict:
        """Write an fp32 or fp16 file; return what the sidecar adds about it."""
        raise NotImplementedError(f"{type(self).__name__} cannot write {job.precision}")

    def quantize(self, job: Job) -> dict:
        """Write an int8, int8-static or int4 file; return what the sidecar adds about it."""
        raise NotImplementedError(f"{type(self).__name__} has no {job.precision}")

    def cannot_make(self, precision: str) -> str | None:
        """Why this host cannot write `precision` at all (export plans it out, saying so once); None: it can."""
        return None

    def int8_facts(self, precision: str, quant: dict) -> dict:
        """What this format's int8 means, over the common facts (weights, activations, embeddings)."""
        return {"embeddings": self.embeddings}

    def int4_facts(self, quant: dict) -> dict:
        """What this format's int4 means: which weights are 4-bit, in what groups and scheme, the activations."""
        return {}

    def interface_problems(self, path: Path, sidecar: dict) -> list[str] | None:
        """For a file this host cannot run: what its declared interface gets wrong (None: no check)."""
        return None


def plugin(fmt: str) -> ExportFormat:
    """The plug-in of a registry format (its row's module's PLUGIN)."""
    return importlib.import_module(registry.FORMATS[fmt].module).PLUGIN


def for_artifact(file_format: str, backend: str) -> ExportFormat:
    return plugin(registry.format_of((file_format, backend)).name)


def kept_modules(quant: dict, precision: str, fmt: str) -> list[str]:
    """The modules an int8 file of one format leaves float: export.int8_keep_float, plus int8_static_keep_float
    for int8-static. int4 files read neither: their fall-back is 8-bit weights, found by the search."""
    if precision not in ("int8", "int8-static"):
        return []
    static = quant.get("keep_float_static", {}).get(fmt, []) if precision == "int8-static" else []
    return quant.get("keep_float", {}).get(fmt, []) + static


def with_observer(config, observer: str | None):
    """A static quantization config whose activation observers follow export.calibration_observer."""
    if observer in (None, "histogram"):
        return config
    from torchao.quantization.pt2e.observer import MinMaxObserver
    ctr = MinMaxObserver.with_args(eps=2 ** -12)  # the quantizers' own eps

    def swap(spec):
        return spec and dataclasses.replace(spec, observer_or_fake_quant_ctr=ctr)
    return dataclasses.replace(config, input_activation=swap(config.input_activation),
                               output_activation=swap(config.output_activation))
