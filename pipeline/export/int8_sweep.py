"""int8 sensitivity sweep: one model's quantized files under config variants, scored as the parity gate scores them.

Exports the model's quantized files (export.formats x export.seq_lens x the int8 kinds in export.precisions) once
per variant into a scratch folder and runs the parity stage's accuracy check on each: F1 change against the same
model's fp32 PyTorch on the whole generated dev set and on the natural-question dev set, and whether the gate
passes. The input is a run folder whose qa_data and qa_finetune stages are done; nothing in it changes. The first
variant is always the config as given ("config"); each --variant adds config overrides on top of it:

    python pipeline/export/int8_sweep.py --model student --export.formats tflite --export.seq_lens 384 \\
        --export.precisions int8-static \\
        --variant 'ffn2+o={"export.int8_static_keep_float": ["blocks.*.ffn2", "blocks.*.o"]}' \\
        --variant 'cal256={"export.calibration_windows": 256}'
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from pipeline.config import UserError, build_parser, load
from pipeline.core import registry
from pipeline.core.runs import write_json_atomic


def _extra(parser):
    parser.add_argument("--model", required=True, choices=list(registry.MODELS), help="QA model of the run to sweep")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=JSON",
                        help='a variant: a name and a JSON object of config overrides, e.g. '
                             'keep={"export.int8_keep_float": ["blocks.0.ffn2"]} (repeatable)')
    parser.add_argument("--json", default="", help="also write every row to this JSON file")


def parse_variant(text: str) -> tuple[str, dict]:
    name, sep, body = text.partition("=")
    if not sep or not name.strip():
        raise UserError(f"--variant {text!r}: expected NAME=JSON")
    try:
        overrides = json.loads(body)
    except json.JSONDecodeError as e:
        raise UserError(f"--variant {name}: not valid JSON ({e.msg})") from None
    if not isinstance(overrides, dict):
        raise UserError(f"--variant {name}: the JSON must be an object of config overrides")
    return name.strip(), overrides


def _question_sets(data: Path, cfg) -> dict:
    from pipeline.export import parity
    dev_all = parity.load_dev(data / "dev.json", 0)
    natural_name, natural = parity.natural_set(data)
    return {"dev": dev_all[:cfg.export.parity_examples], "dev_all": dev_all, "natural": natural,
            "natural_name": natural_name}


def _row(variant: str, check: dict) -> dict:
    nat = check.get("handwritten") or {}
    return {"variant": variant, "file": check["file"], "passed": check["passed"], "note": check["note"],
            "f1": check.get("f1"), "f1_delta": check.get("f1_delta"), "em_delta": check.get("em_delta"),
            "natural_f1_delta": nat.get("f1_delta"), "natural_em_delta": nat.get("em_delta")}


def _print(row: dict) -> None:
    if row.get("error"):
        print(f"{row['variant']:>12s}  {row['file']}: export failed: {row['error']}", flush=True)
        return
    nat = row["natural_f1_delta"]
    print(f"{row['variant']:>12s}  {row['file']}: F1 {row['f1_delta']:+.2f} generated dev, " +
          (f"{nat:+.2f} natural dev" if nat is not None else "no natural dev") +
          f"  {'pass' if row['passed'] else 'FAIL'}", flush=True)


def sweep(variants: list[tuple[str, object]], model: str) -> list[dict]:
    """Export and score `model`'s quantized files under each (name, Config); one row per file."""
    import torch
    from tqdm import tqdm
    from pipeline.data.qa_data import load_squad_file
    from pipeline.export import export, parity
    base = variants[0][1]
    folder, data = base.run_dir / "qa_finetune" / model, base.run_dir / "qa_data"
    if not (folder / "config.json").is_file():
        raise UserError(f"no {model} checkpoint in {folder.parent}; run the qa_finetune stage first")
    if not (data / "train.json").is_file():
        raise UserError(f"no qa_data/train.json in {base.run_dir}; run the qa_data stage first")
    train, sets = load_squad_file(data / "train.json", "reject"), _question_sets(data, base)
    threads = base.run.threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    vers, refs, rows = export.versions(), {}, []
    with tempfile.TemporaryDirectory(prefix="int8_sweep_") as tmp:
        for name, cfg in variants:
            cfg.export.precisions = [p for p in cfg.export.precisions if p in registry.QUANTIZED]
            if not cfg.export.precisions:
                raise UserError(f"variant {name}: export.precisions holds no int8 kind ({', '.join(registry.QUANTIZED)})")
            out = Path(tmp) / name
            out.mkdir()
            with tqdm(disable=True) as bar:
                artifacts, failures = export.export_model(cfg, model, folder, out, vers, bar, train)
            for f in failures:
                rows.append({"variant": name, "file": f["file"], "passed": False, "error": f["error"]})
                _print(rows[-1])
            for sc in artifacts:
                if sc["seq_len"] not in refs:  # the references depend on the window length only
                    refs[sc["seq_len"]] = parity.group_refs(cfg, folder, [sc], sets)
                rows.append(_row(name, parity.check(cfg, sc, out / sc["file"], refs[sc["seq_len"]], threads)))
                rows[-1]["kept_float"] = [k["module"] for k in sc.get("quantization", {}).get("kept_float", [])]
                _print(rows[-1])
    return rows


def main(argv=None) -> int:
    args = build_parser("int8_sweep.py", __doc__.split("\n\n")[0], _extra).parse_args(argv)
    try:
        common = {k: v for k, v in vars(args).items() if "." in k}
        named = [("config", {})] + [parse_variant(v) for v in args.variant]
        if len({n for n, _ in named}) != len(named):
            raise UserError("--variant: every variant needs its own name (and not 'config')")
        variants = [(name, load(args.preset, {**common, **over})) for name, over in named]
        rows = sweep(variants, args.model)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        write_json_atomic(Path(args.json), {"model": args.model, "rows": rows})
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
