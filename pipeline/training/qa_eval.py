"""QA evaluation: loading a QA checkpoint, its windows, predictions and SQuAD scores, and the per-epoch
learning curve (EpochCurve) that qa_finetune scores the teacher (and, with qa.student_curve, the students) by.
The training stage (qa_finetune) and the ablation's short fine-tune share these."""
from __future__ import annotations

import time
from pathlib import Path

from pipeline.config import UserError
from pipeline.core.models import uses_token_types
from pipeline.core.runs import log
from pipeline.data import squad_metrics
from pipeline.data.qa_features import best_answers, prepare_features
from pipeline.training.qa_loop import window_logits


def load_qa_model(folder: Path):
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer
    from transformers.utils import logging as hf_logging
    if not (Path(folder) / "config.json").is_file():
        raise UserError(f"no model checkpoint in {folder} (config.json missing); re-run the stage that makes it")
    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the new QA head is expected to be "newly initialised"
    try:
        model = AutoModelForQuestionAnswering.from_pretrained(folder)
        tok = AutoTokenizer.from_pretrained(folder)
    finally:
        hf_logging.set_verbosity(level)
    return model, tok


def featurize(tok, examples: list[dict], cfg, token_type_ids: bool, labels: bool) -> list[dict]:
    """One dict per window; with labels, start/end token of the first gold answer (0 = [CLS]
    when the answer is not wholly inside the window, the usual SQuAD v1.1 convention)."""
    q = cfg.qa
    enc = prepare_features(tok, [e["question"] for e in examples], [e["context"] for e in examples],
                           max_seq_length=q.max_seq_length, doc_stride=q.doc_stride,
                           max_query_length=q.max_query_length, token_type_ids=token_type_ids)
    feats = []
    for i, offsets in enumerate(enc["offset_mapping"]):
        f = {k: enc[k][i] for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc}
        f["offsets"], f["example"] = offsets, enc["example_index"][i]
        if labels:
            ans = examples[f["example"]]["answers"][0]
            a, b = ans["answer_start"], ans["answer_start"] + len(ans["text"])
            ctx_tok = [j for j, o in enumerate(offsets) if o is not None]
            f["start"] = f["end"] = 0
            if offsets[ctx_tok[0]][0] <= a and offsets[ctx_tok[-1]][1] >= b:
                f["start"] = max(j for j in ctx_tok if offsets[j][0] <= a)
                f["end"] = min(j for j in ctx_tok if offsets[j][1] >= b)
        feats.append(f)
    return feats


def predict(model, tok, examples: list[dict], cfg, device, desc: str) -> dict:
    feats = featurize(tok, examples, cfg, uses_token_types(model), labels=False)
    for i, f in enumerate(feats):
        f["id"] = i
    logits = window_logits(model, feats, device, 2 * cfg.qa.batch_size, desc)
    return best_answers(examples, [f["example"] for f in feats], [f["offsets"] for f in feats],
                        [logits[f["id"]][0].tolist() for f in feats], [logits[f["id"]][1].tolist() for f in feats],
                        n_best=cfg.qa.n_best, max_answer_length=cfg.qa.max_answer_length)


def score(model, tok, examples: list[dict], cfg, device, desc: str) -> tuple[dict, dict]:
    """(predictions, SQuAD v1.1 scores) of one model on one evaluation set."""
    preds = predict(model, tok, examples, cfg, device, desc)
    return preds, squad_metrics.evaluate(preds, {e["id"]: [a["text"] for a in e["answers"]] for e in examples})


class EpochCurve:
    """The QA teacher's learning curve: after each epoch, EM/F1 on the evaluation sets (the first
    one decides); converged once one more epoch moved its F1 by less than qa.converge_f1."""

    def __init__(self, model, tok, sets: dict, cfg, device, stops: bool = True, name: str = "teacher"):
        self.model, self.tok, self.sets, self.cfg, self.device, self.stops = model, tok, sets, cfg, device, stops
        self.name = name
        self.curve, self.t0 = [], time.time()

    def converged(self) -> bool:
        f1 = [next(iter(e["scores"].values()))["f1"] for e in self.curve]
        return self.stops and len(f1) >= 2 and abs(f1[-1] - f1[-2]) < self.cfg.qa.converge_f1

    def __call__(self, step: int) -> bool:
        """Evaluate after optimizer step `step` (an epoch end); True: stop training."""
        scores = {}
        for ds, examples in self.sets.items():
            _, sc = score(self.model, self.tok, examples, self.cfg, self.device, f"epoch {len(self.curve) + 1} {ds}")
            scores[ds] = {k: round(v, 3) for k, v in sc.items()}
        self.curve.append({"epoch": len(self.curve) + 1, "steps": step, "seconds": round(time.time() - self.t0, 1),
                           "scores": scores})
        self.t0 = time.time()
        log(f"qa_finetune: {self.name} epoch {len(self.curve)}: " +
            ", ".join(f"{ds} F1 {sc['f1']:.1f}" for ds, sc in scores.items()))
        return self.converged()

    def summary(self) -> dict:
        """What train.json and the stage's metrics record about the curve."""
        if not self.stops:
            return {"curve": self.curve}
        return {"curve": self.curve, "converged": self.converged(), "max_epochs": self.cfg.qa.teacher_epochs,
                "converge_f1": self.cfg.qa.converge_f1}
