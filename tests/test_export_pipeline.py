"""Export, parity gate and host benchmark on tiny random QA models the tests build.

The exports are the slow part, so one module-scoped export stage run is shared by the
parity and benchmark tests.
"""
from __future__ import annotations

import json
import platform
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline import config
from pipeline.config import UserError
from pipeline.core.runs import StageContext
from conftest import tree_digest

REPO = Path(__file__).resolve().parent.parent
SEQ = 64
WORDS = ("the river city king war year born first name called model student teacher answer question "
         "passage network paper result speed size phone device kernel memory").split()


def _tiny_models(folder: Path) -> Path:
    from transformers import (BertConfig, BertForQuestionAnswering, BertTokenizerFast, DistilBertConfig,
                              DistilBertForQuestionAnswering)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "?"] + WORDS + ["##s", "##ed"]
    torch.manual_seed(0)
    models = {
        "teacher": BertForQuestionAnswering(BertConfig(
            vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=64, max_position_embeddings=128)),
        "student": DistilBertForQuestionAnswering(DistilBertConfig(
            vocab_size=len(vocab), dim=32, n_layers=2, n_heads=4, hidden_dim=64, max_position_embeddings=128)),
    }
    for name, model in models.items():
        d = folder / name
        model.save_pretrained(d)
        (d / "vocab.txt").write_text("\n".join(vocab) + "\n")
        BertTokenizerFast(vocab_file=str(d / "vocab.txt"), do_lower_case=True).save_pretrained(d)
    return folder


def _dev_json(path: Path, n: int = 12) -> Path:
    rng = random.Random(1)
    paras = []
    for i in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(10, 70))]  # some need two windows at 64
        context = " ".join(words) + "."
        a = rng.randrange(len(words) - 2)
        text = " ".join(words[a:a + 2])
        paras.append({"context": context, "qas": [{"id": f"q{i}", "question": f"what {words[a]} {rng.choice(WORDS)}?",
                                                   "answers": [{"text": text, "answer_start": context.index(text)}]}]})
    path.write_text(json.dumps({"version": "1.1", "data": [{"title": "tiny", "paragraphs": paras}]}))
    return path


def _cfg(tmp: Path, **over) -> config.Config:
    base = {"run.results_dir": str(tmp / "results"), "export.models": ["teacher", "student"],
            "export.seq_lens": [SEQ], "export.parity_examples": 12,
            "bench.models": ["teacher", "student"], "bench.seq_lens": [SEQ], "bench.iters": 3, "bench.warmup": 1,
            # the int8 tests' own keep-float lists (these tiny models have 2 layers)
            "export.int8_keep_float": ["student:blocks.0.ffn2"], "export.int8_static_keep_float": ["blocks.*.ffn2"]}
    base.update(over)
    return config.load("demo", base)


def _ctx(cfg, tmp: Path, name: str, inputs: dict) -> StageContext:
    out = tmp / name
    out.mkdir(parents=True, exist_ok=True)
    return StageContext(cfg, name, tmp, out, tmp / f".{name}.work", "test", inputs)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """fp32 in every format for teacher and student; int8, fp16 and the Core ML-delegated
    ExecuTorch program for the teacher only (exports are slow)."""
    from pipeline.export import export
    tmp = tmp_path_factory.mktemp("export")
    qa = _tiny_models(tmp / "qa_finetune")
    cfg = _cfg(tmp, **{"export.formats": ["coreml", "executorch", "tflite", "onnx"], "export.precisions": ["fp32"]})
    metrics = export.run(cfg, _ctx(cfg, tmp, "export", {"qa_finetune": qa}))
    arts = json.loads((tmp / "export" / "artifacts.json").read_text())
    int8 = _cfg(tmp, **{"export.formats": ["coreml", "executorch", "tflite", "executorch-coreml"],
                        "export.precisions": ["int8", "int8-static", "fp16"], "export.calibration_windows": 6,
                        "export.int8_keep_float": ["blocks.1.ffn2"],
                        "export.int8_static_keep_float": ["blocks.0.ffn2", "executorch:teacher:blocks.0.ffn1"],
                        "export.calibration_observer": "minmax"})
    from tqdm import tqdm
    from pipeline.data.qa_data import load_squad_file
    train = load_squad_file(_dev_json(tmp / "train.json", n=8), "reject")
    with tqdm(total=8, disable=True) as bar:
        extra, failures = export.export_model(int8, "teacher", qa / "teacher", tmp / "export", export.versions(),
                                              bar, train)
    before = tree_digest(tmp)
    yield {"tmp": tmp, "qa": qa, "out": tmp / "export", "cfg": cfg, "metrics": metrics, "arts": arts,
           "int8": extra, "int8_failures": failures}
    assert tree_digest(tmp) == before, "a test wrote into the shared export; give it its own tmp_path"


