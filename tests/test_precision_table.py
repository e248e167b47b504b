"""The report's table of every precision against the same runtime's fp32 teacher (issue 12)."""
from pipeline.reporting import tables


def _row(runtime, precision, model, ms, mb, seq=384):
    return {"panel": "host", "runtime": runtime, "precision": precision, "model": model, "seq_len": seq,
            "median_ms": ms, "file_bytes": mb * 1e6}


def test_ratios_are_against_the_same_runtimes_fp32_teacher():
    rows = [_row("executorch", "fp32", "teacher", 46.0, 90.0), _row("executorch", "int8", "student", 11.5, 18.0),
            _row("litert", "fp32", "teacher", 40.0, 80.0), _row("litert", "int8-static", "student", 10.0, 20.0),
            _row("pytorch", "fp32", "teacher", 100.0, 90.0), _row("onnxruntime", "int8", "student", 17.0, 18.0)]
    md = "\n".join(tables.precision_section(rows))
    assert "| 384 | executorch | int8 | student | 11.50 | 4.00x | 18.0 | 20% |" in md
    assert "| 384 | litert | int8-static | student | 10.00 | 4.00x | 20.0 | 25% |" in md
    assert "| 384 | onnxruntime | int8 | student | 17.00 | n/a | 18.0 | n/a |" in md  # no fp32 teacher timed there
    assert "| pytorch |" not in md


def test_no_benchmark_says_so():
    assert "No runtime benchmark results yet." in tables.precision_section([])


def test_sizes_of_every_format_come_from_the_export_even_untimed():
    sizes = [{"model": "teacher", "format": "coreml", "precision": "fp32", "seq_len": 384, "bytes": 90e6},
             {"model": "student", "format": "coreml", "precision": "int8", "seq_len": 384, "bytes": 18e6}]
    md = "\n".join(tables.precision_section([], sizes))
    assert "| 384 | coreml | int8 | student | 18.0 | 20% |" in md
