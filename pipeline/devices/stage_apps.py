"""Stage "apps": copy the chosen exported models into the iOS and Android apps.

Android gets the LiteRT (.tflite) and ExecuTorch/XNNPACK (.pte) files, iOS the Core ML
(.mlpackage) and ExecuTorch (.pte, XNNPACK or Core ML delegate) files, each with its JSON
sidecar and the vocabulary it names: the sidecar is all the apps read. Which models,
precisions and window lengths: the [apps] config section. Every model goes in at two lengths
(apps.short_seq_len and apps.seq_len, 128 and 384 tokens): the apps answer with the shorter when the
question and passage fit one window of it (pipeline/devices/windows.py), and time both.

Only what passed its parity gate is staged (the parity stage's parity.json): a failed gate, or
an int8 artifact whose accuracy gate could not run on this host (Core ML off macOS), keeps the
artifact out with one log line saying why. Core ML fp32/fp16 files, which parity checks by
interface only, are staged as before: their conversion has no quantization step to gate.
By default (apps.smallest_only) each app gets, per model and runtime (format, backend), the
smallest of the chosen precisions that passed at every staged length: int4 or int8 where it passes, else
fp16, else fp32.

Of the chosen artifacts each app gets what fits a phone: at most apps.max_mb of storage
counted as the phone holds it (Android keeps the APK's copy and the copy the app makes for the
runtimes; iOS compiles each Core ML package into a second copy). Every chosen model first at its
smallest chosen precision, then the other precisions, smallest first; what does not fit is left
out and named. The plan and its size are logged before anything is copied.

Each staged sidecar gains the artifact's `sha256` (a .mlpackage folder: the SHA-256 of its
sorted "<sha256>  <relative path>" lines): the apps key their copies and compiled caches on it,
since a re-staged model can have the same name and size as the old one.

The question set the apps' benchmark answers on the phone (apps.questions: the qa_data stage's natural_dev.json, the
set parity scores int8 files on, or handwritten.json) goes beside the models as questions.json
(pipeline/devices/accuracy.py staged_questions); none = time only.

The app folders live in the repository, outside the run folder, so they are replaced only
after every file has been copied and checked into a sibling temporary folder; a failure
leaves the previously staged models in place. `ctx.out/staged.json` records what went where.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from tqdm import tqdm

from pipeline.config import UserError
from pipeline.core import registry
from pipeline.core.runs import REPO, log, write_json_atomic
from pipeline.devices import accuracy
from pipeline.export import sidecar as schema

# Which artifacts each app can run: (format, backend) pairs from the sidecars.
TARGETS = {
    "android": {"dir": REPO / "mobile/android/app/src/main/assets/models",
                "accepts": registry.APPS["android"]},
    "ios": {"dir": REPO / "mobile/ios/DistilKitQA/Models",
            "accepts": registry.APPS["ios"]},
}
KEEP = {"README.md"}  # the folders' committed notes survive restaging


def phone_copies(target: str, meta: dict) -> int:
    """How many copies of an artifact the phone holds once the app has run."""
    if target == "android":
        return 2  # the APK's asset and the file the app copies out for the runtimes
    return 2 if meta["format"] == "coreml" else 1  # Core ML compiles the package into a .mlmodelc


def read_sidecars(export_dir: Path) -> list[dict]:
    """Every artifact sidecar in the export folder, checked against the files beside it."""
    if not export_dir.is_dir():
        raise UserError(f"apps: export folder not found: {export_dir} (run the export stage first)")
    out = []
    for p in sorted(export_dir.glob("*.json")):
        if not schema.is_sidecar(p):
            continue
        meta = schema.read(p, "apps: ").to_json()  # the schema the apps' ModelSpec parsers read
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


def staged_lengths(apps) -> list[int]:
    """The window lengths each model is staged at: apps.seq_len and, unless 0, apps.short_seq_len."""
    return sorted({int(apps.seq_len)} | ({int(apps.short_seq_len)} if apps.short_seq_len else set()))


def choose(sidecars: list[dict], models, precisions, seq_lens) -> dict[str, list[dict]]:
    lengths = {int(n) for n in (seq_lens if isinstance(seq_lens, (list, tuple, set)) else [seq_lens])}
    picked = {t: [] for t in TARGETS}
    for m in sidecars:
        if m["model"] not in models or m["precision"] not in precisions or int(m["seq_len"]) not in lengths:
            continue
        for target, spec in TARGETS.items():
            if (m["format"], m.get("backend", m["format"])) in spec["accepts"]:
                picked[target].append(m)
    if not any(picked.values()):
        have = sorted({f"{m['model']}/{m['format']}/{m['precision']}/{m['seq_len']}" for m in sidecars})
        raise UserError(f"apps: no artifact matches models={list(models)} precisions={list(precisions)} "
                        f"seq_len={sorted(lengths)}; the export has: {', '.join(have)}")
    return picked


def gate_checks(parity_dir: Path) -> dict[str, dict]:
    """parity.json's checks by artifact file name."""
    path = Path(parity_dir) / "parity.json"
    if not path.is_file():
        raise UserError(f"apps: {path} not found; run the parity stage: only gated artifacts are staged")
    return {c["file"]: c for c in json.loads(path.read_text())["checks"] if c.get("file")}


