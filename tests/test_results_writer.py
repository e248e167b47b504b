"""The one results writer: every kind written, read back and valid; bad objects never reach disk."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import report_fixtures as rf
from pipeline.core import results, results_schema

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("kind", results_schema.KINDS)
def test_each_kind_is_written_with_its_header_and_validates(tmp_path, kind):
    body = {k: v for k, v in rf.example(kind).items() if k not in ("kind", "schema_version", "scale")}
    obj = results.document(kind, results.scale("demo", "embedded", "embedded", results.host_label()), **body)
    path = tmp_path / "nested" / f"{kind}.json"
    assert results.write(path, obj) is obj
    read, problems = results_schema.validate_file(path)
    assert problems == []
    assert read["schema_version"] == results_schema.SCHEMA_VERSION and read["kind"] == kind
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind


def test_an_invalid_object_raises_and_leaves_the_old_file(tmp_path):
    path = tmp_path / "qa.json"
    good = results.document("qa_metrics", results.scale("demo", "t", "c", "d"), dataset="dev",
                            models=[{"model": "teacher", "exact_match": 50.0, "f1": 60.0, "n": 10}])
    results.write(path, good)
    before = path.read_text()
    bad = dict(good, models=[{"model": "teacher", "exact_match": 150.0, "f1": 60.0, "n": 10}])
    with pytest.raises(results.InvalidResults, match="exact_match"):
        results.write(path, bad)
    assert path.read_text() == before


MODELS = [{"model": "teacher", "exact_match": 50.0, "f1": 60.0, "n": 10}]


def test_run_scale_names_the_preset_teacher_corpus_and_seed():
    from pipeline import config
    cfg = config.load("demo", {"corpus.source": ["a", "b"], "run.seed": 2})
    scale = results.run_scale(cfg, "cpu")
    assert scale == {"preset": "demo", "teacher": "embedded", "corpus": "a,b", "device": "cpu", "seed": 2}
    assert results_schema.validate(results.document("qa_metrics", scale, dataset="d", models=MODELS)) == []
    # a command outside a run (re-timing files) has no run seed, and files written before the seed still validate
    assert "seed" not in results.scale("cli", "t", "c", "cpu")
    bad = results.document("qa_metrics", dict(scale, seed=-1), dataset="d", models=MODELS)
    assert results_schema.validate(bad) == ["scale.seed: -1 is less than the minimum of 0"]


def test_no_results_header_is_built_outside_the_writer():
    """Header fields typed by hand elsewhere would bypass the writer's version and validation."""
    allowed = {REPO / "pipeline" / "core" / "results.py", REPO / "pipeline" / "core" / "results_schema.py"}
    offenders = []
    for p in sorted((REPO / "pipeline").rglob("*.py")):
        if p in allowed:
            continue
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Constant) and node.value == "schema_version":
                offenders.append(f"{p.relative_to(REPO)}:{node.lineno}")
    assert not offenders, offenders


def test_header_order_is_kind_version_scale_then_body():
    obj = results.document("parity", {"x": 1}, checks=[], gates={})
    assert list(obj) == ["kind", "schema_version", "scale", "checks", "gates"]
    assert json.loads(json.dumps(obj))["schema_version"] == results_schema.SCHEMA_VERSION
