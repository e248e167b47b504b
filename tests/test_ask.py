"""distilkit-ask on tiny random QA models the tests build and export: one answer whichever form the
model takes (checkpoint folder, .pte, .tflite, .onnx), and one error line for every bad input."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import ask

REPO = Path(__file__).resolve().parent.parent
SEQ = 64
WORDS = ("the river city king war year born first name called model student teacher answer question "
         "passage network paper result speed size phone device kernel memory bridge town built").split()
QUESTION = "which town built the bridge?"
# Long enough for several windows of 64 tokens, so the overlap and the cross-window decoding are exercised.
CONTEXT = ("The river city was born in the first year of the war. The king called the model a student. "
           "The town built the bridge. " * 4 + "The phone has a fast kernel and a small memory.")


@pytest.fixture(scope="session")
def tiny_qa(tmp_path_factory):
    """Random-weight DistilBERT (student) and BERT (teacher) QA checkpoints with a real WordPiece
    tokenizer, and the student exported to ExecuTorch, LiteRT and ONNX, the teacher to ONNX."""
    import torch
    from tqdm import tqdm
    from transformers import (BertConfig, BertForQuestionAnswering, BertTokenizerFast, DistilBertConfig,
                              DistilBertForQuestionAnswering)
    from pipeline import config
    from pipeline.export import export
    root = tmp_path_factory.mktemp("ask")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "?"] + sorted(set(WORDS)) + ["##s", "##ed"]
    # Built from the vocabulary dict: BertTokenizerFast(vocab_file=...) keeps only the special tokens in transformers 5.
    tok = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True)
    torch.manual_seed(0)
    models = {
        "student": DistilBertForQuestionAnswering(DistilBertConfig(
            vocab_size=len(vocab), dim=32, n_layers=2, n_heads=4, hidden_dim=64, max_position_embeddings=128)),
        "teacher": BertForQuestionAnswering(BertConfig(
            vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=64, max_position_embeddings=128)),
    }
    for name, model in models.items():
        model.save_pretrained(root / "qa" / name)
        tok.save_pretrained(root / "qa" / name)
    out = root / "export"
    out.mkdir()
    cfg = config.load("demo", {"export.seq_lens": [SEQ], "export.precisions": ["fp32"],
                               "export.formats": ["executorch", "tflite", "onnx"]})
    failures = []
    with tqdm(total=4, disable=True) as bar:
        failures += export.export_model(cfg, "student", root / "qa" / "student", out, export.versions(), bar)[1]
        cfg.export.formats = ["onnx"]
        failures += export.export_model(cfg, "teacher", root / "qa" / "teacher", out, export.versions(), bar)[1]
    assert not failures, failures
    return {"root": root, "qa": root / "qa", "export": out}


def _art(tiny_qa, model: str, fmt: str, ext: str) -> Path:
    return tiny_qa["export"] / f"{model}.{fmt}.fp32.{SEQ}.{ext}"


def run_main(capsys, *args) -> tuple[int, str, str]:
    rc = ask.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def ask_json(capsys, model, *extra, question=QUESTION, context=CONTEXT):
    rc, out, err = run_main(capsys, "--model", model, "--question", question, "--context", context,
                            "--seq-len", SEQ, "--json", *extra)
    assert rc == 0, err
    assert err == ""  # quiet: no third-party lines on a good run
    return json.loads(out)


# ------------------------------------------------------------------ answers agree


def test_folder_and_every_artifact_give_the_same_answer(tiny_qa, capsys):
    ref = ask_json(capsys, tiny_qa["qa"] / "student", "--top-k", "3")
    assert ref["windows"] >= 2 and ref["seq_len"] == SEQ and ref["answer"]
    assert CONTEXT[ref["start_char"]:ref["end_char"]] == ref["answer"]
    assert len(ref["candidates"]) == 3 and ref["candidates"][0]["score"] == ref["score"]
    for fmt, ext in (("executorch", "pte"), ("tflite", "tflite"), ("onnx", "onnx")):
        got = ask_json(capsys, _art(tiny_qa, "student", fmt, ext), "--top-k", "3", "--threads", "1")
        assert got["windows"] == ref["windows"] and got["runtime"].split()[0] in ("executorch", "ai-edge-litert", "onnxruntime")
        assert [c["text"] for c in got["candidates"]] == [c["text"] for c in ref["candidates"]], fmt
        assert got["score"] == pytest.approx(ref["score"], abs=1e-4), fmt


def test_bert_teacher_with_token_types_agrees(tiny_qa, capsys):
    ref = ask_json(capsys, tiny_qa["qa"] / "teacher")
    got = ask_json(capsys, _art(tiny_qa, "teacher", "onnx", "onnx"))
    assert (got["answer"], got["start_char"]) == (ref["answer"], ref["start_char"])
    assert got["score"] == pytest.approx(ref["score"], abs=1e-4)


def test_answers_match_the_reference_decoding(tiny_qa):
    """The command's answer is decode_spans over prepare_features windows: recompute it by hand."""
    import torch
    from pipeline.export.export_model import load_qa
    from pipeline.data.qa_features import decode_spans, prepare_features
    from transformers import AutoTokenizer
    folder = tiny_qa["qa"] / "student"
    model = ask.open_model(folder, SEQ)
    got = ask.answer(model, QUESTION, CONTEXT, top_k=5)
    w = model.window
    tok, hf = AutoTokenizer.from_pretrained(str(folder)), load_qa(folder)
    f = prepare_features(tok, [QUESTION], [CONTEXT], max_seq_length=SEQ, doc_stride=w["doc_stride"],
                         max_query_length=w["max_query_length"], token_type_ids=False, pad=True)
    with torch.no_grad():
        out = hf(input_ids=torch.tensor(f["input_ids"]), attention_mask=torch.tensor(f["attention_mask"]))
    spans = decode_spans(out.start_logits.numpy(), out.end_logits.numpy(), f["offset_mapping"], CONTEXT)
    assert [s["text"] for s in got["candidates"]] == [s["text"] for s in spans[:5]]