def refusal(meta: dict, check: dict | None, ungated_int8: bool) -> str | None:
    """Why an artifact may not go into an app, or None."""
    if check is None:
        return "no parity check for it (re-run the parity stage)"
    if not check["passed"]:
        return f"parity gate failed: {check.get('note') or 'no reason recorded'}"
    if not check.get("ran") and meta["precision"] in registry.QUANTIZED and not ungated_int8:
        return (f"{meta['precision']} accuracy not gated on this host ({check.get('note') or 'not run'}); "
                "--apps.ungated_int8 true stages it anyway")
    return None


def gate(picked: dict, checks: dict, smallest_only: bool, ungated_int8: bool) -> tuple[dict, list[dict]]:
    """(what passed, what was refused and why); smallest_only keeps, per app, model and runtime, one
    precision at all its passing window lengths: the one that passed at the most lengths (the apps choose
    between the lengths of one precision), then the smallest (the file sizes from the sidecars)."""
    kept, refused = {}, []
    for target, metas in picked.items():
        runtimes: dict[tuple, dict[str, list[dict]]] = {}
        for m in metas:
            why = refusal(m, checks.get(m["file"]), ungated_int8)
            if why:
                refused.append({"app": target, "file": m["file"], "reason": why})
                continue
            m["_gate"] = checks[m["file"]]
            key = (m["model"], m["format"], m.get("backend", m["format"]))
            runtimes.setdefault(key, {}).setdefault(m["precision"], []).append(m)
        chosen = []
        for by_precision in runtimes.values():
            if smallest_only:
                chosen += min(by_precision.values(), key=lambda g: (-len(g), sum(m["bytes"] for m in g),
                                                                     min(m["file"] for m in g)))
            else:
                chosen += [m for g in by_precision.values() for m in g]
        kept[target] = sorted(chosen, key=lambda m: m["file"])
    return kept, refused


def gate_facts(check: dict) -> dict:
    """What the staged sidecar says about the gate its artifact passed (the apps can show it)."""
    keys = ("passed", "ran", "max_abs_diff", "answer_agreement", "f1_delta", "em_delta", "note")
    facts = {k: check.get(k) for k in keys}
    if check.get("handwritten"):
        facts["natural_f1_delta"] = check["handwritten"]["f1_delta"]
    return facts


def fit(picked: dict[str, list[dict]], export_dir: Path, budget_mb: float) -> tuple[dict, dict]:
    """(what each app gets, what was left out) under budget_mb of phone storage per app (0: no limit).

    Groups are (model, precision) with all their formats, so a model is timed on every runtime
    the app has or on none. Each model at its smallest chosen precision comes first, then the
    rest; smallest first within each pass, skipping what does not fit."""
    kept, left = {}, {}
    for target, metas in picked.items():
        groups: dict[tuple, list[dict]] = {}
        for m in metas:
            groups.setdefault((m["model"], m["precision"]), []).append(m)

        def phone_bytes(group):
            return sum(_size(export_dir / m["file"]) * phone_copies(target, m) for m in group)
        by_size = sorted(groups, key=lambda k: (phone_bytes(groups[k]), k))
        first = {}
        for k in by_size:
            first.setdefault(k[0], k)
        order = [k for k in by_size if first[k[0]] == k] + [k for k in by_size if first[k[0]] != k]
        used, kept[target], left[target] = 0, [], []
        for k in order:
            need = phone_bytes(groups[k])
            if budget_mb and used + need > budget_mb * 1e6:
                left[target] += groups[k]
                continue
            used += need
            kept[target] += groups[k]
        kept[target].sort(key=lambda m: m["file"])
    return kept, left


def plan_lines(picked: dict, left: dict, export_dir: Path, budget_mb: float) -> list[str]:
    """What will be staged and how large it is, said before any copying."""
    lines, total = [], 0
    for target, metas in picked.items():
        size = sum(_size(export_dir / m["file"]) for m in metas)
        phone = sum(_size(export_dir / m["file"]) * phone_copies(target, m) for m in metas)
        total += size
        lines.append(f"apps: {target}: {len(metas)} artifact(s), {size / 1e6:.1f} MB staged, about "
                     f"{phone / 1e6:.0f} MB on the phone" + (f" (budget {budget_mb:g} MB)" if budget_mb else ""))
        if left.get(target):
            names = ", ".join(f"{m['file']} ({_size(export_dir / m['file']) / 1e6:.0f} MB)" for m in left[target])
            lines.append(f"apps: {target}: left out, over the budget: {names}; choose fewer with "
                         "--apps.models / --apps.precisions to stage them")
    lines.append(f"apps: {total / 1e6:.1f} MB to copy in all")
    return lines


