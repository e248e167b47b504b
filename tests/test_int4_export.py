"""4-bit weights (issue 38): the tiny student's int4 ExecuTorch and LiteRT files, smaller than its int8 ones, their
sidecars saying what is 4-bit, the export's search falling back to 8-bit weights, and the apps taking the smallest
file that passed."""
from __future__ import annotations

import json
import platform

import pytest
import torch
from torch import nn

from test_export_pipeline import SEQ

FILES = {"executorch": f"student.executorch.{{}}.{SEQ}.pte", "tflite": f"student.tflite.{{}}.{SEQ}.tflite"}


def _sidecar(four_bit, fmt, precision) -> dict:
    return json.loads((four_bit["out"] / (FILES[fmt].format(precision) + ".json")).read_text())


@pytest.mark.parametrize("fmt", ["executorch", "tflite"])
def test_the_int4_file_is_smaller_than_the_int8_one_and_says_what_is_4_bit(four_bit, fmt):
    four, eight = _sidecar(four_bit, fmt, "int4"), _sidecar(four_bit, fmt, "int8")
    # The search moved the table to 8 bits, so what 4 bits save here is the tiny layers' (2 x 32 wide): in LiteRT a
    # few hundred bytes, less than the int4 file (made from the QAT copy) and the int8 one can differ by otherwise.
    assert four["bytes"] < (eight["bytes"] if fmt == "executorch" else _sidecar(four_bit, fmt, "fp32")["bytes"] / 1.4)
    q = four["quantization"]
    assert "4-bit symmetric per" in q["weights"] and q["group_size"] == 32
    assert "4-bit" in q["embeddings"] and q["activations"].startswith("int8") and q["qa_heads"] == "float"


@pytest.mark.parametrize("fmt", ["executorch", "tflite"])
def test_the_search_moves_the_embedding_table_to_8_bits_and_records_it(four_bit, fmt):
    from pipeline.export import int8
    sc = _sidecar(four_bit, fmt, "int4")
    rec = sc["int8_search"]
    assert rec["fallback"] == "int8" and rec["outcome"] == "passed after search" and rec["kept_float"] == ["word"]
    assert [t["passed"] for t in rec["trace"]] == [False, True] and rec["gate"]["passed"]
    assert sc["quantization"]["at_8_bits"] == [{"module": "word", "reason": int8.INT4_SEARCH_REASON}]
    assert _sidecar(four_bit, fmt, "int8")["int8_search"]["fallback"] == "float"


def test_the_litert_file_holds_4_bit_layers_an_8_bit_table_and_float_heads(four_bit):
    from ai_edge_litert.tools import flatbuffer_utils
    model = flatbuffer_utils.read_model(str(four_bit["out"] / FILES["tflite"].format("int4")))
    graph = model.subgraphs[0]
    weights = {}
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex].builtinCode
        if code in (7, 9):  # EMBEDDING_LOOKUP, FULLY_CONNECTED
            w = graph.tensors[op.inputs[1]]
            weights.setdefault("table" if code == 7 else "head" if b"QAHead" in w.name else "linear", set()).add(w.type)
    assert weights == {"table": {9}, "linear": {17}, "head": {0}}  # INT8, INT4, FLOAT32


def test_the_ranking_is_4_bit_and_made_once_for_both_int4_files(four_bit):
    assert [r for r in four_bit["rankings"] if r] == [{"group_size": 32, "symmetric": True}]


def test_parity_takes_the_int4_gate_from_the_export(four_bit):
    checks = {c.get("file"): c for c in json.loads((four_bit["parity"] / "parity.json").read_text())["checks"]}
    for fmt in FILES:
        row = checks[FILES[fmt].format("int4")]
        assert row["passed"] and row["ran"] and "gated in export" in row["note"]
        assert row["int8_search"]["fallback"] == "int8"