@pytest.mark.parametrize("kind", ["bert", "distilbert"])
@pytest.mark.parametrize("decompose", [False, True])
def test_export_forward_equals_transformers(tmp_path, kind, decompose):
    from pipeline.export.export_model import export_forward, load_qa
    qa = _tiny_models(tmp_path)
    hf = load_qa(qa / ("teacher" if kind == "bert" else "student"))
    fwd = export_forward(hf, decompose_layer_norm=decompose)
    args = fwd.example_inputs(SEQ)  # has padding, so the mask path is exercised
    assert int(args[1].sum()) < SEQ
    with torch.no_grad():
        ref = hf(**{n: a.long() for n, a in zip(fwd.input_names(), args)})
        start, end = fwd(*args)
    assert start.shape == end.shape == (1, SEQ)
    assert torch.allclose(start, ref.start_logits, atol=1e-5)
    assert torch.allclose(end, ref.end_logits, atol=1e-5)


def test_every_working_exporter_writes_file_and_sidecar(exported):
    out, arts = exported["out"], exported["arts"]
    from pipeline.core import results_schema
    assert results_schema.validate(arts) == []
    # Core ML w8a8 calibrates by predicting, which Core ML does on macOS only: off macOS it is planned out, not
    # attempted and recorded as a failure
    assert exported["int8_failures"] == []
    files = {a["file"] for a in arts["artifacts"] + exported["int8"]}
    assert (f"teacher.coreml.int8-static.{SEQ}.mlpackage" in files) == (platform.system() == "Darwin")
    expected = [f"{m}.{f}.fp32.{SEQ}.{ext}" for m in ("teacher", "student")
                for f, ext in (("executorch", "pte"), ("tflite", "tflite"), ("onnx", "onnx"), ("coreml", "mlpackage"))]
    expected += [f"teacher.executorch.int8.{SEQ}.pte", f"teacher.executorch.int8-static.{SEQ}.pte",
                 f"teacher.tflite.int8.{SEQ}.tflite", f"teacher.tflite.int8-static.{SEQ}.tflite",
                 f"teacher.coreml.int8.{SEQ}.mlpackage", f"teacher.tflite.fp16.{SEQ}.tflite", f"teacher.executorch-coreml.fp16.{SEQ}.pte"]
    assert set(expected) <= files, arts["failures"]
    for a in arts["artifacts"] + exported["int8"]:
        sc = json.loads((out / f"{a['file']}.json").read_text())
        names = [i["name"] for i in sc["inputs"]]
        assert names == (["input_ids", "attention_mask", "token_type_ids"] if a["model"] == "teacher"
                         else ["input_ids", "attention_mask"])
        assert all(i["dtype"] == "int32" and i["shape"] == [1, SEQ] for i in sc["inputs"])
        assert [o["name"] for o in sc["outputs"]] == ["start_logits", "end_logits"]
        assert (out / sc["vocab_file"]).is_file() and sc["do_lower_case"] is True
        assert len(sc["source_checkpoint"]["sha256"]) == 64 and "torch" in sc["exporter_versions"]
        assert sc["bytes"] > 0 and (out / a["file"]).exists()
    # int8 weights make the files smaller than fp32
    size = {a["file"]: a["bytes"] for a in arts["artifacts"] + exported["int8"]}
    assert size[f"teacher.tflite.int8.{SEQ}.tflite"] < size[f"teacher.tflite.fp32.{SEQ}.tflite"]
    assert size[f"teacher.executorch.int8.{SEQ}.pte"] < size[f"teacher.executorch.fp32.{SEQ}.pte"]
    assert size[f"teacher.executorch.int8-static.{SEQ}.pte"] < size[f"teacher.executorch.fp32.{SEQ}.pte"]
    assert size[f"teacher.tflite.int8-static.{SEQ}.tflite"] < size[f"teacher.tflite.fp32.{SEQ}.tflite"]
    assert size[f"teacher.coreml.int8.{SEQ}.mlpackage"] < size[f"teacher.coreml.fp32.{SEQ}.mlpackage"]


