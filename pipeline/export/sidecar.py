"""The sidecar: `<artifact>.json`, the whole contract between export and everything that reads an artifact
(parity, the host benchmark, distilkit-ask, the apps stage, the fixtures, the iOS and Android apps).

One schema (Sidecar), one window rule (registry.fit_window / registry.window_problem, which config's checks
apply too) and one reader (`read`), so no reader keeps a key list of its own. The JSON keys and values are
the apps' interface: they do not change with this module.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipeline.config import UserError
from pipeline.core import registry

WINDOW_KEYS = ("max_seq_length", "max_query_length", "doc_stride", "max_answer_length")
# What every reader relies on (the apps' ModelSpec parsers read these, the host readers too).
REQUIRED = ("model", "format", "backend", "precision", "seq_len", "file", "inputs", "outputs", "vocab_file",
            "do_lower_case", "uses_token_type_ids", *WINDOW_KEYS)
OPTIONAL = ("bytes", "params", "source_checkpoint", "exporter_versions")  # written by export, read by some


@dataclass(frozen=True)
class Window:
    """How a question and context are cut into windows of one artifact (qa_features.prepare_features)."""
    max_seq_length: int
    max_query_length: int
    doc_stride: int
    max_answer_length: int

    @classmethod
    def fit(cls, seq_len: int, qa) -> "Window":
        """The QA settings (a config's qa section, or what a run recorded) cut to fit seq_len tokens."""
        return cls(**registry.fit_window(int(seq_len), qa.max_query_length, qa.doc_stride, qa.max_answer_length))

    def problem(self) -> str | None:
        return registry.window_problem(self.max_seq_length, self.max_query_length, self.doc_stride)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Sidecar:
    model: str
    format: str
    backend: str
    precision: str
    seq_len: int
    file: str
    inputs: list
    outputs: list
    vocab_file: str
    do_lower_case: bool
    uses_token_type_ids: bool
    window: Window
    bytes: int | None = None
    params: int | None = None
    source_checkpoint: dict | None = None
    exporter_versions: dict | None = None
    # what a format adds (delegation, tflite_ops, quantization) and later stages add (sha256, parity)
    extra: dict = field(default_factory=dict)

    @property
    def input_names(self) -> list[str]:
        return [i["name"] for i in self.inputs]

    def to_json(self) -> dict:
        out = {k: getattr(self, k) for k in REQUIRED if k not in WINDOW_KEYS}
        out.update(self.window.as_dict())
        out.update({k: getattr(self, k) for k in OPTIONAL if getattr(self, k) is not None})
        return {**out, **self.extra}

    @classmethod
    def from_json(cls, data, where: str) -> "Sidecar":
        """Checked against the schema; `where` names it in the one-line error (a UserError)."""
        if not isinstance(data, dict):
            raise UserError(f"sidecar {where} is not a JSON object")
        missing = [k for k in REQUIRED if k not in data]
        if missing:
            raise UserError(f"sidecar {where} lacks {', '.join(missing)}")
        bad = _problems(data)
        if bad:
            raise UserError(f"sidecar {where}: bad {', '.join(bad)}")
        known = {k: data[k] for k in (*REQUIRED, *OPTIONAL) if k in data and k not in WINDOW_KEYS}
        return cls(**known, window=Window(**{k: data[k] for k in WINDOW_KEYS}),
                   extra={k: v for k, v in data.items() if k not in (*REQUIRED, *OPTIONAL)})


def _problems(data: dict) -> list[str]:
    ints = ("seq_len", *WINDOW_KEYS)
    bad = [k for k in ints if not isinstance(data[k], int) or isinstance(data[k], bool)
           or data[k] < (0 if k == "doc_stride" else 1)]
    if not bad and data["max_seq_length"] != data["seq_len"]:
        bad = ["max_seq_length (differs from seq_len)"]
    if not bad:
        problem = registry.window_problem(data["max_seq_length"], data["max_query_length"], data["doc_stride"])
        if problem:  # the windows would have no room to advance (the tokenizer panics rather than raising)
            bad = [f"window: the windows do not fit ({problem})"]
    if not isinstance(data["inputs"], list) or not all(isinstance(i, dict) and "name" in i for i in data["inputs"]):
        bad.append("inputs")
    return bad


def read(path: Path, prefix: str = "") -> Sidecar:
    """A sidecar file, checked; prefix starts its error lines (e.g. "apps: ")."""
    try:
        return Sidecar.from_json(json.loads(Path(path).read_text(encoding="utf-8")), str(path))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{prefix}sidecar {path} is not valid JSON ({e})") from None
    except UserError as e:
        raise UserError(f"{prefix}{e}") from None


def path_of(artifact: Path) -> Path:
    return artifact.with_name(artifact.name + ".json")


def read_for(artifact: Path) -> Sidecar:
    """The sidecar beside an artifact (export writes one beside every file)."""
    side = path_of(artifact)
    if not side.is_file():
        raise UserError(f"{artifact}: its sidecar {side.name} is missing (export writes one beside every artifact)")
    return read(side)


def is_sidecar(path: Path) -> bool:
    """An artifact sidecar in an export folder (artifacts.json is the stage's summary, not a sidecar)."""
    return path.suffix == ".json" and path.name != "artifacts.json"