def test_text_output_and_context_file(tiny_qa, capsys, tmp_path):
    ctx = tmp_path / "passage.txt"
    ctx.write_text(CONTEXT, encoding="utf-8")
    rc, out, err = run_main(capsys, "--model", _art(tiny_qa, "student", "onnx", "onnx"), "--question", QUESTION,
                            "--context-file", ctx, "--top-k", "2")
    assert rc == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith("answer: ") and lines[1].startswith("score: ") and lines[2].startswith("  2. ")
    assert lines[3].startswith("latency: ") and " windows of 64 tokens, onnxruntime" in lines[3]


def test_sidecar_path_is_accepted_for_its_artifact(tiny_qa, capsys):
    art = _art(tiny_qa, "student", "tflite", "tflite")
    assert ask_json(capsys, Path(f"{art}.json"))["model"] == str(art)


# ------------------------------------------------------------------ bad input: one line, exit 2


@pytest.fixture(scope="session")
def broken(tiny_qa, tmp_path_factory):
    """Copies of the artifacts cut short, a malformed sidecar, a folder without a model."""
    d = tmp_path_factory.mktemp("broken")
    src = tiny_qa["export"]
    for fmt, ext in (("executorch", "pte"), ("tflite", "tflite"), ("onnx", "onnx")):
        name = f"student.{fmt}.fp32.{SEQ}.{ext}"
        (d / name).write_bytes((src / name).read_bytes()[:2000])
        (d / f"{name}.json").write_text((src / f"{name}.json").read_text())
    (d / "student.vocab.txt").write_text((src / "student.vocab.txt").read_text())
    good = f"student.onnx.fp32.{SEQ}.onnx"
    for case, sidecar in (("badjson", "{not json"), ("nokeys", json.dumps({"format": "onnx"}))):
        case_dir = d / case
        case_dir.mkdir()
        (case_dir / good).write_bytes((src / good).read_bytes())
        (case_dir / f"{good}.json").write_text(sidecar)
    nosidecar = d / "nosidecar"
    nosidecar.mkdir()
    (nosidecar / good).write_bytes((src / good).read_bytes())
    (d / "empty_folder").mkdir()
    (d / "weights_missing").mkdir()
    (d / "weights_missing" / "config.json").write_text((tiny_qa["qa"] / "student" / "config.json").read_text())
    mlm = d / "mlm_checkpoint"
    mlm.mkdir()
    conf = json.loads((tiny_qa["qa"] / "student" / "config.json").read_text())
    (mlm / "config.json").write_text(json.dumps(conf | {"architectures": ["DistilBertForMaskedLM"]}))
    coreml = d / "coreml"
    coreml.mkdir()
    (coreml / f"student.coreml.fp32.{SEQ}.mlpackage").mkdir()
    sc = json.loads((src / f"{good}.json").read_text()) | {"format": "coreml", "backend": "coreml"}
    (coreml / f"student.coreml.fp32.{SEQ}.mlpackage.json").write_text(json.dumps(sc))
    (coreml / "student.vocab.txt").write_text((src / "student.vocab.txt").read_text())
    strides = d / "strides"
    strides.mkdir()
    (strides / good).write_bytes((src / good).read_bytes())
    (strides / f"{good}.json").write_text(json.dumps(json.loads((src / f"{good}.json").read_text()) | {"doc_stride": 60}))
    (strides / "student.vocab.txt").write_text((src / "student.vocab.txt").read_text())
    (d / "context.bin").write_bytes(b"\xff\xfe\x00bad")
    (d / "notes.txt").write_text("not a model")
    return d


