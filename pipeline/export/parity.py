"""Stage "parity": every exported artifact that runs on this host against PyTorch.

For each (model, seq_len) the dev questions are cut into windows exactly as the apps do
(pipeline.data.qa_features, padded to the artifact's length), the transformers checkpoint gives
the reference logits, and each artifact runs the same windows in its own runtime. Gates:

- fp32: max |logit difference| <= export.max_abs_diff_fp32 and 100% answer agreement;
- fp16: answer agreement >= export.min_agreement_quantized;
- int8 / int8-static: accuracy. F1 at most export.int8_max_f1_drop points below the same model's
  PyTorch fp32 F1 over every dev question it has (the whole generated dev set and the natural-question
  dev set, pooled: one rounding flips a different handful of near-tie answers, and on 300 questions
  alone the change's standard error was 0.74 points, too close to the limit to tell layers apart), and
  at most export.int8_max_f1_drop_handwritten on the natural-question dev set alone (qa_data's
  natural_dev.json; runs made before it existed use handwritten.json). Each set's change comes with its
  paired standard error; EM, answer agreement and max logit difference are reported beside it, not gated.

Core ML cannot predict on Linux: its spec is loaded and the interface checked against the
sidecar, and the check says "not run". The stage writes every check to results/parity.json
and then fails, with one line per failed gate, if an fp32 or fp16 gate is not met (a broken
export). A quantized artifact that misses its accuracy gate is a measured result, not a broken
export: it is logged and recorded as failed, and the apps stage keeps it out.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from pipeline.config import UserError
from pipeline.core import registry, results
from pipeline.core.runs import log, sha256_file, write_json_atomic
from pipeline.core.workers import run_jobs
from pipeline.data import squad_metrics
from pipeline.data.qa_data import load_squad_file
from pipeline.data.qa_features import best_answers, prepare_features
from pipeline.export import formats, runtimes
from pipeline.export import sidecar as schema
from pipeline.export.export_model import load_qa


def load_dev(path: Path, limit: int) -> list[dict]:
    """The qa_data stage's dev questions (read as qa_finetune reads them), the first `limit` (0 = all)."""
    try:
        out = load_squad_file(path, "reject")
    except UserError as e:
        raise UserError(f"parity: QA dev set: {e}") from None
    if not out:
        raise UserError(f"parity: {path} holds no answered questions")
    return out[:limit] if limit else out


def gold(examples) -> dict:
    return {e["id"]: [a["text"] for a in e["answers"]] for e in examples}


def windows(tokenizer, examples, sidecar: dict) -> dict:
    return prepare_features(tokenizer, [e["question"] for e in examples], [e["context"] for e in examples],
                            max_seq_length=sidecar["max_seq_length"], doc_stride=sidecar["doc_stride"],
                            max_query_length=sidecar["max_query_length"],
                            token_type_ids=sidecar["uses_token_type_ids"], pad=True)


@torch.no_grad()
def reference_logits(model, feats: dict, batch: int = 16) -> tuple[np.ndarray, np.ndarray]:
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in feats]
    starts, ends = [], []
    for i in range(0, len(feats["input_ids"]), batch):
        out = model(**{n: torch.tensor(feats[n][i:i + batch]) for n in names})
        starts.append(out.start_logits.float().numpy())
        ends.append(out.end_logits.float().numpy())
    return np.concatenate(starts), np.concatenate(ends)


def predictions(examples, feats, starts, ends, sidecar: dict, n_best: int) -> dict:
    return best_answers(examples, feats["example_index"], feats["offset_mapping"], starts, ends,
                        n_best=n_best, max_answer_length=sidecar["max_answer_length"])


def score(runner, sidecar: dict, ref: dict, n_best: int) -> dict:
    """Run every window of one question set through the artifact; its scores against the reference."""
    feats, examples = ref["feats"], ref["examples"]
    starts, ends = [], []
    for w in range(len(feats["input_ids"])):
        s, e = runner(runtimes.feed_for(sidecar, {k: v[w] for k, v in feats.items() if k in
                                                   ("input_ids", "attention_mask", "token_type_ids")}))
        starts.append(np.asarray(s, np.float32).reshape(-1))
        ends.append(np.asarray(e, np.float32).reshape(-1))
    starts, ends = np.stack(starts), np.stack(ends)
    diff = float(max(np.abs(starts - ref["start"]).max(), np.abs(ends - ref["end"]).max()))
    preds, golds = predictions(examples, feats, starts, ends, sidecar, n_best), gold(examples)
    scores = squad_metrics.evaluate(preds, golds)
    return {"max_abs_diff": diff, "answer_agreement": float(np.mean([preds[k] == ref["preds"][k] for k in preds])),
            "em_delta": scores["exact_match"] - ref["scores"]["exact_match"],
            "f1_delta": scores["f1"] - ref["scores"]["f1"], "f1_delta_se": paired_se(preds, ref["preds"], golds),
            "exact_match": scores["exact_match"], "f1": scores["f1"], "n": scores["n"],
            "windows": len(starts)}


