"""Keep the console for the pipeline's own lines: silence known third-party noise where it starts.

Each rule below names one message that a library prints on every run although nothing is wrong
(a CUDA kernel that a CPU machine cannot load, a deprecation inside a dependency, a converter's
progress bars). Everything else still reaches the console, and `DISTILKIT_VERBOSE=1` turns all
rules off for debugging a converter.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import warnings

VERBOSE = os.environ.get("DISTILKIT_VERBOSE", "") not in ("", "0")

# logger name -> substrings of messages that say nothing about this run.
KNOWN_LOG_NOISE = {
    # The CPU wheel of torch cannot load torchao's CUDA-only kernels; torchao logs each one.
    "torchao": ("Failed to load", "Skipping import of cpp extensions"),
    "torchao.kernel.intmm": ("Detected no triton",),
    # torchao registers Enums the way torch has just deprecated.
    "torch.utils._pytree": ("is an Enum subclass and is now natively supported",),
    # The ONNX exporter offers torchvision's ops only when torchvision is installed.
    "torch.onnx._internal.exporter._registration": ("torchvision is not installed",),
    # coremltools' prediction library exists only on macOS (converting works without it); its
    # scikit-learn converter is not used here; the pinned torch is newer than coremltools has
    # tested, and the parity gate checks every conversion instead.
    "coremltools": ("No module named 'coremltools.libcoremlpython'", "scikit-learn version",
                    "has not been tested with coremltools"),
}

# (category, message regex, module regex) of warnings raised inside dependencies.
KNOWN_WARNINGS = [
    (FutureWarning, r"`isinstance\(treespec, LeafSpec\)` is deprecated", ""),
    (RuntimeWarning, r"overflow encountered in cast", r"coremltools\."),
    (DeprecationWarning, r"(read_text|open_text) is deprecated", ""),
]

# Lines of a converter's captured output that still reach the console after a success, unless
# they are one of the known informational lines of TensorFlow's C++ logging.
WORTH_SHOWING = ("error", "Error", "ERROR", "Warning", "warning")
KNOWN_NATIVE_INFO = ("oneDNN custom operations are on", "All log messages before absl::InitializeLog()")


class _DropKnown(logging.Filter):
    def __init__(self, patterns: tuple):
        super().__init__()
        self.patterns = patterns

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        return not any(p in msg for p in self.patterns)


def install() -> None:
    """Called once when `pipeline` is imported, before any of these libraries is."""
    if VERBOSE:
        return
    for name, patterns in KNOWN_LOG_NOISE.items():
        logging.getLogger(name).addFilter(_DropKnown(patterns))
    for category, message, module in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category, module=module)
    # litert-torch prints a [START]/[DONE] line per conversion step unless told not to.
    os.environ.setdefault("LITERT_TORCH_SHOW_PROGRESS", "n")
    # transformers draws a "Loading weights" bar for every checkpoint it loads (a dozen per run),
    # switched by the Hub's setting; loading the teacher turned it off already, but only when the
    # teacher stage runs in the same process.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


@contextlib.contextmanager
def captured_output(sink: list | None = None):
    """Run a converter or a native runtime with its console output captured, at the file
    descriptors too (C++ code writes to fd 1 and 2 directly). On failure everything captured is
    written out before the error propagates; on success only lines that look like warnings or
    errors are, so progress bars and size reports of the libraries stay off the console. A caller
    that reports failures in one line of its own passes `sink`: the captured lines go there instead."""
    if VERBOSE and sink is None:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 1)
        os.dup2(held.fileno(), 2)
        failed = False
        try:
            with contextlib.redirect_stdout(sys.__stdout__), contextlib.redirect_stderr(sys.__stderr__):
                yield
        except BaseException:
            failed = True
            raise
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in zip((1, 2), saved):
                os.dup2(copy, fd)
                os.close(copy)
            held.seek(0)
            text = held.read().decode(errors="replace")
            lines = [seg for line in text.splitlines() for seg in line.split("\r")]
            if sink is not None:
                sink.extend(ln for ln in lines if ln.strip())
                lines = []
            shown = lines if failed else [ln for ln in lines if any(w in ln for w in WORTH_SHOWING)
                                          and not any(k in ln for k in KNOWN_NATIVE_INFO)]
            for line in shown:
                if line.strip():
                    print(line, file=sys.stderr)
