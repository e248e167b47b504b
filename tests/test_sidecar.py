"""The sidecar schema, its one window rule and the one keep-float parser that config and export share."""
from __future__ import annotations

import json

import pytest

from pipeline.config import UserError, load
from pipeline.core import registry
from pipeline.export import sidecar

EXAMPLE = {"model": "student", "format": "tflite", "backend": "tflite", "precision": "fp32", "seq_len": 128,
           "file": "student.tflite.fp32.128.tflite", "bytes": 16, "params": 10,
           "inputs": [{"name": "input_ids", "dtype": "int32", "shape": [1, 128]}],
           "outputs": [{"name": "start_logits", "dtype": "float32", "shape": [1, 128]}],
           "vocab_file": "student.vocab.txt", "do_lower_case": True, "uses_token_type_ids": False,
           "max_seq_length": 128, "max_query_length": 64, "doc_stride": 30, "max_answer_length": 30,
           "tflite_ops": ["FULLY_CONNECTED"], "sha256": "0" * 64}


def test_round_trip_keeps_every_key_and_value():
    sc = sidecar.Sidecar.from_json(dict(EXAMPLE), "x.json")
    assert sc.to_json() == EXAMPLE and sc.window.doc_stride == 30 and sc.extra["sha256"] == "0" * 64
    assert sc.input_names == ["input_ids"]


@pytest.mark.parametrize("change, message", [
    ({"doc_stride": 62}, "do not fit"),
    ({"max_seq_length": 64}, "differs from seq_len"),
    ({"seq_len": True}, "bad seq_len"),
    ({"inputs": "input_ids"}, "bad inputs"),
])
def test_bad_values_are_one_line(change, message):
    with pytest.raises(UserError, match=message):
        sidecar.Sidecar.from_json(EXAMPLE | change, "x.json")


def test_reader_names_the_file_and_what_is_missing(tmp_path):
    p = tmp_path / "a.tflite.json"
    p.write_text(json.dumps({k: v for k, v in EXAMPLE.items() if k not in ("model", "vocab_file")}))
    with pytest.raises(UserError, match=r"^apps: sidecar .*a.tflite.json lacks model, vocab_file$"):
        sidecar.read(p, "apps: ")
    p.write_text("{oops")
    with pytest.raises(UserError, match="is not valid JSON"):
        sidecar.read(p)
    with pytest.raises(UserError, match="its sidecar b.onnx.json is missing"):
        sidecar.read_for(tmp_path / "b.onnx")


def test_one_window_rule_for_export_config_and_readers():
    # export cuts the 384-token settings to fit 128 and the result passes the rule the readers apply
    qa = load("demo").qa
    w = sidecar.Window.fit(128, qa)
    assert w.as_dict() == {"max_seq_length": 128, "max_query_length": 64, "doc_stride": 30,
                           "max_answer_length": qa.max_answer_length}
    assert w.problem() is None and sidecar.Window.fit(384, qa).doc_stride == qa.doc_stride
    assert registry.window_problem(384, 64, 316) is None and "317" in registry.window_problem(384, 64, 317)
    # config refuses a stride the windows cannot advance with, by the same rule
    with pytest.raises(UserError, match="below qa.max_seq_length"):
        load("demo", {"qa.doc_stride": 320})


def test_one_keep_float_parser_for_config_and_export():
    from pipeline.export import int8
    assert registry.parse_keep_float("tflite:student:384:blocks.*.o") == (
        {"format": "tflite", "model": "student", "seq_len": "384"}, "blocks.*.o")
    for bad in ("student:tflite:blocks.0.o", "onnx:blocks.0.o", "384:student:x", "blocks..0", "0:blocks.0.o"):
        assert registry.parse_keep_float(bad) is None, bad
        with pytest.raises(UserError, match="int8_keep_float"):
            load("demo", {"export.int8_keep_float": [bad]})
    assert int8.kept_float(["executorch:blocks.0.o", "student:384:blocks.1.o"], "student", "executorch", 384) == \
        ["blocks.0.o", "blocks.1.o"]
