"""The results schemas: good and bad examples of every kind, file-level failures, the CLI."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report_fixtures as rf  # noqa: E402

from pipeline.core import results_schema as rs  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def test_every_contract_kind_has_a_schema_file_in_draft_2020_12():
    assert set(rs.KINDS) == {"mlm_eval", "ablation", "qa_metrics", "qa_curve", "classification_metrics",
                             "artifacts", "parity", "benchmark"}
    for path in sorted((REPO / "pipeline" / "core" / "schemas").glob("*.schema.json")):
        schema = json.loads(path.read_text())
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", path.name
        Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("kind", sorted(rf.EXAMPLES))
def test_good_example_of_every_kind_is_valid(kind):
    obj = rf.example(kind)
    assert rs.kind_of(obj) == kind
    assert rs.validate(obj) == []


def test_host_and_device_benchmarks_share_one_schema():
    assert rs.validate(rf.benchmark("host")) == []
    assert rs.validate(rf.benchmark("device", seq_lens=(384,))) == []


def _set(path, value):
    def mutate(obj):
        *parents, last = path
        for p in parents:
            obj = obj[p]
        if value is DELETE:
            del obj[last]
        else:
            obj[last] = value
    return mutate


DELETE = object()
BAD = [
    ("mlm_eval", _set(["models", 0, "masked_acc"], 41.0), "models[0].masked_acc"),  # percent, not a fraction
    ("mlm_eval", _set(["models"], []), "models"),
    ("ablation", _set(["variants", 1, "variant"], "kd_only"), "is not one of"),
    ("ablation", _set(["variants", 0, "steps"], -1), "variants[0].steps"),
    ("ablation", _set(["summary", 0, "masked_acc", "std"], -0.1), "summary[0].masked_acc.std"),
    ("ablation", _set(["variants", 0, "qa_f1"], 101.0), "variants[0].qa_f1"),
    ("qa_curve", _set(["epochs"], []), "epochs"),
    ("qa_curve", _set(["converged"], "yes"), "converged"),
    ("qa_curve", _set(["epochs", 0, "scores", "natural_dev", "f1"], 120.0), "epochs[0].scores.natural_dev.f1"),
    ("qa_metrics", _set(["models", 0, "model"], "bert"), "models[0].model"),
    ("qa_metrics", _set(["models", 1, "f1"], DELETE), "missing required field 'f1'"),
    ("qa_metrics", _set(["models", 0, "exact_match"], 0.6 * 200), "maximum of 100"),
    ("classification_metrics", _set(["models", 0, "score"], "90"), "is not of type number"),
    ("classification_metrics", _set(["task"], DELETE), "missing required field 'task'"),
    ("artifacts", _set(["artifacts", 0, "format"], "gguf"), "artifacts[0].format"),
    ("artifacts", _set(["artifacts", 2, "bytes"], 1.5), "artifacts[2].bytes"),
    ("parity", _set(["checks", 0, "answer_agreement"], 1.5), "checks[0].answer_agreement"),  # a fraction
    ("parity", _set(["checks", 1, "passed"], "no"), "checks[1].passed"),
    ("benchmark", _set(["device", "cpu"], DELETE), "needs soc or cpu"),
    ("benchmark", _set(["source"], "cloud"), "source"),
    ("benchmark", _set(["entries"], []), "entries"),
    ("benchmark", _set(["entries", 0, "stats", "min_ms"], 999.0), "min_ms <= median_ms"),
    ("benchmark", _set(["entries", 0, "stats", "trimmed_mean_ms"], 0.0), "trimmed_mean_ms"),
    ("benchmark", _set(["entries", 0, "stats", "median_ms"], DELETE), "missing required field 'median_ms'"),
    ("benchmark", _set(["entries", 0, "peak_mem_mb"], "big"), "peak_mem_mb"),
]


@pytest.mark.parametrize("kind,mutate,expect", BAD, ids=[f"{k}-{e}" for k, _, e in BAD])
def test_bad_example_is_rejected_with_a_readable_problem(kind, mutate, expect):
    obj = rf.example(kind)
    mutate(obj)
    problems = rs.validate(obj)
    assert problems, "expected a problem"
    assert any(expect in p for p in problems), problems
    assert all("\n" not in p and len(p) < 400 for p in problems)


@pytest.mark.parametrize("kind", sorted(rf.EXAMPLES))
def test_common_header_is_checked_for_every_kind(kind):
    obj = rf.example(kind)
    obj["schema_version"] = 2
    del obj["scale"]["device"]
    problems = rs.validate(obj)
    assert "schema_version: 2 should be 1" in problems
    assert "scale: missing required field 'device'" in problems


@pytest.mark.parametrize("obj,expect", [
    ([1, 2], "not a JSON object"),
    ({"name": "distilkit", "version": "1"}, "no 'kind' field"),
    ({"kind": "latency", "schema_version": 1}, "unknown kind 'latency'"),
    ({"kind": 3}, "no 'kind' field"),
])
def test_foreign_objects(obj, expect):
    assert rs.kind_of(obj) in (None, "latency")
    problems = rs.validate(obj)
    assert len(problems) == 1 and expect in problems[0]


def test_validate_file_reports_bad_files_instead_of_raising(tmp_path):
    good = rf.write(tmp_path, "good.json", rf.example("parity"))
    assert rs.validate_file(good) == (rf.example("parity"), [])
    cases = {
        rf.write(tmp_path, "truncated.json", '{"kind": "parity", '): "not valid JSON (line 1",
        rf.write(tmp_path, "nan.json", '{"kind": "parity", "x": NaN}'): "NaN is not allowed",
        rf.write(tmp_path, "empty.json", ""): "not valid JSON",
        tmp_path / "missing.json": "cannot read file",
        tmp_path: "cannot read file",  # a folder
    }
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    cases[binary] = "cannot read file"
    for path, expect in cases.items():
        obj, problems = rs.validate_file(path)
        assert obj is None and len(problems) == 1 and expect in problems[0], (path, problems)


def _cli(*args):
    return subprocess.run([sys.executable, str(REPO / "pipeline" / "core" / "results_schema.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=60)


def test_cli_exit_codes(tmp_path):
    good = [rf.write(tmp_path, f"{k}.json", rf.example(k)) for k in sorted(rf.EXAMPLES)]
    res = _cli(*good)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"{len(good)} valid, 0 with problems" in res.stdout

    bad = rf.write(tmp_path, "bad.json", "{not json")
    foreign = rf.write(tmp_path, "package.json", {"name": "x"})
    res = _cli(good[0], bad, foreign)
    assert res.returncode == 1
    assert f"{bad}: not valid JSON" in res.stdout
    assert f"{foreign}: no 'kind' field" in res.stdout
    assert "1 valid, 2 with problems" in res.stdout

    assert _cli().returncode == 2  # no file given: usage error