def sha256_of(p: Path) -> str:
    """A file's SHA-256; a folder's is that of its sorted '<sha256>  <relative path>' lines."""
    def file_digest(f: Path) -> str:
        h = hashlib.sha256()
        with f.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    if not p.is_dir():
        return file_digest(p)
    listing = "".join(f"{file_digest(f)}  {f.relative_to(p).as_posix()}\n"
                      for f in sorted(p.rglob("*")) if f.is_file())
    return hashlib.sha256(listing.encode()).hexdigest()


def _size(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.is_dir() else p.stat().st_size


def _copy(src: Path, dst: Path) -> None:
    if src.is_dir():
        shutil.copytree(src, dst)
    else:
        shutil.copy2(src, dst)


def question_set(name: str, qa_dir) -> dict | None:
    """questions.json for the apps: the set apps.questions names, from the qa_data stage's folder (None: none)."""
    if name == "none":
        return None
    from pipeline.data.qa_data import load_squad_file
    path = Path(qa_dir) / f"{name}.json"
    if not path.is_file():
        raise UserError(f"apps: {path} not found (apps.questions {name}); run the qa_data stage, or "
                        "--apps.questions none")
    return accuracy.staged_questions(name, load_squad_file(path, "reject"))


def stage(export_dir: Path, picked: dict[str, list[dict]], dirs: dict[str, Path],
          questions: dict | None = None) -> list[dict]:
    """Copy into '<dir>.staging', check sizes, then swap the staged files in (with questions.json, unless questions
    is None). Returns what was staged."""
    records = []
    total = sum(_size(export_dir / m["file"]) for ms in picked.values() for m in ms)
    with tqdm(total=total, unit="B", unit_scale=True, desc="apps") as bar:
        for target, metas in picked.items():
            dest = Path(dirs[target])
            tmp = dest.with_name(dest.name + ".staging")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            try:
                if questions and metas:
                    write_json_atomic(tmp / accuracy.STAGED_NAME, questions)
                for m in metas:
                    for name in (m["file"], m["vocab_file"]):
                        if not (tmp / name).exists():
                            _copy(export_dir / name, tmp / name)
                    size = _size(tmp / m["file"])
                    if size != _size(export_dir / m["file"]):
                        raise UserError(f"apps: copy of {m['file']} into {dest} is incomplete (disk full?)")
                    digest = sha256_of(tmp / m["file"])  # of the copy: what the app will hold
                    if m.get("sha256") not in (None, digest):
                        raise UserError(f"apps: {m['file']} has SHA-256 {digest[:12]}… but {m['_sidecar']} "
                                        f"says {str(m['sha256'])[:12]}…")
                    sidecar = {k: v for k, v in m.items() if not k.startswith("_")}
                    if "_gate" in m:
                        sidecar["parity"] = gate_facts(m["_gate"])
                    write_json_atomic(tmp / m["_sidecar"], dict(sidecar, sha256=digest))
                    bar.update(size)
                    records.append({"app": target, "file": m["file"], "model": m["model"], "format": m["format"],
                                    "backend": m.get("backend", m["format"]), "precision": m["precision"],
                                    "seq_len": int(m["seq_len"]), "bytes": size, "sha256": digest, "dir": str(dest)})
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
    picked = choose(read_sidecars(export_dir), cfg.apps.models, cfg.apps.precisions, staged_lengths(cfg.apps))
    picked, refused = gate(picked, gate_checks(ctx.inputs["parity"]), cfg.apps.smallest_only, cfg.apps.ungated_int8)
    for r in refused:
        log(f"apps: {r['app']}: left out {r['file']}: {r['reason']}")
    for target, metas in picked.items():
        if not metas:
            log(f"apps: nothing for {target} among the chosen artifacts (its formats were not exported)")
    budget = cfg.apps.max_mb
    picked, left = fit(picked, export_dir, budget)
    for line in plan_lines(picked, left, export_dir, budget):
        log(line)
    questions = question_set(cfg.apps.questions, ctx.inputs["qa_data"])
    if questions:
        log(f"apps: the benchmark answers the {len(questions['questions'])} {questions['question_set']} questions with "
            "every staged file (apps.questions)")
    records = stage(export_dir, picked, {t: spec["dir"] for t, spec in TARGETS.items()}, questions)
    left_out = [{"app": t, "file": m["file"], "bytes": _size(export_dir / m["file"])} for t, ms in left.items() for m in ms]
    staged_set = {"question_set": questions["question_set"],
                  "questions": len(questions["questions"])} if questions else None
    write_json_atomic(ctx.out / "staged.json", {"staged": records, "left_out": left_out, "refused": refused,
                                                "budget_mb": budget, "smallest_only": cfg.apps.smallest_only,
                                                "questions": staged_set})
    return {f"{t}_models": sum(r["app"] == t for r in records) for t in TARGETS} | \
        {"bytes": sum(r["bytes"] for r in records), "left_out": len(left_out), "refused": len(refused),
         "questions": len(questions["questions"]) if questions else 0}