def _bad_cases(tiny_qa, broken):
    onnx = _art(tiny_qa, "student", "onnx", "onnx")
    good = f"student.onnx.fp32.{SEQ}.onnx"
    q, c = ["--question", QUESTION], ["--context", CONTEXT]
    return {
        "missing path": (["--model", broken / "nope", *q, *c], "model not found"),
        "folder without a model": (["--model", broken / "empty_folder", *q, *c], "has no model"),
        "export folder named": (["--model", tiny_qa["export"], *q, *c], "holds exported artifacts"),
        "config without weights": (["--model", broken / "weights_missing", *q, *c], "cannot load the checkpoint"),
        "masked-LM checkpoint": (["--model", broken / "mlm_checkpoint", *q, *c], "not a question-answering one"),
        "core ml on linux": (["--model", broken / "coreml" / f"student.coreml.fp32.{SEQ}.mlpackage", *q, *c],
                             "no coreml runtime"),
        "sidecar windows do not fit": (["--model", broken / "strides" / good, *q, *c], "do not fit"),
        "not a model file": (["--model", broken / "notes.txt", *q, *c], "neither a checkpoint folder"),
        "truncated pte": (["--model", broken / f"student.executorch.fp32.{SEQ}.pte", *q, *c], "cannot load"),
        "truncated tflite": (["--model", broken / f"student.tflite.fp32.{SEQ}.tflite", *q, *c], "cannot load"),
        "truncated onnx": (["--model", broken / good, *q, *c], "cannot load"),
        "malformed sidecar": (["--model", broken / "badjson" / good, *q, *c], "not valid JSON"),
        "sidecar lacks fields": (["--model", broken / "nokeys" / good, *q, *c], "lacks model, backend"),
        "sidecar missing": (["--model", broken / "nosidecar" / good, *q, *c], "sidecar .* is missing"),
        "wrong seq len for artifact": (["--model", onnx, *q, *c, "--seq-len", "128"], "takes windows of 64"),
        "seq len beyond the model": (["--model", tiny_qa["qa"] / "student", *q, *c, "--seq-len", "4096"], "8..128"),
        "missing context file": (["--model", onnx, *q, "--context-file", broken / "nope.txt"], "context file not found"),
        "binary context file": (["--model", onnx, *q, "--context-file", broken / "context.bin"], "not UTF-8"),
        "empty question": (["--model", onnx, "--question", "  ", *c], "question is empty"),
        "empty context": (["--model", onnx, *q, "--context", " \n"], "context is empty"),
        "no context at all": (["--model", onnx, *q], "one of the arguments --context --context-file is required"),
        "both contexts": (["--model", onnx, *q, *c, "--context-file", broken / "notes.txt"], "not allowed with"),
        "no model option": ([*q, *c], "required: --model"),
        "bad top-k": (["--model", onnx, *q, *c, "--top-k", "0"], "--top-k must be at least 1"),
        "bad threads": (["--model", onnx, *q, *c, "--threads", "two"], "--threads must be an integer"),
    }


