"""Bad config values are refused up front: one `error:` line, exit 2, no run folder touched."""
from __future__ import annotations


import pytest

from conftest import build_all_inproc

# (command-line arguments, what the error line must name)
BAD_VALUES = [
    (["--export.seq_lens", "384,abc"], "export.seq_lens"),
    (["--bench.precisions", "fp64"], "unknown 'fp64'"),
    (["--export.precisions", "int8-dynamic"], "unknown 'int8-dynamic'"),
    (["--export.calibration_windows", "0"], "must be > 0"),
    (["--export.int8_max_f1_drop", "-1"], "must be >= 0"),
    (["--export.int8_max_f1_drop_handwritten", "x"], "as float"),
    (["--export.int8_keep_float", "blocks.2.ffn2,ffn 2"], "dotted module name"),
    (["--export.int8_keep_float", "studnet:blocks.2.ffn2"], "dotted module name"),
    (["--export.int8_static_keep_float", "coreml:blocks.2.ffn2"], "tflite:student:384:blocks.2.ffn2"),
    (["--export.int8_keep_float", "student:tflite:blocks.2.ffn2"], "dotted module name"),
    (["--export.int8_keep_float", "384:student:blocks.2.ffn2"], "dotted module name"),
    (["--export.int8_keep_float", "0:blocks.2.ffn2"], "dotted module name"),
    (["--apps.models", "teachr"], "unknown 'teachr'"),
    (["--distill.temperature", "-1"], "must be > 0"),
    (["--run.threads", "-3"], "run.threads"),
    (["--distill.alpha_ce", "0", "--distill.alpha_mlm", "0", "--distill.alpha_cos", "0"], "at least one"),
    (["--distill.alpha_mlm", "-0.5"], "must be >= 0"),
    (["--export.seq_lens", "0"], "must be > 0"),
    (["--export.seq_lens", "1024"], "teacher's maximum of 512"),
    (["--bench.seq_lens", "128,600"], "teacher's maximum"),
    (["--export.formats", "tflite,pdf"], "unknown 'pdf'"),
    (["--bench.runtimes", "tensorrt"], "unknown 'tensorrt'"),
    (["--export.models", ""], "empty"),
    (["--apps.precisions", "[]"], "empty"),
    (["--export.seq_lens", "384,,128"], "export.seq_lens"),
    (["--distill.steps", "ten"], "as int"),
    (["--distill.steps", "2.5"], "as int"),
    (["--distill.lr", "fast"], "as float"),
    (["--distill.lr", "nan"], "as float"),
    (["--distill.ce_masked_only", "maybe"], "as bool"),
    (["--corpus.heldout_frac", "1.5"], "in (0, 1)"),
    (["--distill.mlm_prob", "0"], "in (0, 1)"),
    (["--distill.betas", "0.9"], "two values"),
    (["--distill.betas", "0.9,1.5"], "in [0, 1)"),
    (["--bench.trim", "0.5"], "in [0, 0.5)"),
    (["--qa.doc_stride", "384"], "below qa.max_seq_length"),
    (["--qa.alpha_distil", "2"], "in [0, 1]"),
    (["--student.layers", "4,2"], "increasing"),
    (["--ablation.variants", "no_ce"], "unknown 'no_ce'"),
    (["--run.device", "tpu"], "not one of"),
    (["--teacher.nope", "1"], "unrecognized arguments: --teacher.nope"),
    (["--classify.epochs", "0"], "must be > 0"),
    # a window too short to hold a question and any passage
    (["--export.seq_lens", "16"], "export.seq_lens: 16 is too short"),
    (["--export.seq_lens", "384,32"], "export.seq_lens: 32 is too short"),
    # folders that cannot be made or written: a system folder, a path under a file, an existing read-only folder
    (["--run.run_dir", "/proc/distilkit-run"], "run.run_dir: cannot write into /proc/distilkit-run"),
    (["--run.run_dir", "/dev/null/run"], "run.run_dir: cannot write into /dev/null/run (Not a directory)"),
    (["--run.results_dir", "/proc/distilkit-results"], "run.results_dir: cannot write into"),
    (["--run.results_dir", "/proc"], "run.results_dir: cannot write into /proc"),
]