def test_int8_sidecar_records_calibration_and_layers_kept_float(exported):
    from pipeline.export import int8
    sc = json.loads((exported["out"] / f"teacher.executorch.int8-static.{SEQ}.pte.json").read_text())
    q = sc["precision"], sc["quantization"]
    assert q[0] == "int8-static" and q[1]["calibration"]["windows"] == 6
    # static keeps two more, one of them scoped to ExecuTorch's files (LiteRT's keep it int8: the test below)
    assert [k["module"] for k in q[1]["kept_float"]] == ["blocks.1.ffn2", "blocks.0.ffn2", "blocks.0.ffn1"]
    assert q[1]["kept_float"][0] == {"module": "blocks.1.ffn2", "reason": int8.KEEP_FLOAT_REASON}
    assert q[1]["calibration"]["observer"] == "minmax"
    dyn = json.loads((exported["out"] / f"teacher.executorch.int8.{SEQ}.pte.json").read_text())["quantization"]
    assert [k["module"] for k in dyn["kept_float"]] == ["blocks.1.ffn2"]
    assert "calibration" not in dyn and "dynamic" in dyn["activations"]
    assert "embedding_byte" in dyn["embeddings"] and "embedding_byte" in q[1]["embeddings"]
    tfl = json.loads((exported["out"] / f"teacher.tflite.int8-static.{SEQ}.tflite.json").read_text())["quantization"]
    assert tfl["calibration"]["windows"] == 6 and "calibrated" in tfl["activations"]
    from ai_edge_litert.interpreter import Interpreter
    outs = Interpreter(model_path=str(exported["out"] / f"teacher.tflite.int8-static.{SEQ}.tflite")).get_output_details()
    assert [np.dtype(d["dtype"]) for d in outs] == [np.float32, np.float32]  # the sidecar's float logits
    cm = json.loads((exported["out"] / f"teacher.coreml.int8.{SEQ}.mlpackage.json").read_text())["quantization"]
    assert "linear_quantize_weights" in cm["weights"] and cm["gate"].startswith("not run on host")


def _fc_weight_dtypes(path) -> dict:
    """{(block, layer): weight dtype} of a .tflite's FULLY_CONNECTED ops, named by their TFLite location; the QA
    heads (one output unit, named after whatever litert_torch fused first) under ("head", i)."""
    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_path=str(path))
    weights = {}
    for op in it._get_ops_details():
        w = it._get_tensor_details(op["inputs"][1], 0) if op["op_name"] == "FULLY_CONNECTED" else None
        if w is not None and w["shape"][0] == 1:
            weights["head", sum(k[0] == "head" for k in weights)] = np.dtype(w["dtype"])
        elif w is not None:
            where = it._get_tensor_details(op["outputs"][0], 0)["name"].split(";")[0]  # .../Block_1/...Linear_ffn2
            block, layer = (part.rsplit("_", 1)[-1] for part in where.split("/")[-2:])
            weights[block, layer] = np.dtype(it._get_tensor_details(op["inputs"][1], 0)["dtype"])
    return weights


@pytest.mark.parametrize("precision", ["int8", "int8-static"])
def test_litert_int8_leaves_the_kept_module_in_float(exported, precision):
    """export.int8_keep_float reaches LiteRT's int8 files too, dynamic and static: that one FFN projection keeps
    float32 weights, the block's other linears are int8, the sidecar says why; its twin in the other block stays
    float in the static file only (export.int8_static_keep_float), and blocks.0.ffn1, kept float for ExecuTorch
    alone (executorch:teacher:blocks.0.ffn1), stays int8 here."""
    from pipeline.export import int8
    path = exported["out"] / f"teacher.tflite.{precision}.{SEQ}.tflite"
    weights = _fc_weight_dtypes(path)
    twin = np.float32 if precision == "int8-static" else np.int8
    assert weights["head", 0] == weights["head", 1] == np.float32, weights  # as ExecuTorch's: they pick the answer
    assert weights["1", "ffn2"] == np.float32 and weights["0", "ffn2"] == twin, weights
    assert weights["1", "ffn1"] == np.int8 and weights["0", "ffn1"] == np.int8
    sc = json.loads(path.with_name(path.name + ".json").read_text())["quantization"]
    assert sc["kept_float"][0] == {"module": "blocks.1.ffn2", "reason": int8.KEEP_FLOAT_REASON}
    assert [k["module"] for k in sc["kept_float"]] == ["blocks.1.ffn2"] + (["blocks.0.ffn2"] if twin == np.float32 else [])