CASES = ["missing path", "folder without a model", "export folder named", "config without weights", "not a model file",
         "masked-LM checkpoint", "core ml on linux", "sidecar windows do not fit",
         "truncated pte", "truncated tflite", "truncated onnx", "malformed sidecar", "sidecar lacks fields",
         "sidecar missing", "wrong seq len for artifact", "seq len beyond the model", "missing context file",
         "binary context file", "empty question", "empty context", "no context at all", "both contexts",
         "no model option", "bad top-k", "bad threads"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_error_line(tiny_qa, broken, capfd, case):
    args, message = _bad_cases(tiny_qa, broken)[case]
    rc = ask.main([str(a) for a in args])
    out, err = capfd.readouterr()  # file descriptors too: a C++ runtime's own log line would show here
    assert rc == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    import re
    assert re.search(message, err), err


def test_cases_cover_the_catalogue(tiny_qa, broken):
    assert sorted(_bad_cases(tiny_qa, broken)) == sorted(CASES)


def _subprocess(*args):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "pipeline.ask", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=300)


def test_module_entry_point_truncated_pte_and_good_answer(tiny_qa, broken):
    bad = _subprocess("--model", broken / f"student.executorch.fp32.{SEQ}.pte", "--question", QUESTION,
                      "--context", CONTEXT)
    assert bad.returncode == 2 and bad.stdout == ""
    assert len(bad.stderr.splitlines()) == 1 and bad.stderr.startswith("error: cannot load"), bad.stderr
    good = _subprocess("--model", _art(tiny_qa, "student", "executorch", "pte"), "--question", QUESTION,
                       "--context", CONTEXT, "--json")
    assert good.returncode == 0 and good.stderr == "", good.stderr  # no torchao / pytree lines on import
    assert json.loads(good.stdout)["windows"] >= 2


def test_help_is_clear():
    res = _subprocess("--help")
    assert res.returncode == 0 and res.stderr == ""
    for word in ("--model", "--question", "--context", "--context-file", "--seq-len", "--threads", "--top-k",
                 ".pte", ".tflite", ".onnx", "sidecar"):
        assert word in res.stdout


def test_console_script_is_declared():
    import tomllib
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["distilkit-ask"] == "pipeline.ask:main"


def test_a_checkpoint_uses_the_window_settings_its_run_recorded(tiny_qa, tmp_path):
    """A folder inside a run: the qa settings of the run's manifest, cut to the window as export cuts them; a folder
    outside a run: the built-in settings, not the demo preset's."""
    import shutil
    from pipeline import config
    from pipeline.core import registry
    run = tmp_path / "runs" / "mine"
    shutil.copytree(tiny_qa["qa"] / "student", run / "qa_finetune" / "student")
    (run / "manifest.json").write_text(json.dumps({"stages": {}, "config": {"qa": {
        "max_query_length": 12, "doc_stride": 7, "max_answer_length": 9, "n_best": 5}}}))
    model = ask.open_model(run / "qa_finetune" / "student", SEQ)
    assert model.window == registry.fit_window(SEQ, 12, 7, 9) and model.n_best == 5
    assert ask.answer(model, QUESTION, CONTEXT)["max_answer_length"] == 9
    built_in = config.Config().qa
    plain = ask.open_model(tiny_qa["qa"] / "student", SEQ)
    assert plain.window == registry.fit_window(SEQ, built_in.max_query_length, built_in.doc_stride,
                                               built_in.max_answer_length)