def test_core_ml_int4_is_written_and_checked_by_interface_only_off_macos(four_bit):
    name = f"student.coreml.int4.{SEQ}.mlpackage"
    q = json.loads((four_bit["out"] / f"{name}.json").read_text())["quantization"]
    assert "4-bit symmetric per block" in q["weights"] and "iOS 18" in q["weights"] and q["group_size"] == 32
    assert "int8_search" not in q  # Core ML is not searched: it cannot be gated here
    row = {c.get("file"): c for c in json.loads((four_bit["parity"] / "parity.json").read_text())["checks"]}[name]
    if platform.system() != "Darwin":
        assert not row["ran"] and "spec interface matches" in row["note"]


def test_the_apps_get_the_smallest_file_that_passed(four_bit, tmp_path):
    from pipeline.devices import stage_apps
    sidecars = stage_apps.read_sidecars(four_bit["out"])
    picked = stage_apps.choose(sidecars, ["student"], ["int8", "int4"], [SEQ])
    checks = stage_apps.gate_checks(four_bit["parity"])
    kept, _ = stage_apps.gate(picked, checks, smallest_only=True, ungated_int8=False)
    smallest = {fmt: min(("int4", "int8"), key=lambda p: _sidecar(four_bit, fmt, p)["bytes"]) for fmt in FILES}
    assert smallest["executorch"] == "int4"
    assert sorted(m["file"] for m in kept["android"]) == sorted(FILES[f].format(p) for f, p in smallest.items())
    missed = {k: dict(c, passed=c["file"] != FILES["executorch"].format("int4")) for k, c in checks.items()}
    picked = stage_apps.choose(stage_apps.read_sidecars(four_bit["out"]), ["student"], ["int8", "int4"], [SEQ])
    kept, refused = stage_apps.gate(picked, missed, smallest_only=True, ungated_int8=False)
    assert sorted(m["file"] for m in kept["android"]) == sorted([FILES["executorch"].format("int8"),
                                                                 FILES["tflite"].format(smallest["tflite"])])
    assert FILES["executorch"].format("int4") in [r["file"] for r in refused if r["app"] == "android"]


class _Table(nn.Module):
    """An embedding table, a linear layer and a QA head (never a candidate)."""

    def __init__(self):
        super().__init__()
        from pipeline.export.export_model import QAHead
        torch.manual_seed(0)
        self.table, self.lin, self.head = nn.Embedding(10, 16), nn.Linear(16, 16), QAHead(16, 1)

    def forward(self, ids):
        h = self.lin(self.table(ids))
        return h[..., 0], self.head(h)[..., 0]


def test_the_4_bit_ranking_includes_the_embedding_tables_and_restores_the_weights():
    from pipeline.export import int8_search
    model = _Table()
    windows = [(torch.randint(0, 10, (1, 6)),) for _ in range(2)]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    four = {r["module"]: r["error"] for r in int8_search.sensitivity(model, windows, False,
                                                                     {"group_size": 8, "symmetric": True})}
    eight = {r["module"]: r["error"] for r in int8_search.sensitivity(model, windows, False)}
    assert set(four) == {"table", "lin"} and set(eight) == {"lin"}  # int8 ranks linear layers only
    assert four["table"] > 0 and four["lin"] > eight["lin"] > 0  # 4-bit weights cost more than 8-bit ones
    asym = int8_search.sensitivity(model, windows, False, {"group_size": 8, "symmetric": False})
    assert {r["module"]: r["error"] for r in asym}["table"] != four["table"]  # the option reaches the tables
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_the_4_bit_ranking_orders_by_error_per_weight_so_a_big_table_goes_last():
    """The fall-back to 8 bits should buy the most accuracy per byte it gives back: a table of 64,000 weights ranks
    after a layer of 256 (int8 ranks by error alone: keeping a layer float is about speed, not bytes)."""
    from pipeline.export import int8_search
    model = _Table()
    model.table = nn.Embedding(4000, 16)
    windows = [(torch.randint(0, 10, (1, 6)),) for _ in range(2)]
    ranked = int8_search.sensitivity(model, windows, False, {"group_size": 8, "symmetric": True})
    assert {r["module"]: r["weights"] for r in ranked} == {"table": 64000, "lin": 256}
    assert [r["module"] for r in ranked] == ["lin", "table"] and ranked[1]["error"] > 0
    per_weight = [r["error"] / r["weights"] for r in ranked]
    assert per_weight == sorted(per_weight, reverse=True)


