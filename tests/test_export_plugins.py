"""Export formats are plug-ins: a format is one registry row and one module (pipeline/export/formats/base.py)."""
from __future__ import annotations

import json
import sys
import types

import numpy as np
import pytest
import torch

from pipeline.core import registry
from test_export_pipeline import SEQ, _cfg, _ctx, _tiny_models

# A whole format in a few lines: the export forward saved as a torch.export program, run on the host by loading it.
TOY = '''
import torch
from pipeline.export.formats.base import ExportFormat


class ToyRunner:
    def __init__(self, path, sidecar, threads):
        self.names = [i["name"] for i in sidecar["inputs"]]
        self.forward = torch.export.load(str(path)).module()

    def __call__(self, feed):
        start, end = self.forward(*(torch.from_numpy(feed[n]) for n in self.names))
        return start.detach().numpy(), end.detach().numpy()


class Toy(ExportFormat):
    embeddings = "float (nothing is quantized)"
    runner = ToyRunner

    def convert(self, job):
        torch.export.save(torch.export.export(job.module, job.args, strict=False), str(job.path))
        return {"toy_saved_with": "torch.export.save"}


PLUGIN = Toy()
'''


@pytest.fixture
def toy_format(monkeypatch):
    module = types.ModuleType("toy_format_plugin")
    exec(compile(TOY, "toy_format_plugin", "exec"), module.__dict__)
    monkeypatch.setitem(sys.modules, "toy_format_plugin", module)
    monkeypatch.setitem(registry.FORMATS, "toy", registry.Format("toy", "toy", "torch", "pt2", ("fp32",),
                                                                 "toy_format_plugin"))
    return module


def test_a_new_format_is_one_registry_row_and_one_module(toy_format, tmp_path, monkeypatch):
    from pipeline.core import results_schema
    from pipeline.export import export, runtimes
    # The results schemas (pipeline/core/schemas/{artifacts,parity}.schema.json) still enumerate the file formats:
    # the one list left outside the registry; only that complaint about the toy is set aside here.
    validate = results_schema.validate
    monkeypatch.setattr(results_schema, "validate",
                        lambda obj: [p for p in validate(obj) if not p.endswith("'toy' is not one of coreml, executorch, "
                                                                               "tflite, onnx, pytorch")])
    qa = _tiny_models(tmp_path / "qa")
    cfg = _cfg(tmp_path, **{"export.models": ["student"], "export.formats": ["toy", "onnx"],
                            "export.precisions": ["fp32", "int8"]})
    metrics = export.run(cfg, _ctx(cfg, tmp_path, "export", {"qa_finetune": qa}))
    assert metrics == {"artifacts": 3, "failures": 0}  # toy fp32; onnx fp32 and int8 (toy has no int8)
    name = f"student.toy.fp32.{SEQ}.pt2"
    sc = json.loads((tmp_path / "export" / f"{name}.json").read_text())
    assert (sc["format"], sc["backend"], sc["file"], sc["toy_saved_with"]) == ("toy", "torch", name, "torch.export.save")
    assert sc["max_seq_length"] == SEQ and [i["name"] for i in sc["inputs"]] == ["input_ids", "attention_mask"]
    arts = json.loads((tmp_path / "results" / "artifacts.json").read_text())["artifacts"]
    assert sorted(a["file"] for a in arts if a["format"] == "toy") == [name]
    # one more row runs it on the host through the plug-in's runner (parity, the benchmark and ask use this)
    monkeypatch.setitem(registry.RUNTIMES, "toy", registry.Runtime("toy", "toy", "torch", ("toy", "torch")))
    assert runtimes.RUNNERS["toy"] is toy_format.ToyRunner
    runner, side = runtimes.load(tmp_path / "export" / name)
    onnx, _ = runtimes.load(tmp_path / "export" / f"student.onnx.fp32.{SEQ}.onnx")
    feed = runtimes.feed_for(side, {"input_ids": [2] + [9] * (SEQ - 2) + [3], "attention_mask": [1] * SEQ})
    for got, want in zip(runner(feed), onnx(feed)):
        assert np.allclose(got, want, atol=1e-4)


def test_every_format_row_names_a_plug_in_with_the_interface():
    from pipeline.export import formats
    for name, spec in registry.FORMATS.items():
        plugin = formats.plugin(name)
        assert isinstance(plugin, formats.ExportFormat), name
        assert plugin.forward in ("plain", "xnnpack"), name
        if set(spec.precisions) & set(registry.QUANTIZED):
            assert type(plugin).quantize is not formats.ExportFormat.quantize, name
            assert plugin.int8_facts("int8", {})["embeddings"] != "unknown", name
    for rt in registry.RUNTIMES.values():
        if rt.artifact is not None:
            assert formats.for_artifact(*rt.artifact).runner is not None, rt


def test_unknown_plug_in_module_fails_loudly(monkeypatch):
    from pipeline.export import formats
    monkeypatch.setitem(registry.FORMATS, "ghost", registry.Format("ghost", "ghost", "ghost", "g", ("fp32",),
                                                                   "no_such_plugin_module"))
    with pytest.raises(ModuleNotFoundError):
        formats.plugin("ghost")
    assert torch  # the plug-ins import torch; the registry does not