def paired_se(preds: dict, ref_preds: dict, golds: dict) -> float:
    """Standard error of an F1 change measured question by question against the reference's answers: how far the
    change moves when a rounding flips a different handful of near-tie answers (docs/experiments.md, trial X5)."""
    f1 = lambda p, q: 100 * squad_metrics.best_over_gold(squad_metrics.f1, p.get(q, ""), golds[q])
    d = np.array([f1(preds, q) - f1(ref_preds, q) for q in golds])
    return float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")


def pooled(row: dict) -> dict:
    """The F1 change over every question of the int8 gate (generated dev and natural dev together: an F1 is a mean
    over questions, so the pooled change is the mean of the two weighted by their sizes)."""
    parts = [r for r in (row, row.get("handwritten")) if r and r.get("f1_delta") is not None]
    n = sum(r["n"] for r in parts)
    if not n:
        return {"f1_delta": None, "n": 0}
    se = [r.get("f1_delta_se") for r in parts]
    return {"f1_delta": sum(r["f1_delta"] * r["n"] for r in parts) / n, "n": n,
            "f1_delta_se": None if None in se else float(np.sqrt(sum((s * r["n"]) ** 2 for s, r in zip(se, parts))) / n)}


def check(cfg, sidecar: dict, path: Path, refs: dict, threads: int) -> dict:
    """refs: "dev" (the first export.parity_examples), and for int8 "dev_all" and "natural"."""
    row = {k: sidecar[k] for k in ("model", "format", "precision", "seq_len")}
    row.update(file=sidecar["file"], backend=sidecar["backend"], ran=False, max_abs_diff=None,
               answer_agreement=None, em_delta=None, f1_delta=None)
    try:
        runner, _ = runtimes.load(path, threads, sidecar)
    except runtimes.NotRunnable as e:
        problems = formats.for_artifact(sidecar["format"], sidecar["backend"]).interface_problems(path, sidecar)
        if problems is not None:  # a format that can check a file it cannot run here (Core ML's spec)
            return dict(row, passed=not problems, note="not run: " + str(e) + "; spec interface " +
                        ("matches the sidecar" if not problems else "WRONG: " + "; ".join(problems)))
        return dict(row, passed=path.exists(), note=f"not run: {e}")
    quantized = sidecar["precision"] in registry.QUANTIZED
    row.update(ran=True, **score(runner, sidecar, refs["dev_all" if quantized else "dev"], cfg.qa.n_best))
    if quantized and refs.get("natural"):
        row["handwritten"] = score(runner, sidecar, refs["natural"], cfg.qa.n_best)
        row["handwritten"]["question_set"] = refs["natural"]["question_set"]
    if quantized:
        row["pooled"] = pooled(row)  # the figure the gate judges
        # what the export's search keeps with its gate row, so that parity need not score PyTorch again
        row["reference_scores"] = {k: dict(refs[k]["scores"], question_set=refs[k].get("question_set", k))
                                   for k in ("dev_all", "natural") if k in refs}
    return dict(row, **_gate(cfg, sidecar, row))


def _gated_in_export(sidecar: dict, path: Path, digest: str) -> dict | None:
    """The gate row the export's int8 search recorded, while the file and the question sets are those it gated."""
    rec = sidecar.get("int8_search") or {}
    # a gate row from before the pooled gate judged the generated dev set alone: gate such a file again
    if not rec.get("gate") or "pooled" not in rec["gate"] or rec.get("question_sets") != digest \
            or not path.is_file() or rec.get("file_sha256") != sha256_file(path):
        return None
    note = "; ".join(filter(None, [rec["gate"].get("note"), "gated in export (int8 search: " + rec["outcome"] + ")"]))
    return dict(rec["gate"], note=note, int8_search={k: v for k, v in rec.items() if k != "gate"})


