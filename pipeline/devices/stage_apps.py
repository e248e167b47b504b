"""Stage "apps": copy the chosen exported models into the iOS and Android apps.

Android gets the LiteRT (.tflite) and ExecuTorch/XNNPACK (.pte) files, iOS the Core ML
(.mlpackage) and ExecuTorch (.pte, XNNPACK or Core ML delegate) files, each with its JSON
sidecar and the vocabulary it names: the sidecar is all the apps read. Which models,
precisions and sequence length: the [apps] config section.

The app folders live in the repository, outside the run folder, so they are replaced only
after every file has been copied and checked into a sibling temporary folder; a failure
leaves the previously staged models in place. `ctx.out/staged.json` records what went where.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from tqdm import tqdm

from pipeline.config import UserError
from pipeline.core import registry
from pipeline.core.runs import REPO, log, write_json_atomic

# Which artifacts each app can run: (format, backend) pairs from the sidecars.
TARGETS = {
    "android": {"dir": REPO / "mobile/android/app/src/main/assets/models",
                "accepts": registry.APPS["android"]},
    "ios": {"dir": REPO / "mobile/ios/DistilKitQA/Models",
            "accepts": registry.APPS["ios"]},
}
KEEP = {"README.md"}  # the folders' committed notes survive restaging


def read_sidecars(export_dir: Path) -> list[dict]:
    """Every artifact sidecar in the export folder, checked against the files beside it."""
    if not export_dir.is_dir():
        raise UserError(f"apps: export folder not found: {export_dir} (run the export stage first)")
    out = []
    for p in sorted(export_dir.glob("*.json")):
        if p.name == "artifacts.json":
            continue
        try:
            meta = json.loads(p.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise UserError(f"apps: sidecar {p} is not valid JSON ({e})") from None
        missing = [k for k in ("model", "format", "precision", "seq_len", "file", "vocab_file") if k not in meta]
        if missing:
            raise UserError(f"apps: sidecar {p} lacks {', '.join(missing)}")
        for key in ("file", "vocab_file"):
            if not (export_dir / meta[key]).exists():
                raise UserError(f"apps: {meta[key]} named in {p.name} is missing from {export_dir}")
        size = _size(export_dir / meta["file"])
        if "bytes" in meta and meta["bytes"] != size:
            raise UserError(f"apps: {meta['file']} has {size} bytes but {p.name} says {meta['bytes']}")
        meta["_sidecar"] = p.name
        out.append(meta)
    if not out:
        raise UserError(f"apps: no artifact sidecars (*.json) in {export_dir}")
    return out


def choose(sidecars: list[dict], models, precisions, seq_len: int) -> dict[str, list[dict]]:
    picked = {t: [] for t in TARGETS}
    for m in sidecars:
        if m["model"] not in models or m["precision"] not in precisions or int(m["seq_len"]) != int(seq_len):
            continue
        for target, spec in TARGETS.items():
            if (m["format"], m.get("backend", m["format"])) in spec["accepts"]:
                picked[target].append(m)
    if not any(picked.values()):
        have = sorted({f"{m['model']}/{m['format']}/{m['precision']}/{m['seq_len']}" for m in sidecars})
        raise UserError(f"apps: no artifact matches models={list(models)} precisions={list(precisions)} "
                        f"seq_len={seq_len}; the export has: {', '.join(have)}")
    return picked


def _size(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.is_dir() else p.stat().st_size


def _copy(src: Path, dst: Path) -> None:
    if src.is_dir():
        shutil.copytree(src, dst)
    else:
        shutil.copy2(src, dst)


def stage(export_dir: Path, picked: dict[str, list[dict]], dirs: dict[str, Path]) -> list[dict]:
    """Copy into '<dir>.staging', check sizes, then swap the staged files in. Returns what was staged."""
    records = []
    total = sum(_size(export_dir / m["file"]) for ms in picked.values() for m in ms)
    with tqdm(total=total, unit="B", unit_scale=True, desc="apps") as bar:
        for target, metas in picked.items():
            dest = Path(dirs[target])
            tmp = dest.with_name(dest.name + ".staging")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            try:
                for m in metas:
                    for name in (m["file"], m["_sidecar"], m["vocab_file"]):
                        if not (tmp / name).exists():
                            _copy(export_dir / name, tmp / name)
                    size = _size(tmp / m["file"])
                    if size != _size(export_dir / m["file"]):
                        raise UserError(f"apps: copy of {m['file']} into {dest} is incomplete (disk full?)")
                    bar.update(size)
                    records.append({"app": target, "file": m["file"], "model": m["model"], "format": m["format"],
                                    "backend": m.get("backend", m["format"]), "precision": m["precision"],
                                    "seq_len": int(m["seq_len"]), "bytes": size, "dir": str(dest)})
                dest.mkdir(parents=True, exist_ok=True)
                for old in dest.iterdir():
                    if old.name not in KEEP:
                        shutil.rmtree(old) if old.is_dir() and not old.is_symlink() else old.unlink()
                for new in tmp.iterdir():
                    os.replace(new, dest / new.name)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            log(f"apps: {len(metas)} model(s) staged into {dest}")
    return records


def run(cfg, ctx) -> dict:
    export_dir = Path(ctx.inputs["export"])
    picked = choose(read_sidecars(export_dir), cfg.apps.models, cfg.apps.precisions, cfg.apps.seq_len)
    for target, metas in picked.items():
        if not metas:
            log(f"apps: nothing for {target} among the chosen artifacts (its formats were not exported)")
    records = stage(export_dir, picked, {t: spec["dir"] for t, spec in TARGETS.items()})
    write_json_atomic(ctx.out / "staged.json", {"staged": records})
    return {f"{t}_models": sum(r["app"] == t for r in records) for t in TARGETS} | \
        {"bytes": sum(r["bytes"] for r in records)}
