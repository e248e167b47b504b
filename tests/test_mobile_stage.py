"""Stage "apps": choosing artifacts, copying them with sidecars and vocabulary, refusing bad exports."""
import json
from pathlib import Path

import pytest

from pipeline.devices import stage_apps
from pipeline.config import UserError, load
from pipeline.core.runs import StageContext


def artifact(folder: Path, model, fmt, backend, precision, seq_len, ext, vocab="student.vocab.txt", size=10):
    name = f"{model}.{fmt if backend in (fmt, 'xnnpack') else fmt + '-' + backend}.{precision}.{seq_len}.{ext}"
    path = folder / name
    if ext == "mlpackage":
        (path / "Data").mkdir(parents=True)
        (path / "Data" / "weights.bin").write_bytes(b"w" * size)
        (path / "Manifest.json").write_text("{}")
        nbytes = size + 2
    else:
        path.write_bytes(b"m" * size)
        nbytes = size
    (folder / vocab).write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n")
    meta = {"model": model, "format": fmt, "backend": backend, "precision": precision, "seq_len": seq_len,
            "file": name, "bytes": nbytes, "vocab_file": vocab, "inputs": [{"name": "input_ids"}],
            "outputs": [{"name": "start_logits"}, {"name": "end_logits"}]}
    (folder / f"{name}.json").write_text(json.dumps(meta))
    return name


@pytest.fixture
def export(tmp_path):
    ex = tmp_path / "export"
    ex.mkdir()
    names = {
        "tfl": artifact(ex, "student", "tflite", "tflite", "fp32", 384, "tflite"),
        "tfl128": artifact(ex, "student", "tflite", "tflite", "fp32", 128, "tflite"),
        "pte": artifact(ex, "student", "executorch", "xnnpack", "int8", 384, "pte"),
        "pte_coreml": artifact(ex, "student", "executorch", "coreml", "fp16", 384, "pte"),
        "coreml": artifact(ex, "teacher", "coreml", "coreml", "fp32", 384, "mlpackage", vocab="teacher.vocab.txt"),
        "onnx": artifact(ex, "student", "onnx", "onnxruntime", "fp32", 384, "onnx"),
    }
    (ex / "artifacts.json").write_text("{}")
    return ex, names


def dirs(tmp_path):
    return {"android": tmp_path / "android_models", "ios": tmp_path / "ios_models"}


def test_each_app_gets_the_formats_it_can_run_with_sidecars_and_vocab(export, tmp_path):
    ex, n = export
    picked = stage_apps.choose(stage_apps.read_sidecars(ex), ["student", "teacher"], ["fp32", "int8", "fp16"], 384)
    d = dirs(tmp_path)
    d["android"].mkdir()
    (d["android"] / "README.md").write_text("note")
    (d["android"] / "stale.tflite").write_text("old")
    records = stage_apps.stage(ex, picked, d)
    android = sorted(p.name for p in d["android"].iterdir())
    assert android == sorted(["README.md", n["tfl"], n["tfl"] + ".json", n["pte"], n["pte"] + ".json",
                              "student.vocab.txt"])
    ios = sorted(p.name for p in d["ios"].iterdir())
    assert n["coreml"] in ios and n["pte_coreml"] in ios and n["pte"] in ios and "teacher.vocab.txt" in ios
    assert n["tfl"] not in ios and n["onnx"] not in ios and n["tfl128"] not in android
    assert (d["ios"] / n["coreml"] / "Data" / "weights.bin").read_bytes() == b"w" * 10
    assert {r["app"] for r in records} == {"android", "ios"}
    assert not list(tmp_path.glob("*.staging"))


def test_run_writes_the_manifest_and_uses_the_apps_config(export, tmp_path, monkeypatch):
    ex, n = export
    d = dirs(tmp_path)
    monkeypatch.setattr(stage_apps, "TARGETS", {t: dict(v, dir=d[t]) for t, v in stage_apps.TARGETS.items()})
    cfg = load("demo", {"apps.models": "student", "apps.precisions": "fp32", "apps.seq_len": 128,
                        "run.results_dir": str(tmp_path / "results")})
    out = tmp_path / "out"
    out.mkdir()
    ctx = StageContext(cfg, "apps", tmp_path, out, tmp_path / "work", "k", {"export": ex})
    metrics = stage_apps.run(cfg, ctx)
    assert metrics["android_models"] == 1 and metrics["ios_models"] == 0
    staged = json.loads((out / "staged.json").read_text())["staged"]
    assert [r["file"] for r in staged] == [n["tfl128"]]


@pytest.mark.parametrize("breakage, message", [
    (lambda ex, n: (ex / n["tfl"]).unlink(), "student.tflite.fp32.384.tflite named in"),
    (lambda ex, n: (ex / "student.vocab.txt").unlink(), "student.vocab.txt named in"),
    (lambda ex, n: (ex / n["pte"]).write_bytes(b"short"), "has 5 bytes but"),
    (lambda ex, n: (ex / f"{n['pte']}.json").write_text("{oops"), "is not valid JSON"),
])
def test_broken_exports_are_refused_naming_the_file(export, tmp_path, breakage, message):
    ex, n = export
    breakage(ex, n)
    with pytest.raises(UserError, match=message.replace("(", r"\(")):
        stage_apps.read_sidecars(ex)


def test_failed_staging_keeps_the_previous_models(export, tmp_path, monkeypatch):
    ex, n = export
    d = dirs(tmp_path)
    d["android"].mkdir()
    (d["android"] / "previous.tflite").write_text("old")
    picked = stage_apps.choose(stage_apps.read_sidecars(ex), ["student"], ["fp32"], 384)
    real_copy = stage_apps._copy

    def broken_copy(src, dst):
        real_copy(src, dst)
        if dst.suffix == ".tflite":
            dst.write_bytes(b"x")  # a truncated copy
    monkeypatch.setattr(stage_apps, "_copy", broken_copy)
    with pytest.raises(UserError, match="incomplete"):
        stage_apps.stage(ex, picked, d)
    assert [p.name for p in d["android"].iterdir()] == ["previous.tflite"]


def test_nothing_matching_lists_what_the_export_has(export):
    ex, _ = export
    with pytest.raises(UserError, match=r"no artifact matches .* student/tflite/fp32/384"):
        stage_apps.choose(stage_apps.read_sidecars(ex), ["student_d"], ["fp32"], 384)


def test_missing_export_folder(tmp_path):
    with pytest.raises(UserError, match="export folder not found"):
        stage_apps.read_sidecars(tmp_path / "nope")
