"""The export's accuracy-driven int8 search: which layers it keeps float, in what order, when it stops, what it
records, and that parity takes its gate row only while the file is the one it gated."""
from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from test_export_pipeline import SEQ, _cfg, _ctx, _fc_weight_dtypes


def _fake(passes_with: set, calls: list):
    """make/gate stand-ins: the file passes once every layer in passes_with is kept float."""
    def make(extra):
        calls.append(list(extra))
        return {"file": "m.pte", "kept": list(extra)}

    def gate(sc):
        ok = passes_with <= set(sc["kept"])
        return {"passed": ok, "f1_delta": -0.5 if ok else -3.0, "handwritten": {"f1_delta": -1.0}}
    return make, gate


RANKING = [{"module": "blocks.2.ffn2", "error": 0.3}, {"module": "blocks.0.o", "error": 0.2},
           {"module": "blocks.1.ffn2", "error": 0.1}]


def test_search_keeps_layers_float_one_at_a_time_in_ranking_order_until_it_passes():
    from pipeline.export import int8_search
    calls = []
    make, gate = _fake({"blocks.2.ffn2", "blocks.0.o"}, calls)
    found = int8_search.search(make, gate, lambda: RANKING, [], [], 600, "m.pte")
    rec = found["record"]
    assert calls == [[], ["blocks.2.ffn2"], ["blocks.2.ffn2", "blocks.0.o"]]
    assert rec["outcome"] == "passed after search" and rec["kept_float"] == ["blocks.2.ffn2", "blocks.0.o"]
    assert [s["passed"] for s in rec["trace"]] == [False, False, True]
    assert rec["trace"][0]["f1_delta"] == -3.0 and rec["trace"][-1]["natural_f1_delta"] == -1.0
    assert [r["module"] for r in rec["ranking"]] == [r["module"] for r in RANKING] and found["last"][1]["passed"]


def test_sibling_choices_go_first_and_forced_layers_are_not_tried_again():
    from pipeline.export import int8_search
    calls = []
    make, gate = _fake({"blocks.1.ffn2"}, calls)
    found = int8_search.search(make, gate, lambda: RANKING, ["blocks.1.ffn2"], ["blocks.2.ffn2"], 600, "m.pte")
    assert calls == [[], ["blocks.1.ffn2"]] and found["record"]["kept_float"] == ["blocks.1.ffn2"]
    assert found["record"]["trace"][0]["kept_float"] == ["blocks.2.ffn2"]  # the options' own list, first file


def test_a_file_that_passes_is_not_ranked_and_a_hopeless_one_records_its_miss():
    from pipeline.export import int8_search

    def never():
        raise AssertionError("ranked although the file passed")
    found = int8_search.search(*_fake(set(), []), never, [], [], 600, "m.pte")
    assert found["record"]["outcome"] == "passed" and found["record"]["ranking"] == []
    calls = []
    found = int8_search.search(*_fake({"no.such"}, calls), lambda: RANKING, [], [], 600, "m.pte")
    assert found["record"]["outcome"] == "missed: every layer tried" and len(calls) == 4
    calls = []
    found = int8_search.search(*_fake({"no.such"}, calls), lambda: RANKING, [], [], 1e-9, "m.pte")
    assert found["record"]["outcome"] == "missed: budget spent" and calls == [[]]


SIX = [{"module": f"l{i}", "error": 1.0 / (i + 1)} for i in range(6)]


@pytest.mark.parametrize("needed, tried, rewrite", [
    (3, [0, 1, 2, 4, 3], False),   # doubling passes at 4, halving back finds 3
    (4, [0, 1, 2, 4, 3], True),    # halving back ends on a miss: the file of 4 is written again
])
def test_prefixes_double_while_missing_then_halve_back_to_the_shortest_that_passes(needed, tried, rewrite):
    from pipeline.export import int8_search
    calls = []
    make, gate = _fake({f"l{i}" for i in range(needed)}, calls)
    found = int8_search.search(make, gate, lambda: SIX, [], [], 600, "m.pte")
    assert [len(c) for c in calls] == tried and found["rewrite"] is rewrite
    assert found["extra"] == [f"l{i}" for i in range(needed)] == found["record"]["kept_float"]
    assert found["record"]["outcome"] == "passed after search"


