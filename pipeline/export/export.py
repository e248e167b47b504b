"""Stage "export": the fine-tuned QA models as Core ML, ExecuTorch, LiteRT and ONNX files.

Every artifact is exported from the export-friendly forward (pipeline/export/export_model.py) by its
format's plug-in (pipeline/export/formats/, named by the format's registry row) and gets a JSON
sidecar, `<artifact>.json` (pipeline/export/sidecar.py), that is the whole contract the apps read:
input and output names, dtypes and shapes, the vocabulary file, lower-casing, window lengths,
precision, the source checkpoint's checksum and the exporter versions. A converter that fails is
recorded (in artifacts.json "failures") and the other formats go on. What this host cannot make at all (Core ML
int8-static off macOS: the plug-in's `cannot_make`) is planned out before any conversion, said in one line and
recorded in artifacts.json "not_made", not attempted and reported as a failure.

Names: <model>.<format>.<precision>.<seq_len>.<ext>, e.g. student_d.executorch.int8.384.pte;
the Core ML-delegated ExecuTorch program is <model>.executorch-coreml.fp16.384.pte.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import shutil
import traceback
from pathlib import Path

from tqdm import tqdm

from pipeline.config import UserError
from pipeline import quiet
from pipeline.core import registry, results
from pipeline.core.models import count_params
from pipeline.core.runs import log, package_versions, write_json_atomic
from pipeline.core.workers import run_jobs, worker_count
from pipeline.data.qa_data import load_squad_file
from pipeline.export import formats, int8, int8_search, qat
from pipeline.export.export_model import export_forward, load_qa
from pipeline.export.sidecar import Sidecar, Window
VERSION_PACKAGES = ["torch", "executorch", "coremltools", "litert-torch", "ai-edge-litert", "onnx",
                    "onnxscript", "onnxruntime", "transformers"]


def versions() -> dict:
    return package_versions(VERSION_PACKAGES, with_platform=False)


def checkpoint_sha256(folder: Path) -> str:
    """One digest over the checkpoint's weight files (config excluded: weights decide the logits)."""
    files = sorted(p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin"))
    if not files:
        raise UserError(f"no weights (*.safetensors or *.bin) in checkpoint folder {folder}")
    h = hashlib.sha256()
    for p in files:
        h.update(p.name.encode())
        with open(p, "rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
    return h.hexdigest()


def size_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


# ---------------------------------------------------------------- stage
def tokenizer_facts(folder: Path, vocab_out: Path) -> dict:
    """Write the WordPiece vocabulary the apps read to vocab_out; return lower-casing.

    transformers 5 saves only tokenizer.json (no vocab.txt), so the vocabulary is taken from
    there, ordered by id, when the checkpoint has no vocab.txt."""
    tok_json, tok_cfg = folder / "tokenizer.json", folder / "tokenizer_config.json"
    cfg = json.loads(tok_cfg.read_text()) if tok_cfg.is_file() else {}
    lower = cfg.get("do_lower_case")
    if (folder / "vocab.txt").is_file():
        shutil.copyfile(folder / "vocab.txt", vocab_out)
    elif tok_json.is_file():
        try:
            spec = json.loads(tok_json.read_text())
            vocab = spec["model"]["vocab"]
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise UserError(f"checkpoint {folder}: tokenizer.json has no WordPiece vocabulary ({e})") from None
        ids = sorted(vocab.values())
        if ids != list(range(len(ids))):
            raise UserError(f"checkpoint {folder}: tokenizer.json vocabulary ids are not 0..{len(ids) - 1}")
        by_id = sorted(vocab, key=vocab.get)
        vocab_out.write_text("\n".join(by_id) + "\n", encoding="utf-8")
        norm = spec.get("normalizer") or {}
        if lower is None and norm.get("type") == "BertNormalizer":
            lower = norm.get("lowercase")
    else:
        raise UserError(f"checkpoint {folder} has neither vocab.txt nor tokenizer.json; the apps need the vocabulary")
    return {"do_lower_case": True if lower is None else bool(lower)}


def _wanted(cfg) -> list[tuple[str, str]]:
    """Every (format, precision) the options ask for that the format supports."""
    unknown = [f for f in cfg.export.formats if f not in registry.FORMATS]
    if unknown:
        raise UserError(f"export.formats: unknown {unknown} (known: {', '.join(registry.FORMATS)})")
    bad = [p for p in cfg.export.precisions if p not in registry.PRECISIONS]
    if bad:
        raise UserError(f"export.precisions: unknown {bad} (known: {', '.join(registry.PRECISIONS)})")
    jobs = [(f, p) for f in cfg.export.formats for p in registry.FORMATS[f].precisions if p in cfg.export.precisions]
    if not jobs:
        raise UserError(f"export: no format supports the precisions {cfg.export.precisions}")
    return jobs


def planned_out(cfg) -> list[tuple[str, str, str]]:
    """(format, precision, why) for what the options ask for but this host cannot make (Core ML int8-static off
    macOS): left out of the plan, said once, never attempted and reported as a failure."""
    return [(f, p, why) for f, p in _wanted(cfg) if (why := formats.plugin(f).cannot_make(p))]


def plan(cfg) -> list[tuple[str, str]]:
    """The (format, precision) files this host makes of each model at each window length."""
    out = {(f, p) for f, p, _ in planned_out(cfg)}
    jobs = [j for j in _wanted(cfg) if j not in out]
    if not jobs:
        raise UserError("export: this host can make none of the files asked for: " +
                        "; ".join(f"{f} {p}: {why}" for f, p, why in planned_out(cfg)))
    return jobs


def export_model(cfg, name: str, folder: Path, out: Path, vers: dict, bar, train=None, qa=None,
                 threads: int = 1) -> tuple[list, list]:
    """Every planned file of one model at every window length: (sidecars written, failures). With the qa_data
    folder `qa` and export.int8_search, ExecuTorch and LiteRT int8 and int4 files are gated here and tuned until
    they pass."""
    tok = tokenizer_facts(folder, out / f"{name}.vocab.txt")
    hf = load_qa(folder)
    forwards = _forwards(hf)
    base = dict(model=name, params=count_params(hf), vocab_file=f"{name}.vocab.txt", do_lower_case=tok["do_lower_case"],
                uses_token_type_ids=forwards["plain"].uses_token_type_ids, exporter_versions=vers,
                source_checkpoint={"folder": name, "sha256": checkpoint_sha256(folder)})
    artifacts, failures = [], []
    tuner = int8_search.Tuner(cfg, hf, folder, train, qa, out, threads) if cfg.export.int8_search and qa else None
    int4 = _int4_source(cfg, name, folder, base, train, out)
    for seq_len in map(int, cfg.export.seq_lens):
        if not 8 <= seq_len <= forwards["plain"].max_positions:
            raise UserError(f"export.seq_lens: {seq_len} is outside 8..{forwards['plain'].max_positions} for {name}")
        quant = int8.quant_inputs(cfg, plan(cfg), name, folder, train, seq_len, forwards["xnnpack"])
        for fmt, precision in plan(cfg):
            fw, q = (int4[0], dict(quant, qat=int4[1])) if precision == "int4" and int4 else (forwards, quant)
            make = functools.partial(export_file, cfg, fw, fmt, precision, seq_len, q, out, base, bar)
            try:
                searched = tuner and precision in registry.QUANTIZED and registry.FORMATS[fmt].keeps_float
                artifacts.append(tuner.tuned(make, fw["xnnpack"], seq_len) if searched else make())
            except _Failed as e:
                failures.append(e.record)
    return artifacts, failures


def _forwards(hf) -> dict:
    """The export forwards of one model: plain, and with LayerNorm decomposed for XNNPACK's delegate."""
    return {"plain": export_forward(hf), "xnnpack": export_forward(hf, decompose_layer_norm=True)}


def _int4_source(cfg, name: str, folder: Path, base: dict, train, out: Path) -> tuple[dict, dict] | None:
    """(forwards, QAT record) the int4 files are made from when export.int4_qat_epochs > 0 (pipeline/export/qat.py):
    a QAT copy of the model; None: int4 files round the model's own weights."""
    if cfg.export.int4_qat_epochs <= 0 or "int4" not in [p for _, p in plan(cfg)]:
        return None
    copy, record = qat.qat_copy(cfg, name, folder, base["source_checkpoint"]["sha256"], train, out)
    hf = load_qa(copy)
    return _forwards(hf), dict(record, folder=f"qat/{name}", sha256=checkpoint_sha256(copy))


class _Failed(Exception):
    def __init__(self, record: dict):
        super().__init__(record["error"])
        self.record = record


def export_file(cfg, forwards: dict, fmt: str, precision: str, seq_len: int, quant: dict, out: Path, base: dict,
                bar, searched=()) -> dict:
    """One file through its format's plug-in, and its sidecar; a converter that fails raises _Failed (recorded,
    the other formats go on). searched: layers the int8 search keeps float (a rewrite of the same file)."""
    spec, plugin = registry.FORMATS[fmt], formats.plugin(fmt)
    fname = f"{base['model']}.{fmt}.{precision}.{seq_len}.{spec.ext}"
    bar.set_postfix_str(fname)
    module = forwards[plugin.forward]
    names = module.input_names()
    job = formats.Job(module, module.example_inputs(seq_len), precision, out / fname, names, quant, fmt,
                      list(searched))
    where = dict(model=base["model"], format=spec.file_format, backend=spec.backend, precision=precision,
                 seq_len=seq_len)
    try:
        with quiet.captured_output():  # the converters' progress bars and size reports
            extra = plugin.quantize(job) if precision in registry.QUANTIZED else plugin.convert(job)
        extra.update(int8.quantization_facts(fmt, plugin, precision, quant, searched))
    except Exception as e:  # one converter failing must not lose the other formats
        log(f"export: {fname} failed: {type(e).__name__}: {e}")
        shutil.rmtree(out / fname, ignore_errors=True) if (out / fname).is_dir() else \
            (out / fname).unlink(missing_ok=True)
        (out / f"{fname}.json").unlink(missing_ok=True)  # a sidecar the search wrote for an earlier try
        raise _Failed(dict(where, file=fname, error=f"{type(e).__name__}: {str(e)[:500]}",
                           traceback=traceback.format_exc()[-2000:])) from None
    finally:
        bar.update(0 if searched else 1)  # the search's rewrites are the same file
    sc = Sidecar(**where, file=fname, bytes=size_bytes(out / fname),
                 inputs=[{"name": n, "dtype": "int32", "shape": [1, seq_len]} for n in names],
                 outputs=[{"name": n, "dtype": "float32", "shape": [1, seq_len]} for n in formats.OUTPUT_NAMES],
                 window=Window.fit(seq_len, cfg.qa), extra=extra,
                 **{k: base[k] for k in ("params", "vocab_file", "do_lower_case", "uses_token_type_ids",
                                         "source_checkpoint", "exporter_versions")})
    write_json_atomic(out / f"{fname}.json", sc.to_json())
    if "delegation" in extra:
        d = extra["delegation"]
        log(f"export: {fname}: {d['delegated_nodes']} nodes delegated to XNNPACK, {d['not_delegated_nodes']} not: " +
            ", ".join(f"{k} {v['not_delegated']}" for k, v in d["by_op"].items() if v["not_delegated"]))
    return sc.to_json()


def qa_folder(ctx) -> Path | None:
    """The qa_data folder whose dev sets the int8 search gates on (None: no search)."""
    path = Path(ctx.inputs.get("qa_data") or ".")
    return path if (path / "dev.json").is_file() else None


def load_train(ctx) -> list[dict]:
    path = Path(ctx.inputs.get("qa_data") or ".") / "train.json"
    return load_squad_file(path, "reject") if path.is_file() else []


def _export_worker(cfg, name: str, folder: Path, out: Path, vers: dict, train, qa, bar,
                   threads: int) -> tuple[list, list]:
    """export_model as a workers job; in a worker process (bar None) the parent shows progress per model."""
    with contextlib.nullcontext(bar) if bar is not None else tqdm(disable=True) as shown:
        return export_model(cfg, name, folder, out, vers, shown, train, qa, threads)


def _export_all(cfg, models: list[str], src: Path, out: Path, vers: dict, train, qa, bar) -> dict:
    """{model: (artifacts, failures)}. The converters spend most of their time in single-threaded Python
    (tracing, graph passes, serialising), so with several cores each model gets its own process."""
    workers = worker_count(cfg, len(models))
    inline = bar if workers == 1 else None  # a progress bar cannot cross into a worker process
    order = sorted(models, key=lambda m: -size_bytes(src / m))  # the largest first: the others fill the rest
    if workers > 1:
        bar.set_postfix_str(f"{workers} processes: {', '.join(order)}")
    files = len(plan(cfg)) * len(cfg.export.seq_lens)
    done = run_jobs(cfg, _export_worker, {m: (cfg, m, src / m, out, vers, train, qa, inline) for m in order},
                    on_done=None if inline else lambda m: bar.update(files))
    return {name: done[name] for name in models}


def run(cfg, ctx) -> dict:
    src = Path(ctx.inputs["qa_finetune"])
    models = [m for m in cfg.export.models if (src / m).is_dir()]
    missing = [m for m in cfg.export.models if m not in models]
    if not models:
        raise UserError(f"export: none of {cfg.export.models} is a checkpoint folder in {src}")
    vers = versions()
    train = load_train(ctx)
    not_made = [dict(format=f, precision=p, files=len(models) * len(cfg.export.seq_lens), reason=why)
                for f, p, why in planned_out(cfg)]
    for n in not_made:
        log(f"export: not made on this host: {n['format']} {n['precision']} ({n['files']} file"
            f"{'s' * (n['files'] != 1)}): {n['reason']}")
    jobs = len(plan(cfg)) * len(cfg.export.seq_lens) * len(models)
    artifacts, failures = [], [dict(model=m, error="no checkpoint folder") for m in missing]
    with tqdm(total=jobs, desc="export", unit="file") as bar:
        for a, f in _export_all(cfg, models, src, ctx.out, vers, train, qa_folder(ctx), bar).values():
            artifacts += a
            failures += f
    if not artifacts:
        raise UserError("export: every converter failed: " + "; ".join(f"{f.get('file', f['model'])}: {f['error']}"
                                                                       for f in failures)[:2000])
    keys = ("model", "format", "backend", "precision", "seq_len", "file", "bytes", "params")
    result = results.document("artifacts", results.run_scale(cfg, results.host_label()),
                              artifacts=[{k: a[k] for k in keys} for a in artifacts],
                              failures=[{k: v for k, v in f.items() if k != "traceback"} for f in failures],
                              not_made=not_made, exporter_versions=vers)
    write_json_atomic(ctx.out / "artifacts.json", result)
    results.write(ctx.results / "artifacts.json", result)
    for f in failures:
        log(f"export: FAILED {f.get('file', f['model'])}: {f['error']}")
    return {"artifacts": len(artifacts), "failures": len(failures)}
