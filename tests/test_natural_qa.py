"""Question writing (translation, docstring templates), the shipped natural-question sets, augmentation."""
import json
import random

import pytest

from pipeline.data import augment, natural_qa, qa_data
from pipeline.data import questions as Q


@pytest.mark.parametrize("sentence, answer, wh, question", [
    ("The queen lays 2,000 eggs a day.", "2,000", "how many", "How many eggs does the queen lay a day?"),
    ("The town of Namex was founded in 1507 by Builder.", "1507", "when", "When was the town of Namex founded by Builder?"),
    ("Marie Curie discovered polonium in 1898.", "polonium", "what", "What did Marie Curie discover in 1898?"),
    ("The parser creates 3 elements for each tag.", "3", "how many", "How many elements does the parser create for each tag?"),
    ("The Romans will call the city Rome later.", "Rome", "what", None),  # not a whole noun phrase: no rule
    ("The command is ignored if the state is disabled.", "command", "what", "What is ignored if the state is disabled?"),
    ("Each colony has a queen, who lays up to 2,000 eggs a day.", "2,000", "how many", None),  # "up to" stays
    ("Karl Drais built the first bicycle in 1817.", "1817", "when", None),  # irregular past: falls back
])
def test_translation_rules(sentence, answer, wh, question):
    a = sentence.index(answer)
    assert Q.translate(sentence, a, a + len(answer), wh) == question


def test_untranslatable_sentence_falls_back_to_the_cloze():
    passage = "Karl Drais built the first bicycle in 1817 in the town of Mannheim."
    [(_, question, start, answer, kind)] = Q.sentence_questions(passage, random.Random(0), "wh")
    assert kind == "cloze" and question.endswith("?") and passage[start:start + len(answer)] == answer
    assert Q.sentence_questions(passage, random.Random(0), "cloze")[0][1] == question


@pytest.mark.parametrize("verb, base", [("lays", "lay"), ("created", "create"), ("stopped", "stop"),
                                        ("carries", "carry"), ("watches", "watch"), ("founded", "found"),
                                        ("this", None), ("is", None)])
def test_base_form(verb, base):
    assert Q.base_form(verb) == base


GOOGLE = """Crop the images to patches and return a list of cropped images.

Args:
images (`torch.Tensor`):
The images to be cropped.
use_thumbnail (`bool`, *optional*, defaults to `True`):
Whether to add a thumbnail image to the list of cropped patches.

Raises:
ValueError: If the images are not square."""

NUMPY = """Returns the root element of the tree.

Parameters
----------
copy : bool, optional
If True, a copy of the input is returned. Defaults to False.

Raises
------
ParseError
If the parser fails to parse the document."""


def _qa(doc_id, text):
    passage = Q.docstring_passage(text)
    out = {q: a for q, start, a, _ in Q.docstring_questions(doc_id, passage)}
    for q, start, a, _ in Q.docstring_questions(doc_id, passage):
        assert passage[start:start + len(a)] == a
    return out


def test_docstring_templates_google_style():
    qa = _qa("transformers:models/x.py:crop_image_to_patches:128", GOOGLE)
    assert qa["What does crop_image_to_patches do?"] == "Crop the images to patches and return a list of cropped images"
    assert qa["What is the default of use_thumbnail in crop_image_to_patches?"] == "True"
    assert qa["What is the images argument of crop_image_to_patches?"] == "The images to be cropped"
    assert qa["What does the use_thumbnail argument of crop_image_to_patches control?"].startswith("Whether to add")
    assert qa["When does crop_image_to_patches raise ValueError?"] == "the images are not square"


def test_docstring_templates_numpy_style():
    qa = _qa("stdlib:xml/etree/ElementTree.py:parse:556", NUMPY)
    assert qa["What does parse return?"] == "root element of the tree"
    assert qa["What happens if copy of parse is True?"] == "a copy of the input is returned"
    assert qa["What is the default of copy in parse?"] == "False"
    assert qa["When does parse raise ParseError?"] == "the parser fails to parse the document"
    assert Q.docstring_questions("pydoc:assert", "The assert statement.") == []  # no function name


def _examples(path):
    return qa_data.load_squad_file(path, "reject")