def test_calibration_windows_are_deterministic_train_windows(exported):
    from pipeline.data.qa_data import load_squad_file
    from pipeline.export import int8
    from pipeline.export.export_model import export_forward
    cfg = _cfg(exported["tmp"], **{"export.calibration_windows": 5})
    train = load_squad_file(exported["tmp"] / "train.json", "reject")
    module = export_forward(exported["qa"] / "teacher")
    a = int8.calibration_windows(cfg, exported["qa"] / "teacher", train, SEQ, module)
    b = int8.calibration_windows(cfg, exported["qa"] / "teacher", list(train), SEQ, module)
    assert len(a) == 5 and all(len(w) == 3 and w[0].shape == (1, SEQ) and w[0].dtype == torch.int32 for w in a)
    assert all(torch.equal(x, y) for wa, wb in zip(a, b) for x, y in zip(wa, wb))
    with pytest.raises(UserError, match="int8-static needs train questions"):
        int8.calibration_windows(cfg, exported["qa"] / "teacher", [], SEQ, module)


def test_int8_keep_float_names_a_real_module(exported, tmp_path):
    from pipeline.export import export, formats, int8
    from pipeline.export.export_model import export_forward
    cfg = _cfg(tmp_path, **{"export.int8_keep_float": ["blocks.9.ffn2"], "export.precisions": ["int8"]})
    with pytest.raises(UserError, match=r"export.int8_keep_float: no module \['blocks.9.ffn2'\] in teacher.*blocks.0.ffn2"):
        int8.quant_inputs(cfg, export.plan(cfg), "teacher", exported["qa"] / "teacher", [], SEQ,
                             export_forward(exported["qa"] / "teacher"))
    # student:blocks.9.ffn2 names a module of the student only: the teacher keeps none, and is not refused
    one = _cfg(tmp_path, **{"export.int8_keep_float": ["student:blocks.9.ffn2", "blocks.0.ffn2"], "export.precisions": ["int8"]})
    assert int8.kept_float(one.export.int8_keep_float, "teacher", "executorch") == ["blocks.0.ffn2"]
    assert int8.kept_float(one.export.int8_keep_float, "student", "tflite") == ["blocks.9.ffn2", "blocks.0.ffn2"]
    quant = int8.quant_inputs(one, export.plan(one), "teacher", exported["qa"] / "teacher", [], SEQ,
                                 export_forward(exported["qa"] / "teacher"))
    assert quant["keep_float"] == {"executorch": ["blocks.0.ffn2"], "tflite": ["blocks.0.ffn2"]}
    # tflite:name keeps it in LiteRT's files only, tflite:student:name in the student's LiteRT files only
    scoped = ["tflite:blocks.1.ffn2", "tflite:student:blocks.0.ffn1", "executorch:teacher:blocks.0.o"]
    assert int8.kept_float(scoped, "teacher", "tflite") == ["blocks.1.ffn2"]
    assert int8.kept_float(scoped, "student", "tflite") == ["blocks.1.ffn2", "blocks.0.ffn1"]
    assert int8.kept_float(scoped, "teacher", "executorch") == ["blocks.0.o"]
    assert int8.kept_float(scoped, "student", "executorch") == []
    # 384:name keeps it in one window length's files only, so a fix for one file need not cost its twin
    by_len = ["tflite:student:384:blocks.0.o", "128:blocks.1.ffn2"]
    assert int8.kept_float(by_len, "student", "tflite", 384) == ["blocks.0.o"]
    assert int8.kept_float(by_len, "student", "tflite", 128) == ["blocks.1.ffn2"]
    assert int8.kept_float(by_len, "teacher", "tflite", 384) == []
    by_seq = _cfg(tmp_path, **{"export.int8_keep_float": [f"{SEQ}:blocks.1.ffn2", "999:blocks.0.o"],
                               "export.precisions": ["int8"]})
    quant = int8.quant_inputs(by_seq, export.plan(by_seq), "teacher", exported["qa"] / "teacher", [], SEQ,
                              export_forward(exported["qa"] / "teacher"))
    assert quant["keep_float"]["tflite"] == ["blocks.1.ffn2"]
    # int8_static_keep_float adds modules for int8-static only
    two = _cfg(tmp_path, **{"export.int8_keep_float": ["blocks.0.ffn2"], "export.precisions": ["int8"],
                            "export.int8_static_keep_float": ["blocks.1.ffn2", "blocks.0.ffn2"]})
    quant = int8.quant_inputs(two, export.plan(two), "teacher", exported["qa"] / "teacher", [], SEQ,
                                 export_forward(exported["qa"] / "teacher"))
    assert formats.kept_modules(quant, "int8", "tflite") == ["blocks.0.ffn2"]
    assert formats.kept_modules(quant, "int8-static", "tflite") == ["blocks.0.ffn2", "blocks.1.ffn2"]
    every = _cfg(tmp_path, **{"export.int8_static_keep_float": ["blocks.*.ffn2"], "export.precisions": ["int8"]})
    quant = int8.quant_inputs(every, export.plan(every), "teacher", exported["qa"] / "teacher", [], SEQ,
                                 export_forward(exported["qa"] / "teacher"))
    assert quant["keep_float_static"]["executorch"] == ["blocks.0.ffn2", "blocks.1.ffn2"]  # '*' is one dotted part
    bad = _cfg(tmp_path, **{"export.int8_static_keep_float": ["blocks.9.ffn1"], "export.precisions": ["int8"]})
    with pytest.raises(UserError, match=r"export.int8_static_keep_float: no module \['blocks.9.ffn1'\]"):
        int8.quant_inputs(bad, export.plan(bad), "teacher", exported["qa"] / "teacher", [], SEQ, export_forward(exported["qa"] / "teacher"))