@pytest.mark.parametrize("args,names", BAD_VALUES, ids=[" ".join(a) for a, _ in BAD_VALUES])
def test_bad_value_is_one_error_line_before_any_stage(tmp_path, args, names):
    run_dir = tmp_path / "run"
    res = build_all_inproc("--run.run_dir", run_dir, "--run.results_dir", tmp_path / "res", *args)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and names in lines[0], res.stderr
    assert "==" not in res.stdout  # no stage started
    assert not run_dir.exists() and not (tmp_path / "res").exists()


def test_preset_extending_a_missing_preset(tmp_path):
    preset = tmp_path / "mine.toml"
    preset.write_text('extends = "dmeo"\n')
    res = build_all_inproc("--preset", preset, "--run.run_dir", tmp_path / "run")
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [res.stderr.strip()] and "unknown preset 'dmeo'" in res.stderr
    assert not (tmp_path / "run").exists()


def test_bad_value_in_a_preset_names_the_preset(tmp_path):
    preset = tmp_path / "mine.toml"
    preset.write_text('extends = "demo"\n[export]\nprecisions = ["fp32", "int3"]\n')
    res = build_all_inproc("--preset", preset, "--run.run_dir", tmp_path / "run")
    assert res.returncode == 2 and "preset mine.toml" in res.stderr and "unknown 'int3'" in res.stderr


def test_typed_lists_are_read_as_their_element_type():
    from pipeline.config import load
    cfg = load("demo", {"export.seq_lens": "128, 384", "distill.betas": "[0.8, 0.9]", "bench.models": "student"})
    assert cfg.export.seq_lens == [128, 384] and cfg.distill.betas == [0.8, 0.9] and cfg.bench.models == ["student"]


def test_ablation_choice_leaves_the_distill_fingerprint_alone(tmp_path):
    from pipeline.build_all import BY_NAME
    from pipeline.config import load
    from pipeline.core.runs import Run
    base = load("demo", {"run.run_dir": str(tmp_path)})
    chosen = load("demo", {"run.run_dir": str(tmp_path), "ablation.variants": "all", "ablation.steps": 5})
    assert Run(base).stage_config(BY_NAME["distill"]) == Run(chosen).stage_config(BY_NAME["distill"])
    assert Run(base).stage_config(BY_NAME["ablation"]) != Run(chosen).stage_config(BY_NAME["ablation"])


def test_a_stage_cannot_read_config_it_does_not_declare():
    from pipeline.config import StageView, UndeclaredConfigRead, load
    view = StageView(load("demo"), "export", ("export", "qa.doc_stride"))
    assert view.export.seq_lens == [384, 128] and view.qa.doc_stride == 128
    assert view.run.results_dir and view.teacher.model == "embedded"  # where outputs go, provenance
    with pytest.raises(UndeclaredConfigRead, match="stage 'export' reads qa.max_answer_length"):
        view.qa.max_answer_length
    with pytest.raises(UndeclaredConfigRead, match="distill"):
        view.section("distill")


@pytest.mark.parametrize("command,args,names", [
    ("pipeline.bench.bench_host", ["--artifacts", "x", "--bench.threads", "0"], "bench.threads: 0 must be > 0"),
    ("pipeline.bench.bench_host", ["--artifacts", "x", "--bench.runtimes", "pytorch,tvm"], "unknown 'tvm'"),
    ("pipeline.training.classify", ["--task", "sst2", "--classify.lr", "-1"], "classify.lr"),
    ("pipeline.devices.device_android", ["--phone.iters", "0"], "phone.iters: 0 must be > 0"),
    ("pipeline.devices.device_ios", ["--team", "ABCDE12345", "--phone.timeout", "soon"], "phone.timeout"),
])
def test_every_command_checks_its_config_the_same_way(command, args, names, capsys):
    import importlib
    try:
        rc = importlib.import_module(command).main(args)
    except SystemExit as e:
        rc = e.code
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: ") and names in err[0], err
