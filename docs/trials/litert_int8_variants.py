"""Trial script (issue 35, lab book "LiteRT int8"): why a LiteRT dynamic int8 file loses more F1 than ExecuTorch's
int8 file of the same model. Re-quantizes a run's fp32 .tflite with ai_edge_quantizer recipe variants and gates each
file exactly as the export's search does (int8_search.Tuner.gate: F1 against the model's fp32 PyTorch on the
generated and natural dev sets), so no export stage runs.

    python docs/trials/litert_int8_variants.py --run runs/demo --model student --seq-len 384 \
        --variants recipe,table_float,file:student.executorch.int8.384.pte --out runs/litert-trial

Variants: recipe (the export's: litert_torch full_dynamic_recipe, QA heads float); table_float (the embedding lookups
left float); asym_inputs (the fully connected ops' inputs quantized asymmetrically, FullyConnectedOptions
asymmetricQuantizeInputs, as XNNPACK's dynamic int8 kernels do); weight_only (int8 weights dequantized to float
compute, no activation rounding); file:NAME (a file the export wrote into the run's export folder, e.g.
file:student.executorch.int8.384.pte). Beside each F1 change: its paired standard error (parity.paired_se) and how many
answers changed, the noise the gate's limit sits in.
"""
from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from pipeline.config import load
from pipeline.data.qa_data import load_squad_file
from pipeline.export.export_model import load_qa
from pipeline.export.formats import litert
from pipeline.export.int8_search import Tuner


def quantize(float_model: bytes, variant: str) -> bytes:
    from ai_edge_quantizer import algorithm_manager, qtyping, recipe_manager
    from litert_torch.generative.quantize.quant_recipes import full_dynamic_recipe
    from litert_torch.quantize import translate_recipe
    recipe = translate_recipe.translate_to_ai_edge_recipe(full_dynamic_recipe().generative_recipe)
    if variant == "weight_only":
        recipe = [dict(r, op_config=dict(r["op_config"], explicit_dequantize=True, compute_precision="FLOAT"))
                  for r in recipe]
    rm = recipe_manager.RecipeManager()
    rm.load_quantization_recipe(recipe)
    for regex in litert._head_scopes(float_model):
        rm.add_quantization_config(regex, qtyping.TFLOperationName.ALL_SUPPORTED,
                                   algorithm_key=algorithm_manager.AlgorithmName.NO_QUANTIZE)
    if variant == "table_float":
        rm.add_quantization_config(".*", qtyping.TFLOperationName.EMBEDDING_LOOKUP,
                                   algorithm_key=algorithm_manager.AlgorithmName.NO_QUANTIZE)
    out = bytes(translate_recipe.quantize_model(float_model, rm.get_quantization_recipe()))
    return asymmetric_inputs(out) if variant == "asym_inputs" else out


def asymmetric_inputs(model_bytes: bytes) -> bytes:
    from ai_edge_litert.tools import flatbuffer_utils
    model = flatbuffer_utils.read_model_from_bytearray(bytearray(model_bytes))
    for op in model.subgraphs[0].operators:
        if model.operatorCodes[op.opcodeIndex].builtinCode == 9 and hasattr(op.builtinOptions, "asymmetricQuantizeInputs"):
            op.builtinOptions.asymmetricQuantizeInputs = True
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", type=Path, required=True, help="a run folder with qa_finetune, qa_data and export")
    ap.add_argument("--model", default="student")
    ap.add_argument("--seq-len", type=int, default=384)
    ap.add_argument("--variants", default="recipe,table_float,asym_inputs,weight_only")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    cfg = load("demo", {})
    folder, qa = args.run / "qa_finetune" / args.model, args.run / "qa_data"
    stem = f"{args.model}.tflite.%s.{args.seq_len}.tflite"
    float_model = (args.run / "export" / (stem % "fp32")).read_bytes()
    sidecar = json.loads((args.run / "export" / ((stem % "int8") + ".json")).read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    tuner = Tuner(cfg, load_qa(folder), folder, load_squad_file(qa / "train.json", "reject"), qa, args.out, 1)
    for variant in args.variants.split(","):
        t0 = time.monotonic()
        if variant.startswith("file:"):  # a file the export wrote, scored the same way (e.g. ExecuTorch's int8)
            name = variant[5:]
            shutil.copyfile(args.run / "export" / name, args.out / name)
            sc = json.loads((args.run / "export" / (name + ".json")).read_text())
        else:
            name, sc = f"{args.model}.tflite.int8-{variant}.{args.seq_len}.tflite", dict(sidecar, quantization={})
            (args.out / name).write_bytes(quantize(float_model, variant))
        sc = dict(sc, file=name)
        row = tuner.gate(sc)
        sets = {"generated dev": row, "natural dev": row.get("handwritten") or {}, "pooled": row["pooled"]}
        print(f"{variant:12s} " + "  ".join(
            f"{k} F1 {r['f1_delta']:+.2f} (se {r['f1_delta_se']:.2f}"
            + (f", {round((1 - r['answer_agreement']) * r['n'])} answers changed)" if "answer_agreement" in r else ")")
            for k, r in sets.items() if r) +
            f"  {(args.out / name).stat().st_size / 1e6:.2f} MB  {time.monotonic() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