def test_xnnpack_takes_every_heavy_op(exported):
    sc = json.loads((exported["out"] / f"teacher.executorch.fp32.{SEQ}.pte.json").read_text())
    by_op = sc["delegation"]["by_op"]
    for op in ("linear", "bmm", "softmax", "gelu", "mean"):
        hits = [v for k, v in by_op.items() if op in k]
        assert hits and all(v["not_delegated"] == 0 for v in hits), (op, by_op)


def test_failed_converter_keeps_other_formats(tmp_path, monkeypatch):
    from pipeline.export import export
    qa = _tiny_models(tmp_path / "qa")

    def broken(*a, **k):
        raise RuntimeError("converter exploded")

    from pipeline.export.formats import litert
    monkeypatch.setattr(litert.PLUGIN, "convert", broken)
    cfg = _cfg(tmp_path, **{"export.models": ["student"], "export.formats": ["tflite", "onnx"],
                            "export.precisions": ["fp32"]})
    metrics = export.run(cfg, _ctx(cfg, tmp_path, "export", {"qa_finetune": qa}))
    arts = json.loads((tmp_path / "results" / "artifacts.json").read_text())
    assert metrics == {"artifacts": 1, "failures": 1}
    assert [a["format"] for a in arts["artifacts"]] == ["onnx"]
    assert "converter exploded" in arts["failures"][0]["error"]
    assert not list((tmp_path / "export").glob("*.tflite"))


@pytest.mark.skipif(platform.system() == "Darwin", reason="a Mac makes Core ML int8-static")
def test_what_the_host_cannot_make_is_planned_out_in_one_line_not_failed(tmp_path, capsys):
    from pipeline.export import export
    qa = _tiny_models(tmp_path / "qa")
    cfg = _cfg(tmp_path, **{"export.models": ["student"], "export.formats": ["coreml", "onnx"],
                            "export.precisions": ["fp32", "int8-static"]})
    assert export.plan(cfg) == [("coreml", "fp32"), ("onnx", "fp32")]
    metrics = export.run(cfg, _ctx(cfg, tmp_path, "export", {"qa_finetune": qa}))
    err = capsys.readouterr().err
    assert metrics == {"artifacts": 2, "failures": 0} and "FAILED" not in err and "failed" not in err
    said = [line for line in err.splitlines() if "not made on this host" in line]
    assert said == [f"export: not made on this host: coreml int8-static (1 file): {export.formats.plugin('coreml').cannot_make('int8-static')}"]
    assert "macOS only" in said[0]
    arts = json.loads((tmp_path / "results" / "artifacts.json").read_text())
    assert arts["failures"] == [] and [(n["format"], n["precision"]) for n in arts["not_made"]] == [("coreml", "int8-static")]
    only = _cfg(tmp_path, **{"export.formats": ["coreml"], "export.precisions": ["int8-static"]})
    with pytest.raises(UserError, match="can make none of the files asked for: coreml int8-static: .*macOS only"):
        export.plan(only)