def _gate(cfg, sidecar: dict, row: dict) -> dict:
    """fp32: logits; fp16: answer agreement; int8: accuracy against the same model's fp32 PyTorch
    (agreement and logit diff are reported, not gated: int8 flips near-tie answers at no F1 cost)."""
    fails, diff, agree = [], row["max_abs_diff"], row["answer_agreement"]
    if sidecar["precision"] == "fp32":
        if not diff <= cfg.export.max_abs_diff_fp32:  # also catches NaN
            fails.append(f"max abs logit diff {diff:.2e} > {cfg.export.max_abs_diff_fp32:g}")
        if agree < 1.0:
            fails.append(f"answer agreement {agree:.1%} < 100%")
    elif sidecar["precision"] in registry.QUANTIZED:
        natural = (row.get("handwritten") or {}).get("question_set", "natural_dev")
        for label, r, limit in ((f"generated dev + {natural}", row["pooled"], cfg.export.int8_max_f1_drop),
                                (natural, row.get("handwritten"), cfg.export.int8_max_f1_drop_handwritten)):
            if r is not None and not -r["f1_delta"] <= limit:  # NaN fails too
                fails.append(f"{label} F1 {-r['f1_delta']:.2f} points below fp32 PyTorch > {limit:g} "
                             f"({r['n']} questions)")
    elif agree < cfg.export.min_agreement_quantized:
        fails.append(f"answer agreement {agree:.1%} < {cfg.export.min_agreement_quantized:.0%}")
    return {"passed": not fails, "note": "; ".join(fails) or None}


def reference(model, tokenizer, examples, sidecar: dict, n_best: int) -> dict:
    feats = windows(tokenizer, examples, sidecar)
    start, end = reference_logits(model, feats)
    preds = predictions(examples, feats, start, end, sidecar, n_best)
    return {"examples": examples, "feats": feats, "start": start, "end": end, "preds": preds,
            "scores": squad_metrics.evaluate(preds, gold(examples))}


def reference_row(name: str, seq_len: int, ref: dict, question_set: str) -> dict:
    s = ref["scores"]
    return dict(model=name, format="pytorch", precision="fp32", seq_len=seq_len, ran=True, max_abs_diff=0.0,
                answer_agreement=1.0, em_delta=0.0, f1_delta=0.0, passed=True, question_set=question_set,
                note=f"reference (transformers eager), {question_set}", exact_match=s["exact_match"],
                f1=s["f1"], n=s["n"])


def group_refs(cfg, folder: Path, group: list[dict], sets: dict) -> dict:
    """The references the group's checks need: the fp32/fp16 sample, and the int8 sets unless no file needs them."""
    from transformers import AutoTokenizer
    tokenizer, model = AutoTokenizer.from_pretrained(str(folder)), load_qa(folder)
    wanted = ["dev"]
    if any(sc["precision"] in registry.QUANTIZED for sc in group):
        wanted += [k for k in ("dev_all", "natural") if sets.get(k)]
    return refs_for(cfg, model, tokenizer, group[0], sets, wanted)


def refs_for(cfg, model, tokenizer, sidecar: dict, sets: dict, wanted: list[str]) -> dict:
    """The PyTorch references of the question sets `wanted` at one sidecar's window, for check()."""
    refs = {k: reference(model, tokenizer, sets[k], sidecar, cfg.qa.n_best) for k in wanted}
    if "natural" in refs:
        refs["natural"]["question_set"] = sets["natural_name"]
    return dict(refs, digest=sets["digest"])


def natural_set(qa: Path) -> tuple[str, list[dict]]:
    """The int8 gate's second question set: natural_dev.json, else (older runs) handwritten.json."""
    for name in ("natural_dev", "handwritten"):
        if (qa / f"{name}.json").is_file():
            return name, load_dev(qa / f"{name}.json", 0)
    return "none", []


def question_sets(qa: Path, dev_limit: int) -> dict:
    """The gates' question sets from a qa_data folder (dev_limit: the fp32/fp16 gates' share of the dev set), and
    one digest of what the int8 gate reads."""
    import hashlib
    import json
    dev_all = load_dev(qa / "dev.json", 0)
    natural_name, natural = natural_set(qa)
    digest = hashlib.sha256(json.dumps([dev_all, natural_name, natural], sort_keys=True).encode()).hexdigest()
    # int8 is gated on accuracy, so on every dev question, not the sample the fp32/fp16 gates use.
    return {"dev": dev_all[:dev_limit], "dev_all": dev_all, "natural": natural,
            "natural_name": natural_name, "digest": digest}


