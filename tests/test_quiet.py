"""The console shows the pipeline's lines: known third-party noise is silenced, real errors are not."""
from __future__ import annotations

import os
import subprocess
import sys

from conftest import REPO

IMPORTS = ("import pipeline.export.export, pipeline.export.parity, pipeline.bench.bench_host, executorch.exir, torchao, coremltools, "
           "onnxruntime\nfrom executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner\n")


def _python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO,
                          env=dict(os.environ, PYTHONPATH=str(REPO), **env))


def test_importing_the_runtimes_and_converters_prints_nothing():
    res = _python(IMPORTS + "print('ready')")
    assert res.returncode == 0 and res.stdout == "ready\n" and res.stderr == "", res.stderr


def test_verbose_shows_what_is_silenced():
    res = _python(IMPORTS, DISTILKIT_VERBOSE="1")
    assert "Enum subclass" in res.stderr or "Failed to load" in res.stderr


def test_real_log_lines_and_warnings_still_show():
    res = _python("import pipeline, logging, warnings\n"
                  "logging.getLogger('torchao').warning('a real torchao problem')\n"
                  "warnings.warn('a real deprecation', FutureWarning)\n")
    assert "a real torchao problem" in res.stderr and "a real deprecation" in res.stderr


def test_captured_output_drops_progress_keeps_warnings_and_replays_failures():
    res = _python("import os, sys\nfrom pipeline.quiet import captured_output\n"
                  "with captured_output():\n"
                  "    os.write(2, b'progress 50%\\r progress 100%\\n')\n"
                  "    print('Quantized model size: 1 MiB')\n"
                  "    os.write(2, b'UserWarning: something real\\n')\n"
                  "try:\n"
                  "    with captured_output():\n"
                  "        os.write(2, b'[loader.cpp:1] cannot open x.pte\\n')\n"
                  "        raise RuntimeError('load failed')\n"
                  "except RuntimeError:\n"
                  "    print('caught')\n")
    assert res.returncode == 0 and res.stdout == "caught\n"
    assert "progress" not in res.stderr and "Quantized" not in res.stderr
    assert "UserWarning: something real" in res.stderr and "cannot open x.pte" in res.stderr


def test_loading_a_checkpoint_draws_no_third_party_bar(tmp_path):
    res = _python("import pipeline\nfrom transformers import BertConfig, BertForQuestionAnswering\n"
                  "cfg = BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, "
                  "intermediate_size=16)\n"
                  f"BertForQuestionAnswering(cfg).save_pretrained({str(tmp_path)!r})\n"
                  "from pipeline.export.export_model import load_qa\n"
                  f"load_qa({str(tmp_path)!r})\n")
    assert res.returncode == 0 and "Loading weights" not in res.stderr, res.stderr