def test_export_rejects_unknown_format(tmp_path):
    with pytest.raises(UserError, match="export.formats: unknown 'caffe'"):
        _cfg(tmp_path, **{"export.formats": ["caffe"]})


def test_parity_passes_and_marks_coreml_not_run(exported, tmp_path):
    from pipeline.export import parity
    from pipeline.core import results_schema
    tmp = tmp_path
    dev = tmp / "qa_data"
    dev.mkdir(exist_ok=True)
    _dev_json(dev / "dev.json")
    cfg = _cfg(tmp, **{"export.min_agreement_quantized": 0.5})  # random tiny weights: int8 may flip ties
    parity.run(cfg, _ctx(cfg, tmp, "parity", {"export": exported["out"], "qa_data": dev,
                                             "qa_finetune": exported["qa"]}))
    res = json.loads((tmp / "results" / "parity.json").read_text())
    assert results_schema.validate(res) == []
    checks = {(c["model"], c["format"], c["precision"]): c for c in res["checks"]}
    for model in ("teacher", "student"):
        for fmt in ("executorch", "tflite", "onnx"):
            c = checks[(model, fmt, "fp32")]
            assert c["ran"] and c["passed"] and c["max_abs_diff"] <= 1e-4 and c["answer_agreement"] == 1.0
        cm = checks[(model, "coreml", "fp32")]
        assert cm["ran"] is False and cm["passed"] and "not run" in cm["note"] and "matches" in cm["note"]
    for fmt, prec in (("executorch", "int8"), ("executorch", "int8-static"), ("tflite", "int8"),
                      ("tflite", "int8-static")):
        c = checks[("teacher", fmt, prec)]
        # int8 is gated on F1 over every dev question (12 here), not on agreement
        assert c["ran"] and c["passed"] and c["n"] == 12 and c["answer_agreement"] is not None, c
    assert checks[("teacher", "tflite", "fp16")]["ran"]
    et_coreml = checks[("teacher", "executorch", "fp16")]
    assert et_coreml["backend"] == "coreml" and et_coreml["ran"] is False and "not run" in et_coreml["note"]


def test_parity_gate_fails_with_clear_message(exported, tmp_path):
    from pipeline.export import parity
    dev = tmp_path / "qa_data"
    dev.mkdir()
    _dev_json(dev / "dev.json", n=4)
    cfg = _cfg(tmp_path, **{"export.max_abs_diff_fp32": 1e-12, "export.min_agreement_quantized": 0.0})
    with pytest.raises(UserError, match=r"parity gate failed .*max abs logit diff"):
        parity.run(cfg, _ctx(cfg, tmp_path, "parity", {"export": exported["out"], "qa_data": dev,
                                                      "qa_finetune": exported["qa"]}))
    assert json.loads((tmp_path / "results" / "parity.json").read_text())["checks"]


def _self_answered(exported, path: Path) -> None:
    """Gold answers replaced by the fp32 teacher's own, so that its F1 is 100 (a random tiny
    model scores about 0 on real gold answers, and nothing could score below it)."""
    from transformers import AutoTokenizer
    from pipeline.export import parity
    from pipeline.export.export_model import load_qa
    sc = json.loads((exported["out"] / f"teacher.executorch.fp32.{SEQ}.pte.json").read_text())
    examples = parity.load_dev(path, 0)
    feats = parity.windows(AutoTokenizer.from_pretrained(str(exported["qa"] / "teacher")), examples, sc)
    start, end = parity.reference_logits(load_qa(exported["qa"] / "teacher"), feats)
    preds = parity.predictions(examples, feats, start, end, sc, 20)
    doc = json.loads(path.read_text())
    for para in doc["data"][0]["paragraphs"]:
        for qa in para["qas"]:
            text = preds[qa["id"]] or para["context"].split()[0]
            qa["answers"] = [{"text": text, "answer_start": para["context"].index(text)}]
    path.write_text(json.dumps(doc))


