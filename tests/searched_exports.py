"""The tiny student's fp32, int8 and int4 files exported once with the int8 search on, for the int8-search and int4
tests (conftest registers the fixture, so the export runs once per test session)."""
from __future__ import annotations

import pytest

from test_export_pipeline import _cfg, _ctx, _dev_json, _tiny_models


@pytest.fixture(scope="session")
def four_bit(tmp_path_factory):
    """fp32, int8 and int4 files of the tiny student, exported with the search on through a gate that passes an int8
    file only once blocks.1.ffn2 is float and an int4 file only once its word-embedding table has 8-bit weights;
    then parity run on them. Shared with tests/test_int8_search.py (exports are the suite's slow part)."""
    from pipeline.export import export, int8_search, parity
    tmp = tmp_path_factory.mktemp("int4")
    qa = _tiny_models(tmp / "qa_finetune")
    data = tmp / "qa_data"
    data.mkdir()
    _dev_json(data / "dev.json")
    _dev_json(data / "train.json", n=8)
    cfg = _cfg(tmp, **{"export.models": ["student"], "export.formats": ["executorch", "tflite", "coreml"],
                       "export.precisions": ["fp32", "int8", "int4"], "export.int8_keep_float": [],
                       "export.int8_static_keep_float": [], "export.int8_search_windows": 2,
                       "export.int4_group_size": 32,  # the tiny layers are 32 and 64 wide
                       "export.int4_qat_epochs": 1})

    def strict(cfg_, sidecar, row):
        q = sidecar["quantization"]
        ok = "word" in [k["module"] for k in q.get("at_8_bits", [])] if sidecar["precision"] == "int4" else \
            "blocks.1.ffn2" in [k["module"] for k in q.get("kept_float", [])]
        return {"passed": ok, "note": None if ok else "test gate"}
    rankings = []
    mp = pytest.MonkeyPatch()
    mp.setattr(parity, "_gate", strict)
    # fixed rankings (the rankings are tested on their own) keep the re-exports few
    mp.setattr(int8_search, "sensitivity", lambda module, windows, static, int4=None: rankings.append(int4) or (
        [{"module": "word", "error": 0.3}, {"module": "blocks.0.ffn2", "error": 0.1}] if int4 else
        [{"module": "blocks.1.ffn2", "error": 0.2}, {"module": "blocks.0.ffn2", "error": 0.1},
         {"module": "blocks.0.q", "error": 0.05}]))
    export.run(cfg, _ctx(cfg, tmp, "export", {"qa_finetune": qa, "qa_data": data}))
    mp.undo()
    pcfg = _cfg(tmp, **{"export.int8_max_f1_drop": 100.0, "export.int8_max_f1_drop_handwritten": 100.0})
    parity.run(pcfg, _ctx(pcfg, tmp, "parity", {"export": tmp / "export", "qa_data": data, "qa_finetune": qa}))
    return {"out": tmp / "export", "parity": tmp / "parity", "rankings": rankings, "data": data, "qa": qa}
