"""Names the config accepts for models, formats, precisions, runtimes and ablation variants.

Kept free of heavy imports so that a bad value is refused before torch loads."""
MODELS = ("teacher", "student", "student_d")
FORMATS = ("coreml", "executorch", "executorch-coreml", "tflite", "onnx")
PRECISIONS = ("fp32", "fp16", "int8")
RUNTIMES = ("pytorch", "executorch", "tflite", "onnx", "coreml")
# Table 4 of the paper: each variant's loss weights on top of the distill section's.
ABLATION_VARIANTS = {
    "full": {},
    "ce_only": {"alpha_mlm": 0.0, "alpha_cos": 0.0},
    "cos_only": {"alpha_ce": 0.0, "alpha_mlm": 0.0},
    "no_mlm": {"alpha_mlm": 0.0},
    "random_init": {},
}