def test_int8_gate_fails_on_broken_quantization_with_one_line(exported, tmp_path, monkeypatch, capsys):
    """A runner whose logits are negated stands for a quantization that broke the model: the accuracy
    gate catches it on the dev set and on the natural set (natural_dev.json over handwritten.json),
    and records it without failing the stage: the apps stage keeps the artifact out."""
    import numpy as np
    from pipeline.export import parity, runtimes
    dev = tmp_path / "qa_data"
    dev.mkdir()
    _self_answered(exported, _dev_json(dev / "dev.json", n=12))
    _self_answered(exported, _dev_json(dev / "natural_dev.json", n=6))
    _dev_json(dev / "handwritten.json", n=3)  # the apps' demo content, not the gate's set when natural_dev exists
    real = runtimes.load

    def broken_int8(path, threads=1, sidecar=None):
        runner, sc = real(path, threads, sidecar)
        if sc["precision"] != "int8-static" or sc["format"] != "executorch":
            return runner, sc
        return (lambda feed: tuple(-np.asarray(x) for x in runner(feed))), sc  # every ranking inverted

    monkeypatch.setattr(runtimes, "load", broken_int8)
    cfg = _cfg(tmp_path, **{"export.min_agreement_quantized": 0.0})
    parity.run(cfg, _ctx(cfg, tmp_path, "parity", {"export": exported["out"], "qa_data": dev,
                                                  "qa_finetune": exported["qa"]}))
    res = json.loads((tmp_path / "results" / "parity.json").read_text())
    failed = {c["file"]: c for c in res["checks"] if not c["passed"]}
    assert {c["precision"] for c in failed.values()} <= {"int8", "int8-static"}  # the stage went on
    broken = failed[f"teacher.executorch.int8-static.{SEQ}.pte"]  # (a random tiny int8 may miss too)
    note = broken["note"]
    assert "\n" not in note and "generated dev + natural_dev F1" in note and "; natural_dev F1" in note
    assert res["natural_set"] == "natural_dev" and broken["handwritten"]["n"] == 6
    assert broken["handwritten"]["f1_delta"] < -2 and broken["handwritten"]["f1_delta_se"] > 0
    # the gate's change is over all 18 questions: the two sets' changes weighted by their sizes
    pooled = (12 * broken["f1_delta"] + 6 * broken["handwritten"]["f1_delta"]) / 18
    assert broken["pooled"]["n"] == 18 and abs(broken["pooled"]["f1_delta"] - pooled) < 1e-9
    said = [line for line in capsys.readouterr().err.splitlines() if "FAIL" in line]
    assert len(said) == len(failed) and any(f"teacher.executorch.int8-static.{SEQ}.pte" in s for s in said)


@pytest.mark.parametrize("text, message", [
    ('{"data": [{"paragraphs": [{"qas": []}]}', "not valid JSON"),
    ('{"version": "1.1"}', "not SQuAD v1.1 JSON"),
    ('{"data": [{"paragraphs": [{"context": "abc", "qas": [{"id": "q", "question": "?", "answers": []}]}]}]}',
     "missing or empty 'answers'"),
])
def test_parity_rejects_malformed_dev_set(exported, tmp_path, text, message):
    """The dev set is read by the same SQuAD reader as fine-tuning, with its messages."""
    from pipeline.export import parity
    (tmp_path / "dev.json").write_text(text)
    cfg = _cfg(tmp_path)
    with pytest.raises(UserError, match=f"parity: QA dev set: .*{message}"):
        parity.run(cfg, _ctx(cfg, tmp_path, "parity", {"export": exported["out"], "qa_data": tmp_path,
                                                      "qa_finetune": exported["qa"]}))


def test_benchmark_json_matches_schema(exported, capsys, tmp_path):
    from pipeline.bench import bench_host
    from pipeline.core import results_schema
    tmp = tmp_path
    cfg = _cfg(tmp, **{"bench.runtimes": ["pytorch", "executorch", "tflite", "onnx"]})
    bench_host.run(cfg, _ctx(cfg, tmp, "bench_host", {"export": exported["out"], "qa_finetune": exported["qa"]}))
    res = json.loads((tmp / "results" / "host" / "host_demo.json").read_text())
    assert results_schema.validate(res) == []
    assert res["source"] == "host" and res["device"]["threads"] == 1
    got = {(e["runtime"], e["model"], e["precision"]) for e in res["entries"]}
    for rt in ("pytorch", "executorch", "litert", "onnxruntime"):
        assert {(rt, "teacher", "fp32"), (rt, "student", "fp32")} <= got
    assert all(e["stats"]["n"] == 3 for e in res["entries"])
    assert "teacher/student" in capsys.readouterr().out


