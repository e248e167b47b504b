"""Accuracy-driven int8: an int8 file that misses its F1 gate gets the fewest linear layers kept float that make it
pass, found by the export itself (accuracy-aware tuning, as in Intel Neural Compressor), not by hand-written lists.

For each ExecuTorch and LiteRT int8 file the export writes the file, gates it exactly as the parity stage gates it
(parity.check: F1 against the same model's fp32 PyTorch on the generated and natural dev sets), and while it misses
writes and gates it again with a prefix of a ranking kept float, doubled while it misses and then halved back to the
shortest that passes, until the ranking runs out or export.int8_search_budget_s is spent. The ranking puts first
what the model's other int8 files of the same kind (dynamic or static) already chose, then every linear layer by the
logit error it causes when it alone is int8 (fake-quantized as the quantizers do: per-channel symmetric weights,
per-tensor affine activations, dynamic or calibrated ranges) on export.int8_search_windows train windows. The
ranking, every step of the search and its gate row go into the sidecar ("int8_search"); parity takes the gate row
from there while the file's sha256 still matches, so a file is gated once.

int4 files are searched the same way with another fall-back (registry.FALLBACK): a layer, or an embedding table,
goes to 8-bit weights instead of float, ranked by the error it causes when it alone has 4-bit weights.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch

from pipeline.core import registry
from pipeline.core.runs import log, sha256_file, write_json_atomic
from pipeline.export import int8, parity


def _linears(module) -> dict:
    # exactly nn.Linear: the QA heads (export_model.QAHead) stay float in every int8 file already
    return {n: m for n, m in module.named_modules() if type(m) is torch.nn.Linear}


def _fake_act(x, lo, hi):
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    scale = max((hi - lo) / 255.0, 1e-8)
    zero = int(round(-128 - lo / scale))
    return torch.fake_quantize_per_tensor_affine(x, scale, max(-128, min(127, zero)), -128, 127)


def _fake_weight(w):
    scale = (w.abs().amax(dim=1) / 127.0).clamp(min=1e-8)
    return torch.fake_quantize_per_channel_affine(w, scale, torch.zeros_like(scale, dtype=torch.int32), 0, -127, 127)


def _fake_weight4(w, group: int, symmetric: bool):
    """4-bit weights (-8..7) with a scale, and a zero point unless symmetric, per group of input channels."""
    g = w.reshape(w.shape[0], -1, group)
    if symmetric:
        scale = (g.abs().amax(-1, keepdim=True) / 7.5).clamp(min=1e-8)
        return ((g / scale).round().clamp(-8, 7) * scale).reshape(w.shape)
    lo, hi = g.amin(-1, keepdim=True), g.amax(-1, keepdim=True)
    scale = ((hi - lo) / 15).clamp(min=1e-8)
    zero = (-8 - lo / scale).round()
    return (((g / scale).round() + zero).clamp(-8, 7) - zero).mul(scale).reshape(w.shape)


@torch.no_grad()
def _ranges(module, layers: dict, windows: list) -> dict:
    """Each layer's input range over the windows (int8-static's calibrated ranges, minmax)."""
    seen = {n: [float("inf"), float("-inf")] for n in layers}

    def hook(name):
        def grab(_, args):
            seen[name][0] = min(seen[name][0], float(args[0].min()))
            seen[name][1] = max(seen[name][1], float(args[0].max()))
        return grab
    handles = [m.register_forward_pre_hook(hook(n)) for n, m in layers.items()]
    try:
        for w in windows:
            module(*w)
    finally:
        for h in handles:
            h.remove()
    return seen


@torch.no_grad()
def sensitivity(module, windows: list, static: bool, int4: dict | None = None) -> list[dict]:
    """Every linear layer of the export forward with the relative logit error it causes when it alone is int8,
    most sensitive first. int4 ({group_size, symmetric}): when it alone has 4-bit weights, the embedding tables
    ranked too (their scheme is the option's; linear layers' is symmetric, as the 4-bit kernels'), ordered by error
    per weight, the bytes 8 bits would give back."""
    layers = _linears(module)
    tables = {n: m for n, m in module.named_modules() if type(m) is torch.nn.Embedding} if int4 else {}
    ref = [torch.cat([t.float() for t in module(*w)], -1) for w in windows]
    norm = sum(float((r * r).sum()) for r in ref) or 1.0
    ranges = _ranges(module, layers, windows) if static else {}
    out = []
    for name, lin in {**layers, **tables}.items():
        kept_w = lin.weight.data.clone()
        lin.weight.data = _fake_weight4(kept_w, int4["group_size"], int4["symmetric"] or name in layers) \
            if int4 else _fake_weight(kept_w)
        fixed = ranges.get(name)
        hook = lin.register_forward_pre_hook(  # weight-only tables see their ids as they are
            lambda _, a, r=fixed, act=name in layers: (_fake_act(a[0], *(r or (a[0].min(), a[0].max()))),) +
            tuple(a[1:]) if act else a)
        try:
            err = sum(float(((torch.cat([t.float() for t in module(*w)], -1) - r) ** 2).sum())
                      for w, r in zip(windows, ref))
        finally:
            hook.remove()
            lin.weight.data = kept_w
        out.append({"module": name, "error": err / norm, "weights": lin.weight.numel()})
    # int4's fall-back costs bytes in proportion to the weights it moves to 8 bits, and the point of int4 is the
    # smallest file: the word table (two thirds of the student's weights) costs the most error alone but little F1
    # (docs/experiments.md, I5 and I6), so 4-bit candidates go by error per weight
    return sorted(out, key=lambda r: -r["error"] / (r["weights"] if int4 else 1))


def order(ranking: list[dict], prior: list[str], kept: list[str]) -> list[str]:
    """The layers to try, in order: what sibling files chose first, then by sensitivity; none already kept."""
    names = list(dict.fromkeys(prior + [r["module"] for r in ranking]))
    return [n for n in names if n not in kept]


def _step(kept: list[str], row: dict, seconds: float) -> dict:
    nat = row.get("handwritten") or {}
    return {"kept_float": list(kept), "passed": bool(row["passed"]), "pooled_f1_delta": _pooled(row),
            "f1_delta": row.get("f1_delta"), "natural_f1_delta": nat.get("f1_delta"), "seconds": round(seconds, 1)}


def _pooled(row: dict) -> float | None:
    """The F1 change the gate judges (parity.pooled's), else the generated dev set's."""
    return (row.get("pooled") or {}).get("f1_delta", row.get("f1_delta"))


def search(make, gate, ranking, prior: list[str], forced: list[str], budget_s: float, name: str,
           fallback: str = "float") -> dict:
    """make(extra_float) writes the file and returns its sidecar dict; gate(sidecar) returns parity's check row.
    ranking() is called only if the first file misses. The layers are tried as prefixes of order(): the prefix the
    model's other files chose first (else one layer), doubled while the file misses, then halved back between the
    longest prefix that missed and the shortest that passed. Returns the record for the sidecar and the extra
    layers of the file to keep (the shortest passing prefix; else the longest tried), the last file written and its
    gate row, and whether that file is not the one to keep (halving back can end on a miss)."""
    start = time.monotonic()
    sc = make([])
    row = gate(sc)
    trace, ranked, todo = [_step(forced, row, time.monotonic() - start)], [], []
    lo, hi, keep = 0, None, []          # longest prefix that missed, shortest that passed
    if not row["passed"]:
        ranked = ranking()
        todo = order(ranked, prior, forced)
        k = max(1, len([p for p in prior if p in todo]))
        while time.monotonic() - start < budget_s and lo < len(todo) and (hi is None or hi - lo > 1):
            k = min(k, len(todo)) if hi is None else (lo + hi) // 2
            t0 = time.monotonic()
            sc = make(todo[:k])
            row = gate(sc)
            trace.append(_step(forced + todo[:k], row, time.monotonic() - t0))
            log(f"export: int8 search {name}: {k} layer{'s' * (k != 1)} {'at ' * (fallback != 'float')}{fallback}: "
                f"F1 {_pooled(row):+.2f} over the gate's questions, {'pass' if row['passed'] else 'miss'}")
            if row["passed"]:
                hi = k
            else:
                lo, k = k, 2 * k
        keep = todo[:hi if hi is not None else lo]
    outcome = ("passed" if not todo else "passed after search") if row["passed"] or hi is not None else \
        "missed: every layer tried" if lo >= len(todo) else "missed: budget spent"
    return {"extra": keep, "last": (sc, row), "rewrite": trace[-1]["kept_float"] != forced + keep,
            "record": {"outcome": outcome, "kept_float": keep, "forced_float": list(forced),
                       "seconds": round(time.monotonic() - start, 1), "budget_s": budget_s,
                       "ranking": [dict(r, error=round(r["error"], 6)) for r in ranked], "trace": trace}}


class Tuner:
    """One model's int8 and int4 search: the gate's references and sensitivity
    rankings per window length, computed once when first needed, and what the model's files chose so far."""

    def __init__(self, cfg, hf, folder: Path, train, qa: Path, out: Path, threads: int):
        from transformers import AutoTokenizer
        self.cfg, self.hf, self.folder, self.train, self.out, self.threads = cfg, hf, folder, train, out, threads
        self.tokenizer, self.sets = AutoTokenizer.from_pretrained(str(folder)), parity.question_sets(qa, 0)
        self.refs, self.rankings, self.chosen = {}, {}, {p: [] for p in registry.FALLBACK}

    def gate(self, sc: dict) -> dict:
        if sc["seq_len"] not in self.refs:
            wanted = [k for k in ("dev_all", "natural") if self.sets.get(k)]
            self.refs[sc["seq_len"]] = parity.refs_for(self.cfg, self.hf, self.tokenizer, sc, self.sets, wanted)
        return parity.check(self.cfg, {k: v for k, v in sc.items() if k != "int8_search"}, self.out / sc["file"],
                            self.refs[sc["seq_len"]], self.threads)

    def ranking(self, module, seq_len: int, precision: str) -> list[dict]:
        key = (seq_len, precision)
        if key not in self.rankings:
            windows = int8.calibration_windows(self.cfg, self.folder, self.train, seq_len, module,
                                               self.cfg.export.int8_search_windows)
            self.rankings[key] = sensitivity(module, windows, precision == "int8-static",
                                                         int8.int4_options(self.cfg) if precision == "int4" else None)
        return self.rankings[key]

    def tuned(self, make, module, seq_len: int) -> dict:
        out = self.out
        first = make()
        precision, forced = first["precision"], [k["module"] for k in first["quantization"].get("kept_float", [])]
        found = search(lambda extra: make(extra) if extra else first, self.gate,
                                   lambda: self.ranking(module, seq_len, precision), self.chosen[precision], forced,
                                   self.cfg.export.int8_search_budget_s, first["file"], registry.FALLBACK[precision])
        sc, row = found["last"]
        if found["rewrite"]:  # the halving ended on a miss: write the shortest passing file again, and gate it
            sc = make(found["extra"])
            row = self.gate(sc)
        # kept_float names the layers moved to the fall-back: float for int8, 8-bit weights for int4
        rec = dict(found["record"], gate=row, file_sha256=sha256_file(out / sc["file"]),
                   question_sets=self.sets["digest"], fallback=registry.FALLBACK[precision])
        self.chosen[precision] += [m for m in rec["kept_float"] if m not in self.chosen[precision]]
        sc = dict(sc, int8_search=rec)
        write_json_atomic(out / f"{sc['file']}.json", sc)
        return sc