def test_shipped_sets_are_large_enough_and_share_no_passage():
    train, dev = _examples(natural_qa.TRAIN), _examples(natural_qa.DEV)
    assert len(train) >= 600 and len({e["context"] for e in train}) >= 150
    assert len(dev) >= 150
    assert not {e["context"] for e in train} & {e["context"] for e in dev}
    assert not {e["title"] for e in train} & {e["title"] for e in dev}  # not even another passage of a document
    hand = _examples(qa_data.HANDWRITTEN)
    assert {(e["context"], e["question"]) for e in hand} <= {(e["context"], e["question"]) for e in dev}
    for path in (natural_qa.TRAIN, natural_qa.DEV):
        data = json.loads(path.read_text())
        assert all(a["source"] and a["licence"] for a in data["data"])
        kinds = {q["kind"] for a in data["data"] for p in a["paragraphs"] for q in p["qas"]}
        assert {"written", "doc_summary", "doc_param"} <= kinds


def test_builder_is_deterministic_and_keeps_the_project_passages():
    docs = [(f"numpy:m.py:func{i}:1", NUMPY) for i in range(6)] + [(f"transformers:m.py:crop{i}:1", GOOGLE) for i in range(6)]
    train, dev = natural_qa.build(docs, seed=0, n_corpus_train=12, n_corpus_dev=6)
    assert (train, dev) == natural_qa.build(list(reversed(docs)), seed=0, n_corpus_train=12, n_corpus_dev=6)
    assert natural_qa.build(docs, seed=1, n_corpus_train=12, n_corpus_dev=6) != (train, dev)
    tr, dv = (qa_data.parse_squad(d, "built", "reject") for d in (train, dev))
    assert not {e["title"] for e in tr} & {e["title"] for e in dv}
    assert any(e["title"].startswith("numpy") for e in tr + dv)
    # The project's own passages in the shipped files are exactly what the builder makes from them.
    shipped = {e["id"]: e for e in _examples(natural_qa.TRAIN) + _examples(natural_qa.DEV)}
    own = [e for e in tr + dv if e["id"].startswith(("nat-", "hand-")) and ":" not in e["id"]]
    assert own and all(shipped[e["id"]] == e for e in own)
    # Passages marked for training go there alone, and the rest still split half and half.
    passages = json.loads(qa_data.WRITTEN.read_text())
    train_only = {p["title"] for p in passages if p.get("split") == "train"}
    assert {p.get("split", "both") for p in passages} == {"both", "train"}
    assert train_only <= {e["title"] for e in tr} and not train_only & {e["title"] for e in dv}
    written = [{e["title"] for e in exs if e["id"].startswith("nat-") and ":" not in e["id"]} for exs in (tr, dv)]
    halves = [titles - train_only for titles in written]
    assert len(halves[0]) == len(halves[1]) == sum("split" not in p for p in passages) // 2


def test_augmented_copies_keep_answers_valid_and_are_deterministic():
    exs = _examples(natural_qa.TRAIN)[:40]
    copies = augment.augmented_copies(exs, 120, seed=5, mask_prob=0.3, ngram_prob=0.5)
    assert copies == augment.augmented_copies(exs, 120, seed=5, mask_prob=0.3, ngram_prob=0.5)
    assert copies != augment.augmented_copies(exs, 120, seed=6, mask_prob=0.3, ngram_prob=0.5)
    again = qa_data.parse_squad(qa_data.to_squad(copies), "augmented", "reject")
    assert len(again) == 120 and len({e["id"] for e in again}) == 120
    assert any(augment.MASK in e["context"] for e in copies)
    by_id = {e["id"]: e for e in exs}
    for c in copies:
        src = by_id[c["id"].rsplit("-aug", 1)[0]]
        assert c["answers"][0]["text"] == src["answers"][0]["text"] and c["question"] == src["question"]
    windows = augment.augmented_copies(exs, 40, seed=5, mask_prob=0.0, ngram_prob=1.0)
    for c in windows:  # n-gram sampling: a run of whole sentences of the passage, holding the answer
        src = by_id[c["id"].rsplit("-aug", 1)[0]]["context"]
        assert c["context"] in src and augment.MASK not in c["context"]
    assert any(len(c["context"]) < len(by_id[c["id"].rsplit("-aug", 1)[0]]["context"]) for c in windows)
    unmasked = augment.augmented_copies(exs, 40, seed=5, mask_prob=0.0, ngram_prob=0.0)
    assert [(c["context"], c["answers"]) for c in unmasked] == [(by_id[c["id"].rsplit("-aug", 1)[0]]["context"],
                                                                 by_id[c["id"].rsplit("-aug", 1)[0]]["answers"]) for c in unmasked]