def test_bench_cli_help_and_bad_folder(tmp_path):
    script = str(REPO / "pipeline" / "bench" / "bench_host.py")
    ok = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "--embedded-demo" in ok.stdout
    bad = subprocess.run([sys.executable, script, "--artifacts", str(tmp_path / "nope"), "--bench.runtimes", "onnx"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1].startswith("error: folder not found")


def test_bench_stats_are_ordered():
    from pipeline.bench.bench_host import stats
    s = stats([5.0, 1.0, 3.0, 100.0, 2.0, 4.0, 3.0, 2.5, 3.5, 2.0], trim=0.1)
    assert s["n"] == 10 and s["min_ms"] == 1.0 and s["max_ms"] == 100.0
    assert s["min_ms"] <= s["median_ms"] <= s["p90_ms"] <= s["max_ms"]
    assert s["trimmed_mean_ms"] < s["mean_ms"]  # the 100 ms outlier is cut
    assert np.isclose(s["trimmed_mean_ms"], np.mean([2.0, 2.0, 2.5, 3.0, 3.0, 3.5, 4.0, 5.0]))


def _app_sidecar_keys() -> set:
    """The sidecar fields the Java and Swift ModelSpec parsers read."""
    import re
    java = (REPO / "mobile/android/qacore/src/main/java/org/distilkit/qa/ModelSpec.java").read_text()
    swift = (REPO / "mobile/ios/QACore/Sources/QACore/ModelSpec.swift").read_text()
    keys = set(re.findall(r'(?:str|num)\(m, "(\w+)"', java)) | set(re.findall(r'm\.(?:get|containsKey)\("(\w+)"\)', java))
    keys |= set(re.findall(r"\braw\.(\w+)", swift))
    assert {"model", "seq_len", "vocab_file", "inputs"} <= keys, "the ModelSpec parsers changed shape; update this test"
    return keys


def test_sidecar_example_has_what_the_export_writes(exported, tmp_path):
    """mobile/fixtures/sidecar_example.json, which the app ports are tested on, against a sidecar the
    export really wrote and the apps stage staged (it adds the artifact's sha256): the same fields
    with the same JSON types (one extra field in the example shows the apps skip what they do not
    know), and every field the apps read is written (strip_accents, tokenize_chinese_chars and the
    old name 'vocab' are optional, with defaults)."""
    from pipeline.devices import stage_apps
    example = json.loads((REPO / "mobile" / "fixtures" / "sidecar_example.json").read_text())
    picked = stage_apps.choose(stage_apps.read_sidecars(exported["out"]), ["student"], ["fp32"], SEQ)
    picked = {"android": [m for m in picked["android"] if m["format"] == "tflite"]}
    stage_apps.stage(exported["out"], picked, {"android": tmp_path / "models"})
    real = json.loads((tmp_path / "models" / f"student.tflite.fp32.{SEQ}.tflite.json").read_text())
    skipped_by_apps = {"max_abs_diff"}
    assert set(example) - skipped_by_apps == set(real)
    for key, value in real.items():
        assert type(example[key]) is type(value), key
        if isinstance(value, list) and value and isinstance(value[0], dict):
            assert [set(v) for v in example[key]] == [set(v) for v in value], key
    assert _app_sidecar_keys() - {"strip_accents", "tokenize_chinese_chars", "vocab"} <= set(real)


def test_minmax_observer_replaces_the_static_activation_observers():
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import get_symmetric_quantization_config
    from torchao.quantization.pt2e.observer import HistogramObserver, MinMaxObserver
    from pipeline.export import formats
    base = get_symmetric_quantization_config(is_per_channel=True, is_dynamic=False)
    assert formats.base.with_observer(base, "histogram") is base
    mm = formats.base.with_observer(base, "minmax")
    for spec in (mm.input_activation, mm.output_activation):
        assert spec.observer_or_fake_quant_ctr.p.func is MinMaxObserver and spec.qscheme == torch.per_tensor_affine
    assert base.input_activation.observer_or_fake_quant_ctr.p.func is HistogramObserver
    assert mm.weight == base.weight