def _check_group(cfg, folder: Path, exp: Path, group: list[dict], sets: dict, threads: int) -> list[dict]:
    """The reference rows of one model at one window length, then a check row per artifact (a workers job). An int8
    file the export's search gated keeps that gate row, and its PyTorch reference scores stand in for scoring
    PyTorch again on the int8 sets when no other file of the group needs them."""
    gated = {sc["file"]: _gated_in_export(sc, exp / sc["file"], sets["digest"]) for sc in group
             if sc["precision"] in registry.QUANTIZED}
    todo = [sc for sc in group if not gated.get(sc["file"])]
    refs = group_refs(cfg, folder, todo or group[:1], sets)
    done = [g for g in gated.values() if g]
    if done and not any(k in refs for k in ("dev_all", "natural")):
        refs.update({k: {"scores": v, "question_set": v["question_set"]}
                     for k, v in done[0].pop("reference_scores", {}).items()})
    rows = [reference_row(group[0]["model"], group[0]["seq_len"], r, r.get("question_set", k))
            for k, r in refs.items() if k != "digest"]
    checks = [gated.get(sc["file"]) or check(cfg, sc, exp / sc["file"], refs, threads) for sc in group]
    return rows + [{k: v for k, v in c.items() if k != "reference_scores"} for c in checks]


def run(cfg, ctx) -> dict:
    exp, ckpts, qa = Path(ctx.inputs["export"]), Path(ctx.inputs["qa_finetune"]), Path(ctx.inputs["qa_data"])
    sets = question_sets(qa, cfg.export.parity_examples)
    dev_all, natural, natural_name = sets["dev_all"], sets["natural"], sets["natural_name"]
    sidecars = sorted((schema.read(p, "parity: ").to_json() for p in exp.glob("*.json") if schema.is_sidecar(p)),
                      key=lambda s: (s["model"], s["seq_len"], s["format"], s["backend"], s["precision"]))
    if not sidecars:
        raise UserError(f"parity: no artifact sidecars in {exp}; run the export stage")
    groups = {}
    for sc in sidecars:
        groups.setdefault((sc["model"], sc["seq_len"]), []).append(sc)
    # Parity is about values, not speed: every core, a model and window length per worker process. The teacher's
    # long windows first, so that the smaller groups fill the other workers meanwhile.
    order = sorted(groups, key=lambda g: (g[0] != "teacher", -g[1], g[0]))
    with tqdm(total=len(sidecars), desc="parity", unit="artifact") as bar:
        done = run_jobs(cfg, _check_group, {g: (cfg, ckpts / g[0], exp, groups[g], sets) for g in order},
                        on_done=lambda g: bar.update(len(groups[g])))
    checks = [row for g in groups for row in done[g]]
    result = results.document("parity", results.run_scale(cfg, results.host_label()), checks=checks,
                              gates={"max_abs_diff_fp32": cfg.export.max_abs_diff_fp32, "agreement_fp32": 1.0,
                                     "agreement_fp16": cfg.export.min_agreement_quantized,
                                     "int8_max_f1_drop": cfg.export.int8_max_f1_drop,
                                     "int8_max_f1_drop_handwritten": cfg.export.int8_max_f1_drop_handwritten},
                              dev_questions=len(sets["dev"]), dev_questions_int8=len(dev_all),
                              natural_set=natural_name, handwritten_questions=len(natural))
    write_json_atomic(ctx.out / "parity.json", result)
    results.write(ctx.results / "parity.json", result)
    for c in checks:
        if c["format"] != "pytorch":
            log(f"parity: {'ok  ' if c['passed'] else 'FAIL'} {c['file']}: " + (
                f"max diff {c['max_abs_diff']:.2e}, agreement {c['answer_agreement']:.1%}, "
                f"EM {c['em_delta']:+.2f}, F1 {c['f1_delta']:+.2f}" + (
                    f" (gate's {c['pooled']['n']} questions F1 {c['pooled']['f1_delta']:+.2f}"
                    f" +- {c['pooled']['f1_delta_se']:.2f})" if c.get("pooled") else "") + (
                    f" ({c['handwritten']['question_set']} EM {c['handwritten']['em_delta']:+.2f}, "
                    f"F1 {c['handwritten']['f1_delta']:+.2f})"
                    if c.get("handwritten") else "") if c["ran"] else "") + (f" ({c['note']})" if c["note"] else ""))
    # A missed int8 accuracy gate keeps the artifact out of the apps (stage_apps reads parity.json).
    failed = [c for c in checks if not c["passed"] and c["precision"] not in registry.QUANTIZED]
    if failed:
        raise UserError(f"parity gate failed for {len(failed)} of {len(checks)} artifacts: " +
                        "; ".join(f"{c['file']}: {c['note']}" for c in failed))
    return {"checks": len(checks), "ran": sum(c["ran"] for c in checks), "passed": sum(c["passed"] for c in checks)}
