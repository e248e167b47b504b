"""Validate results files against the JSON Schemas in pipeline/schemas/ (draft 2020-12).

The results writer (pipeline/core/results.py) checks every file against these schemas before
it writes it, and the report checks every file it reads, so the contract lives in one place:

    from pipeline.core import results_schema
    problems = results_schema.validate(obj)            # [] when valid
    obj, problems = results_schema.validate_file(path) # never raises for bad files

    python pipeline/core/results_schema.py results/host/*.json   # exit 1 if any file has problems
"""
from __future__ import annotations

import argparse
import json
import sys
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
SCHEMA_VERSION = 1
# common.schema.json only holds shared definitions; every other file is one results kind.
KINDS = tuple(sorted(p.name.removesuffix(".schema.json") for p in SCHEMA_DIR.glob("*.schema.json")
                     if p.name != "common.schema.json"))
_MAX_REPR = 120


@lru_cache(maxsize=None)
def _validators() -> dict:
    if not KINDS:  # e.g. installed without its data files: say so rather than call every file foreign
        raise RuntimeError(f"no results schemas in {SCHEMA_DIR}; reinstall DistilKit with pipeline/schemas/")
    resources = []
    schemas = {}
    for p in sorted(SCHEMA_DIR.glob("*.schema.json")):
        schema = json.loads(p.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema)))
        schemas[p.name.removesuffix(".schema.json")] = schema
    registry = Registry().with_resources(resources)
    for schema in schemas.values():
        Draft202012Validator.check_schema(schema)
    return {kind: Draft202012Validator(schemas[kind], registry=registry) for kind in KINDS}


def schema_for(kind: str) -> dict:
    """The JSON Schema of one results kind (a dict), e.g. to embed in documentation."""
    if kind not in KINDS:
        raise KeyError(f"unknown results kind '{kind}' (known: {', '.join(KINDS)})")
    return _validators()[kind].schema


def kind_of(obj) -> str | None:
    """The file's declared kind, or None when it does not declare one (a foreign file)."""
    if isinstance(obj, dict) and isinstance(obj.get("kind"), str):
        return obj["kind"]
    return None


def _where(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _short(value) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else repr(value)
    return text if len(text) <= _MAX_REPR else text[:_MAX_REPR - 3] + "..."


def _message(err) -> str:
    """jsonschema's messages repeat whole objects; say what is wrong in one short line."""
    v = err.validator
    if v == "required":
        missing = err.message.split(" is a required property")[0]
        return f"missing required field {missing}"
    if v in ("anyOf", "oneOf") and all(set(s) == {"required"} for s in err.validator_value):
        options = " or ".join("/".join(s["required"]) for s in err.validator_value)
        return f"needs {options}"
    if v == "enum":
        return f"{_short(err.instance)} is not one of {', '.join(map(str, err.validator_value))}"
    if v == "const":
        return f"{_short(err.instance)} should be {_short(err.validator_value)}"
    if v == "type":
        want = err.validator_value if isinstance(err.validator_value, str) else " or ".join(err.validator_value)
        return f"{_short(err.instance)} is not of type {want}"
    if v in ("minimum", "maximum", "minItems", "minLength"):
        return err.message
    return f"{_short(err.instance)}: {v} check failed ({err.message[:_MAX_REPR]})"


def _stats_problems(obj: dict) -> list[str]:
    """Orderings a JSON Schema cannot express: min <= median <= p90 <= max, mean within range."""
    out = []
    entries = obj.get("entries")
    for i, e in enumerate(entries if isinstance(entries, list) else []):
        s = e.get("stats") if isinstance(e, dict) else None
        keys = ("min_ms", "median_ms", "p90_ms", "max_ms", "mean_ms", "trimmed_mean_ms")
        if not isinstance(s, dict) or not all(isinstance(s.get(k), (int, float)) for k in keys):
            continue
        tol = 1e-6 * max(1.0, abs(s["max_ms"]))
        chain = [s["min_ms"], s["median_ms"], s["p90_ms"], s["max_ms"]]
        if any(a > b + tol for a, b in zip(chain, chain[1:])):
            out.append(f"entries[{i}].stats: expected min_ms <= median_ms <= p90_ms <= max_ms, got {chain}")
        for k in ("mean_ms", "trimmed_mean_ms"):
            if not s["min_ms"] - tol <= s[k] <= s["max_ms"] + tol:
                out.append(f"entries[{i}].stats.{k}: {s[k]} is outside [min_ms, max_ms]")
    return out


def validate(obj) -> list[str]:
    """Problems with one parsed results file, as short readable lines; empty when it is valid."""
    if not isinstance(obj, dict):
        return [f"not a JSON object (got {type(obj).__name__}); not a DistilKit results file"]
    validators = _validators()
    kind = kind_of(obj)
    if kind is None:
        return ["no 'kind' field; not a DistilKit results file"]
    if kind not in KINDS:
        return [f"unknown kind {kind!r} (known: {', '.join(KINDS)})"]
    errors = sorted(validators[kind].iter_errors(obj),
                    key=lambda e: (list(map(str, e.absolute_path)), e.validator, e.message))
    problems = []
    for err in errors:
        line = f"{_where(err.absolute_path)}: {_message(err)}"
        if line not in problems:  # allOf/$ref can report the same fault twice
            problems.append(line)
    if kind == "benchmark":
        problems += _stats_problems(obj)
    return problems


def _no_nan(token: str):
    raise ValueError(f"{token} is not allowed in JSON")


def load_json(path) -> tuple[object | None, str | None]:
    """(parsed object, None) or (None, why it could not be read)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        return None, f"cannot read file ({e.__class__.__name__}: {e})"
    try:
        return json.loads(text, parse_constant=_no_nan), None
    except json.JSONDecodeError as e:
        return None, f"not valid JSON (line {e.lineno} column {e.colno}: {e.msg})"
    except (ValueError, RecursionError) as e:
        return None, f"not valid JSON ({e})"


def validate_file(path) -> tuple[object | None, list[str]]:
    """(parsed object or None, problems). Unreadable or malformed files are problems, not exceptions."""
    obj, why = load_json(path)
    if why:
        return None, [why]
    return obj, validate(obj)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="results_schema.py",
                                     description="Check DistilKit results files against the JSON Schemas.")
    parser.add_argument("files", nargs="+", metavar="FILE", help="results JSON files")
    args = parser.parse_args(argv)
    bad = 0
    for name in args.files:
        obj, problems = validate_file(name)
        if problems:
            bad += 1
            for p in problems:
                print(f"{name}: {p}")
        else:
            print(f"{name}: ok ({kind_of(obj)})")
    print(f"{len(args.files) - bad} valid, {bad} with problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