def test_the_whole_set_sibling_files_chose_is_tried_first():
    from pipeline.export import int8_search
    calls = []
    make, gate = _fake({"l4", "l5"}, calls)
    found = int8_search.search(make, gate, lambda: SIX, ["l5", "l4"], [], 600, "m.pte")
    assert calls[1] == ["l5", "l4"] and found["extra"] == ["l5", "l4"]


class _Outlier(nn.Module):
    """Two linears; the second's input has one channel 1000x the others (BERT's FFN outliers), so one per-tensor
    int8 scale wipes out the rest: it must rank first. The head is a QAHead and is never a candidate."""

    def __init__(self):
        super().__init__()
        from pipeline.export.export_model import QAHead
        torch.manual_seed(0)
        self.first, self.second, self.head = nn.Linear(16, 16), nn.Linear(16, 16), QAHead(16, 1)
        self.boost = torch.ones(16)
        self.boost[3] = 1000.0
        with torch.no_grad():
            self.second.weight[:, 3] = 0.0  # the outlier channel sets the scale but not the output

    def forward(self, x):
        h = self.second(self.first(x) * self.boost)
        return h[..., 0], h[..., 1]


@pytest.mark.parametrize("static", [False, True])
def test_sensitivity_ranks_the_layer_with_outlier_inputs_first(static):
    from pipeline.export import int8_search
    model = _Outlier()
    windows = [(torch.randn(1, 8, 16),) for _ in range(3)]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ranking = int8_search.sensitivity(model, windows, static)
    assert [r["module"] for r in ranking] == ["second", "first"]
    assert ranking[0]["error"] > 10 * ranking[1]["error"] > 0
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # weights restored


@pytest.fixture
def searched(four_bit):
    """The tiny student's files exported with the search on (tests/searched_exports.py's session fixture: its
    int8 files pass only once blocks.1.ffn2 is float, under a fixed ranking blocks.1.ffn2, blocks.0.ffn2,
    blocks.0.q), and the parity run on them."""
    return dict(four_bit, parity=json.loads((four_bit["parity"] / "parity.json").read_text()),
                rankings_made=four_bit["rankings"].count(None))


def test_export_search_keeps_the_needed_layer_float_and_records_why(searched):
    from pipeline.export import int8
    for fmt, ext in (("executorch", "pte"), ("tflite", "tflite")):
        sc = json.loads((searched["out"] / f"student.{fmt}.int8.{SEQ}.{ext}.json").read_text())
        rec = sc["int8_search"]
        assert rec["outcome"] == "passed after search" and rec["kept_float"] == ["blocks.1.ffn2"]
        assert [r["module"] for r in rec["ranking"]] == ["blocks.1.ffn2", "blocks.0.ffn2", "blocks.0.q"]
        assert rec["gate"]["passed"] and rec["trace"][0]["passed"] is False
        assert {"module": "blocks.1.ffn2", "reason": int8.SEARCH_REASON} in sc["quantization"]["kept_float"]
    # the LiteRT file the search left really has that layer in float and the others int8
    weights = _fc_weight_dtypes(searched["out"] / f"student.tflite.int8.{SEQ}.tflite")
    assert str(weights["1", "ffn2"]) == "float32" and str(weights["1", "ffn1"]) == "int8"


def test_the_second_file_reuses_the_ranking_and_the_first_file_s_choice(searched):
    assert searched["rankings_made"] == 1  # one window length, one kind of int8: ranked once
    rec = json.loads((searched["out"] / f"student.tflite.int8.{SEQ}.tflite.json").read_text())["int8_search"]
    # the first file's choice first, which passes: no second ranking, no halving below one layer
    assert [t["kept_float"] for t in rec["trace"]] == [[], ["blocks.1.ffn2"]] and rec["gate"]["passed"]


