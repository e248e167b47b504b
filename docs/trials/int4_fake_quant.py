"""Trial script (issue 38, lab book "4-bit weights"): what 4-bit weights cost a QA model's F1, part by part, measured in
PyTorch with the weights rounded as the int4 plug-ins round them (symmetric per group; the linear layers' inputs
8-bit per token), so no export is needed. Optionally first trains a QAT copy with the export's own code
(pipeline/export/qat.py) and scores that copy against the original model's fp32 F1, as the gate would.

    python docs/trials/int4_fake_quant.py --model runs/demo/qa_finetune/student --qa runs/demo/qa_data \
        --parts all,table,layers
    python docs/trials/int4_fake_quant.py --model runs/demo/qa_finetune/student --qa runs/demo/qa_data \
        --qat-out runs/qat-trial --set export.int4_qat_epochs=1 --parts all

F1 on the gate's two sets (qa_data dev.json and natural_dev.json), windows of 384 as the apps cut them.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from pipeline.config import load
from pipeline.data.qa_data import load_squad_file
from pipeline.export import parity, qat
from pipeline.export.export import checkpoint_sha256
from pipeline.export.export_model import load_qa
from pipeline.export.int8_search import _fake_weight4

WINDOW = {"max_seq_length": 384, "doc_stride": 128, "max_query_length": 64, "uses_token_type_ids": False,
          "max_answer_length": 30}


def f1s(model, tok, sets, n_best) -> dict:
    return {k: round(parity.reference(model, tok, sets[k], WINDOW, n_best)["scores"]["f1"], 2)
            for k in ("dev_all", "natural")}


def per_token_int8(_, args):
    x = args[0]
    lo, hi = x.amin(-1, keepdim=True).clamp(max=0), x.amax(-1, keepdim=True).clamp(min=0)
    scale = ((hi - lo) / 255).clamp(min=1e-8)
    zero = (-128 - lo / scale).round()
    return ((((x / scale).round() + zero).clamp(-128, 127) - zero) * scale,)


def rounded_f1(model, tok, sets, n_best, part: str, group: int) -> dict:
    """F1 with the part's weights at 4 bits (all, table or layers), the model restored afterwards."""
    head = model.qa_outputs
    layers = {n: m for n, m in model.named_modules() if type(m) is torch.nn.Linear and m is not head}
    table = {"table": model.get_input_embeddings()}
    chosen = {"all": {**layers, **table}, "table": table, "layers": layers}[part]
    kept = {n: m.weight.data.clone() for n, m in chosen.items()}
    hooks = [m.register_forward_pre_hook(per_token_int8) for n, m in chosen.items() if n in layers]
    for n, m in chosen.items():
        m.weight.data = _fake_weight4(kept[n], group, True)
    try:
        return f1s(model, tok, sets, n_best)
    finally:
        for n, m in chosen.items():
            m.weight.data = kept[n]
        for h in hooks:
            h.remove()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, required=True, help="a QA checkpoint folder (qa_finetune/<model>)")
    ap.add_argument("--qa", type=Path, required=True, help="the run's qa_data folder")
    ap.add_argument("--parts", default="all", help="comma-separated: all, table, layers")
    ap.add_argument("--qat-out", type=Path, help="train a QAT copy into this folder first and score it")
    ap.add_argument("--set", action="append", default=[], help="a config override, e.g. export.int4_qat_lr=1e-5")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = load("demo", dict(s.split("=", 1) for s in args.set))
    from transformers import AutoTokenizer
    tok, sets = AutoTokenizer.from_pretrained(str(args.model)), parity.question_sets(args.qa, 0)
    with torch.no_grad():
        print("original fp32", f1s(load_qa(args.model), tok, sets, cfg.qa.n_best), flush=True)
    folder = args.model
    if args.qat_out:
        t0 = time.time()
        train = load_squad_file(args.qa / "train.json", "reject")
        folder, record = qat.qat_copy(cfg, args.model.name, args.model, checkpoint_sha256(args.model), train,
                                      args.qat_out)
        print(f"QAT copy: {record} ({time.time() - t0:.0f} s)", flush=True)
        with torch.no_grad():
            print("QAT copy fp32", f1s(load_qa(folder), tok, sets, cfg.qa.n_best), flush=True)
    model = load_qa(folder)
    with torch.no_grad():
        for part in args.parts.split(","):
            t0 = time.time()
            print(f"{part} at 4 bits", rounded_f1(model, tok, sets, cfg.qa.n_best, part, cfg.export.int4_group_size),
                  f"({time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