def test_the_int4_files_come_from_a_qat_copy_the_int8_ones_from_the_model(four_bit):
    """export.int4_qat_epochs (1 here): the int4 files are rounded from a QAT copy of the student, saved with
    save_pretrained beside them; the int8 files from the student itself; both sidecars name the student's checkpoint."""
    from transformers import AutoModelForQuestionAnswering
    from pipeline.export.export import checkpoint_sha256
    copy = four_bit["out"] / "qat" / "student"
    source = four_bit["qa"] / "student"
    for fmt in ("executorch", "tflite"):
        four, eight = _sidecar(four_bit, fmt, "int4"), _sidecar(four_bit, fmt, "int8")
        rec = four["quantization"]["qat"]
        assert rec["folder"] == "qat/student" and rec["sha256"] == checkpoint_sha256(copy)
        assert rec["source_sha256"] == checkpoint_sha256(source) == four["source_checkpoint"]["sha256"]
        assert rec["epochs"] == 1.0 and rec["steps"] >= 1 and rec["group_size"] == 32
        assert "qat" not in eight["quantization"]
    trained = AutoModelForQuestionAnswering.from_pretrained(copy).state_dict()
    before = AutoModelForQuestionAnswering.from_pretrained(source).state_dict()
    assert trained.keys() == before.keys()
    assert any(not torch.equal(trained[k], before[k]) for k in before if "layer" in k)


def test_a_qat_copy_is_reused_for_the_same_source_and_settings_and_retrained_otherwise(four_bit, tmp_path,
                                                                                       monkeypatch):
    import shutil
    from pipeline.export import qat
    from pipeline.training import qa_loop
    from test_export_pipeline import _cfg
    out = tmp_path / "export"
    shutil.copytree(four_bit["out"] / "qat", out / "qat")
    from pipeline.data.qa_data import load_squad_file
    train = load_squad_file(four_bit["data"] / "train.json", "reject")
    cfg = _cfg(tmp_path, **{"export.int4_group_size": 32, "export.int4_qat_epochs": 1})
    source = four_bit["qa"] / "student"
    sha = json.loads((out / "qat" / "student" / "qat.json").read_text())["source_sha256"]
    monkeypatch.setattr(qa_loop, "train", lambda *a, **k: pytest.fail("a current QAT copy was trained again"))
    folder, rec = qat.qat_copy(cfg, "student", source, sha, train, out)
    assert folder == out / "qat" / "student" and rec["steps"] >= 1
    monkeypatch.undo()
    cfg2 = _cfg(tmp_path, **{"export.int4_group_size": 32, "export.int4_qat_epochs": 1, "export.int4_qat_lr": 1e-4})
    folder, rec2 = qat.qat_copy(cfg2, "student", source, sha, train, out)
    assert rec2["lr"] == 1e-4 and rec2["key"] != rec["key"]
    assert json.loads((folder / "qat.json").read_text())["key"] == rec2["key"]
    (folder / "qat.json").write_text("{not json")  # a damaged record: the copy is made again, not trusted
    folder, rec3 = qat.qat_copy(cfg2, "student", source, sha, train, out)
    assert rec3["key"] == rec2["key"] and json.loads((folder / "qat.json").read_text()) == rec3


def test_int4_without_qat_rounds_the_model_itself_and_says_so():
    from pipeline.export import int8
    from pipeline.export.formats import plugin
    facts = int8.quantization_facts("executorch", plugin("executorch"), "int4",
                                    {"group_size": 32, "symmetric": True}, [])["quantization"]
    assert facts["qat"].startswith("none")


def test_qat_options_are_checked(tmp_path):
    from pipeline.config import UserError, load
    with pytest.raises(UserError, match="int4_qat_epochs"):
        load("demo", {"export.int4_qat_epochs": -1})
    with pytest.raises(UserError, match="int4_qat_lr"):
        load("demo", {"export.int4_qat_lr": 0})
