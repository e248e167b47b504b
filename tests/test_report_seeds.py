"""The report's section over seeds, from hand-made results folders of three seeds (results/seeds/seed<N>/)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report_fixtures as rf  # noqa: E402

from pipeline import report  # noqa: E402
from pipeline.reporting import over_seeds  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TEACHER_F1 = {0: 70.0, 1: 72.0, 2: 74.0}                    # mean 72, sd 2
STUDENT_KEPT = {0: 80.0, 1: 75.0, 2: 85.0}                  # % of the teacher: mean 80, sd 5
INT8_FAILS = {0: (), 1: ("tflite",), 2: ("tflite", "executorch")}  # 4, 3, 2 of 4 files in the gate
STUDENT_MS = {0: 10.0, 1: 8.0, 2: 40 / 3}                   # teacher 20 ms: 2.0x, 2.5x, 1.5x


def _head(kind: str, seed) -> dict:
    head = rf._head(kind)
    head["scale"]["seed"] = seed
    return head


def _qa(seed, dataset="natural_dev") -> dict:
    t = TEACHER_F1[seed]
    return dict(_head("qa_metrics", seed), dataset=dataset, models=[
        {"model": "teacher", "exact_match": t - 10, "f1": t, "n": 189},
        {"model": "student", "exact_match": 40.0, "f1": t * STUDENT_KEPT[seed] / 100, "n": 189}])


def _check(model, fmt, precision, passed=True, ran=True, question_set="dev") -> dict:
    return {"model": model, "format": fmt, "precision": precision, "seq_len": 384, "ran": ran,
            "max_abs_diff": None, "answer_agreement": 0.9, "em_delta": -0.5, "f1_delta": -0.5 if passed else -3.0,
            "passed": passed, "note": "", "question_set": question_set}


def _parity(seed) -> dict:
    checks = [_check("student", fmt, p) for fmt in ("executorch", "tflite") for p in ("int8", "int8-static")]
    for fmt in INT8_FAILS[seed]:  # a second question set that fails puts the whole file out of its gate
        checks.append(_check("student", fmt, "int8", passed=False, question_set="handwritten"))
    checks += [_check("student", "tflite", "fp32"), _check("student", "coreml", "int8", passed=False, ran=False)]
    for c in checks[:2]:  # the export's search kept seed N's ExecuTorch student N layers float per file
        c["int8_search"] = {"kept_float": [f"blocks.{i}.ffn2" for i in range(seed)]}
    return dict(_head("parity", seed), checks=checks)


def _bench(seed) -> dict:
    entries = [{"runtime": "executorch", "runtime_version": "1.0", "model": m, "precision": "int8", "seq_len": seq,
                "load_ms": 100.0, "stats": rf._stats(ms * seq / 384), "peak_mem_mb": 200.0, "file_bytes": 1000}
               for seq in (128, 384) for m, ms in (("teacher", 20.0), ("student", STUDENT_MS[seed]))]
    entries.append(dict(entries[-2], precision="fp32", stats=rf._stats(60.0)))  # the fp32 teacher at 384: 3x the int8
    return dict(_head("benchmark", seed), source="host", device={"name": "test host", "os": "Linux", "cpu": "x86_64",
                                                                  "threads": 1}, entries=entries)


def write_seed(root: Path, seed: int, folder: str | None = None, carries_seed: bool = True) -> None:
    sub = f"seeds/{folder or f'seed{seed}'}"
    for rel, obj in (("qa/natural_dev.json", _qa(seed)), ("parity.json", _parity(seed)), ("host/host.json", _bench(seed))):
        if not carries_seed:  # as files written before results carried the seed
            del obj["scale"]["seed"]
        rf.write(root, f"{sub}/{rel}", obj)


@pytest.fixture
def three(tmp_path) -> Path:
    rf.write_all(tmp_path, device=False)  # the main run, beside the seeds
    for seed in TEACHER_F1:
        write_seed(tmp_path, seed)
    return tmp_path


def _by_key(rows, **want):
    return next(r for r in rows if all(r[k] == v for k, v in want.items()))


def test_aggregation_over_three_seeds_is_exact(three):
    files, by_seed, notes = report.collect_seeds(three)
    assert sorted(by_seed) == [0, 1, 2] and notes == [] and all(f["status"] == "ok" for f in files)
    qa = over_seeds.qa_figures(by_seed)
    t = _by_key(qa, dataset="natural_dev", model="teacher", figure="F1")
    assert (t["n"], t["mean"], t["sd"], t["min"], t["max"]) == (3, 72.0, 2.0, 70.0, 74.0)
    kept = _by_key(qa, dataset="natural_dev", model="student", figure="% of teacher F1")
    assert kept["per_seed"] == pytest.approx(STUDENT_KEPT)
    assert (kept["mean"], kept["sd"], kept["min"], kept["max"]) == pytest.approx((80.0, 5.0, 75.0, 85.0))
    assert not [r for r in qa if r["model"] == "teacher" and r["figure"] != "F1"]
    gates = {r["format"]: r for r in over_seeds.gate_figures(by_seed)}
    assert list(gates) == ["executorch", "tflite", "all formats"]  # Core ML did not run; fp32 is not int8
    every = gates["all formats"]
    assert (every["per_seed"], every["of"]) == ({0: 4, 1: 3, 2: 2}, {0: 4, 1: 4, 2: 4})
    assert (every["mean"], every["sd"], every["min"], every["max"]) == (3.0, 1.0, 2, 4)
    speed, vs_fp32 = over_seeds.speed_figures(by_seed)
    assert (speed["runtime"], speed["precision"], speed["seq_len"]) == ("executorch", "int8", 384)
    assert (speed["mean"], speed["sd"], speed["min"], speed["max"]) == pytest.approx((2.0, 0.5, 1.5, 2.5))
    assert vs_fp32["precision"] == over_seeds.INT8_VS_FP32 and vs_fp32["per_seed"] == pytest.approx({0: 6.0, 1: 7.5, 2: 4.5})
    [floats] = over_seeds.float_layer_figures(by_seed)
    assert (floats["model"], floats["format"], floats["per_seed"]) == ("student", "executorch", {0: 0, 1: 2, 2: 4})


def test_spread_of_one_value_has_no_sd():
    assert over_seeds.spread([3.0]) == {"n": 1, "mean": 3.0, "sd": None, "min": 3.0, "max": 3.0}


def _report(root: Path) -> tuple[subprocess.CompletedProcess, str]:
    res = subprocess.run([sys.executable, str(REPO / "pipeline" / "report.py"), "--results", str(root)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return res, (root / "REPORT.md").read_text()


def test_report_renders_the_section_and_keeps_seeds_out_of_the_main_tables(three):
    res, md = _report(three)
    assert "17 results file(s): 17 valid, 0 skipped" in res.stdout  # 8 of the main run, 3 x 3 of the seeds
    section = md.split("## Over seeds")[1].split("\n## ")[0]
    assert "3 seeds (0, 1, 2)" in section
    assert "| natural_dev | teacher | F1 | 3 | 72.00 | 2.00 | 70.0 - 74.0 | 0: 70.0, 1: 72.0, 2: 74.0 |" in section
    assert ("| natural_dev | student | % of teacher F1 | 3 | 80.00 | 5.00 | 75.0 - 85.0 | 0: 80.0, 1: 75.0, 2: 85.0 |"
            in section)
    assert "| all formats | 3 | 3.00 | 1.00 | 2 - 4 | 0: 4 of 4, 1: 3 of 4, 2: 2 of 4 |" in section
    assert ("| host: test host (x86_64, Linux, 1 thr) | executorch | int8 | 384 | 3 | 2.00 | 0.50 | 1.50 - 2.50 "
            "| 0: 2.00x, 1: 2.50x, 2: 1.50x |") in section
    assert "| int8 (teacher fp32) | 384 | 3 | 6.00 | 1.50 | 4.50 - 7.50 | 0: 6.00x, 1: 7.50x, 2: 4.50x |" in section
    assert "| student | executorch | 3 | 2.00 | 2.00 | 0 - 4 | 0: 0, 1: 2, 2: 4 |" in section
    rest = md.replace(section, "")
    assert "seeds/" not in rest.split("## What is missing")[1]  # the main tables hold the main run only
    assert "| natural_dev |" not in rest


def test_one_seed_says_so_in_one_line(tmp_path):
    write_seed(tmp_path, 1)
    _, md = _report(tmp_path)
    section = md.split("## Over seeds")[1].split("\n## ")[0]
    lines = [line for line in section.splitlines()[1:] if line.strip()]
    assert lines == ["Results for one seed only (seed 1), so no spread is shown; "
                     f"`{over_seeds.SEEDS_COMMAND}` adds more."]


def test_without_seeds_the_section_says_how_to_make_them(tmp_path):
    rf.write_all(tmp_path, device=False)
    _, md = _report(tmp_path)
    assert f"No per-seed results under `seeds/`; `{over_seeds.SEEDS_COMMAND}`" in md


def test_a_folder_without_a_seed_or_a_seed_twice_is_named_and_not_counted(three):
    write_seed(three, 0, folder="old", carries_seed=False)
    write_seed(three, 2, folder="again")
    rf.write(three, "seeds/broken/qa.json", '{"kind": "qa_metrics", "models": [')
    files, by_seed, notes = report.collect_seeds(three)
    assert sorted(by_seed) == [0, 1]
    assert notes == ["seeds/broken: not used, it holds no valid results file",
                     "seeds/old: not used, its valid files carry no seed",
                     "seeds/seed2: not used, seed 2 is also in seeds/again (neither is)"]
    res, md = _report(three)
    assert "skipped seeds/broken/qa.json:" in res.stderr and "| seeds/broken/qa.json |" in md
    assert "2 seeds (0, 1)" in md and "- seeds/old: not used, its valid files carry no seed" in md


def test_a_seed_not_yet_benchmarked_leaves_the_others_speed_figures(three):
    (three / "seeds" / "seed2" / "host" / "host.json").unlink()  # seed 2 still training: no benchmark yet
    _, by_seed, _ = report.collect_seeds(three)
    speed = over_seeds.speed_figures(by_seed)[0]
    assert speed["per_seed"] == pytest.approx({0: 2.0, 1: 2.5}) and speed["n"] == 2