def test_parity_takes_the_export_gate_and_records_the_search(searched):
    checks = {c.get("file"): c for c in searched["parity"]["checks"]}
    row = checks[f"student.executorch.int8.{SEQ}.pte"]
    # parity's own gate here is lenient (drop 100): the row says what the export's gate found
    assert row["passed"] and "gated in export" in row["note"]
    assert row["int8_search"]["kept_float"][-1] == "blocks.1.ffn2" and row["int8_search"]["trace"]
    # PyTorch's scores on the int8 sets come from the export's gate (the fp32 files need only the sample)
    refs = {c["question_set"]: c for c in searched["parity"]["checks"] if c["format"] == "pytorch"}
    assert set(refs) >= {"dev", "dev_all"} and refs["dev_all"]["n"] == 12
    assert abs(refs["dev_all"]["f1"] - (row["f1"] - row["f1_delta"])) < 1e-9
    assert all("reference_scores" not in c for c in searched["parity"]["checks"])


def test_parity_gates_again_when_the_file_is_not_the_one_searched(searched, tmp_path):
    import shutil
    from pipeline.export import parity
    out = tmp_path / "export"
    shutil.copytree(searched["out"], out)
    side = out / f"student.executorch.int8.{SEQ}.pte.json"
    sc = json.loads(side.read_text())
    sc["int8_search"]["file_sha256"] = "0" * 64
    side.write_text(json.dumps(sc))
    old = out / f"student.tflite.int4.{SEQ}.tflite.json"  # gated before the gate pooled its two question sets
    sc = json.loads(old.read_text())
    del sc["int8_search"]["gate"]["pooled"]
    old.write_text(json.dumps(sc))
    cfg = _cfg(tmp_path, **{"export.min_agreement_quantized": 0.0, "export.int8_max_f1_drop": 100.0,
                            "export.int8_max_f1_drop_handwritten": 100.0})
    parity.run(cfg, _ctx(cfg, tmp_path, "parity", {"export": out, "qa_data": searched["data"],
                                                  "qa_finetune": searched["qa"]}))
    checks = {c.get("file"): c for c in json.loads((tmp_path / "results" / "parity.json").read_text())["checks"]}
    assert "gated in export" not in (checks[f"student.executorch.int8.{SEQ}.pte"]["note"] or "")
    assert "gated in export" not in (checks[f"student.tflite.int4.{SEQ}.tflite"]["note"] or "")
    assert checks[f"student.tflite.int4.{SEQ}.tflite"]["pooled"]["n"] == 12  # no natural set here: generated alone
    assert "gated in export" in checks[f"student.tflite.int8.{SEQ}.tflite"]["note"]


def test_the_int8_gate_pools_both_question_sets_with_their_standard_error():
    """F1 is a mean over questions, so the change over both sets is the size-weighted mean of the two changes;
    its standard error combines the sets' paired errors the same way."""
    from pipeline.export import parity
    row = {"f1_delta": -1.5, "n": 300, "f1_delta_se": 0.7,
           "handwritten": {"f1_delta": 1.0, "n": 100, "f1_delta_se": 0.9}}
    got = parity.pooled(row)
    assert got["n"] == 400 and abs(got["f1_delta"] - (-1.5 * 300 + 1.0 * 100) / 400) < 1e-12
    assert abs(got["f1_delta_se"] - ((0.7 * 300) ** 2 + (0.9 * 100) ** 2) ** 0.5 / 400) < 1e-12
    assert parity.pooled({"f1_delta": -2.0, "n": 50})["f1_delta"] == -2.0  # no natural set: the generated alone
    golds = {"a": ["red fox"], "b": ["blue"], "c": ["green"]}
    same = parity.paired_se({"a": "red fox", "b": "blue", "c": "x"}, {"a": "red fox", "b": "blue", "c": "x"}, golds)
    moved = parity.paired_se({"a": "red", "b": "blue", "c": "green"}, {"a": "red fox", "b": "blue", "c": "x"}, golds)
    assert same == 0.0 and moved > 0
