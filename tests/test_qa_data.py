"""QA data stage: SQuAD validation, the hand-written set, and the generated cloze splits."""
import copy
import random
import json

import pytest

import qa_tiny
from pipeline.data import qa_data
from pipeline.config import UserError
from pipeline.core.runs import StageContext

GOOD = {"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": "Karl Drais built it in 1817.", "qas": [
    {"id": "ok1", "question": "Who built it?", "answers": [{"text": "Karl Drais", "answer_start": 0}]},
    {"id": "ok2", "question": "When?", "answers": [{"text": "1817", "answer_start": 23}]}]}]}]}


def _write(tmp_path, data, name="squad.json"):
    p = tmp_path / name
    p.write_text(data if isinstance(data, str) else json.dumps(data))
    return p


def test_good_file_round_trips(tmp_path):
    exs = qa_data.load_squad_file(_write(tmp_path, GOOD))
    assert [e["id"] for e in exs] == ["ok1", "ok2"]
    again = qa_data.parse_squad(qa_data.to_squad(exs), "round trip", "reject")
    assert again == exs


@pytest.mark.parametrize("mutate, problem", [
    (lambda qa: qa["answers"][0].update(answer_start=3), "not at answer_start"),
    (lambda qa: qa.pop("answers"), "missing or empty 'answers'"),
    (lambda qa: qa.pop("question"), "question"),
    (lambda qa: qa["answers"][0].pop("text"), "no 'text'"),
])
def test_bad_example_is_named_then_skipped_or_rejected(tmp_path, capsys, mutate, problem):
    data = copy.deepcopy(GOOD)
    mutate(data["data"][0]["paragraphs"][0]["qas"][1])
    path = _write(tmp_path, data)
    exs = qa_data.load_squad_file(path, "skip")
    assert [e["id"] for e in exs] == ["ok1"]
    err = capsys.readouterr().err
    assert "ok2" in err and problem in err
    with pytest.raises(UserError, match=f"example ok2: .*{problem}"):
        qa_data.load_squad_file(path, "reject")


@pytest.mark.parametrize("content, match", [
    (None, "not found"), ("{not json", "not valid JSON"), ({"data": [{"title": "x"}]}, "paragraphs"),
    ({"version": "1.1"}, "no top-level 'data'"),
])
def test_missing_or_malformed_file_is_a_user_error(tmp_path, content, match):
    path = tmp_path / "missing.json" if content is None else _write(tmp_path, content)
    with pytest.raises(UserError, match=match):
        qa_data.load_squad_file(path)


def test_handwritten_set_is_valid_and_large_enough():
    exs = qa_data.load_squad_file(qa_data.HANDWRITTEN, "reject")
    assert len(exs) >= 40 and len({e["context"] for e in exs}) >= 8


@pytest.mark.parametrize("questions", ["wh", "cloze", "wh+doc"])
def test_generated_splits_are_deterministic_and_from_different_documents(questions):
    docs = sorted(qa_tiny.DOCS.items())
    tr1, dv1 = qa_data.generate(docs, 30, 10, seed=3, questions=questions)
    tr2, dv2 = qa_data.generate(list(reversed(docs)), 30, 10, seed=3, questions=questions)
    assert (tr1, dv1) == (tr2, dv2) and len(tr1) == 30 and len(dv1) == 10
    assert not {e["title"] for e in tr1} & {e["title"] for e in dv1}
    assert qa_data.generate(docs, 30, 10, seed=4, questions=questions) != (tr1, dv1)
    assert not {e["title"] for e in qa_data.generate(docs, 30, 10, 3, questions, skip={"doc00"})[0]} & {"doc00"}
    for e in tr1 + dv1:
        a = e["answers"][0]
        assert e["context"][a["answer_start"]:a["answer_start"] + len(a["text"])] == a["text"]
        assert a["text"] not in e["question"] and e["question"].endswith("?")


def _stage(tmp_path, **over):
    cfg = qa_tiny.cfg(tmp_path, **over)
    corpus = qa_tiny.write_corpus(tmp_path / "corpus")
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    ctx = StageContext(cfg, "qa_data", tmp_path, out, tmp_path / "work", "k", {"corpus": corpus})
    return cfg, ctx, out


def test_stage_writes_squad_files_and_rejects_bad_source(tmp_path):
    cfg, ctx, out = _stage(tmp_path)
    metrics = qa_data.run(cfg, ctx)
    assert metrics["train"] == 40 and metrics["dev"] == 12 and metrics["handwritten"] >= 40
    assert metrics["natural_dev"] >= 150 and metrics["extra"] == 0
    for name in ("train", "dev", "natural_dev", "natural_test", "handwritten"):
        assert qa_data.load_squad_file(out / f"{name}.json", "reject")
    assert qa_data.parse_squad(json.loads((out / "extra.json").read_text()), "extra", "reject") == []
    meta = json.loads((out / "meta.json").read_text())
    assert set(meta) == {"train", "dev", "natural_dev", "natural_test", "handwritten", "extra"}
    assert meta["natural_dev"]["name"] == "natural_dev" and meta["train"]["n"] == 40
    cfg.qa.train_source = str(tmp_path / "nope.json")
    with pytest.raises(UserError, match="not found"):
        qa_data.run(cfg, ctx)


def test_stage_adds_natural_train_and_keeps_dev_passages_out_of_train(tmp_path):
    cfg, ctx, out = _stage(tmp_path, **{"qa.natural_train": True, "qa.extra_examples": 30})
    metrics = qa_data.run(cfg, ctx)
    train = qa_data.load_squad_file(out / "train.json", "reject")
    dev = qa_data.load_squad_file(out / "dev.json", "reject")
    natural_dev = qa_data.load_squad_file(out / "natural_dev.json", "reject")
    shipped = qa_data.load_squad_file(qa_data.NATURAL_TRAIN, "reject")
    assert metrics["train"] == 40 + len(shipped) and {e["id"] for e in shipped} <= {e["id"] for e in train}
    train_ctx = {e["context"] for e in train}
    assert not train_ctx & {e["context"] for e in dev} and not train_ctx & {e["context"] for e in natural_dev}
    assert {e["question"] for e in natural_dev} >= {e["question"] for e in qa_data.load_squad_file(qa_data.HANDWRITTEN)}
    extra = qa_data.parse_squad(json.loads((out / "extra.json").read_text()), "extra", "reject")
    assert len(extra) == 30 == json.loads((out / "meta.json").read_text())["extra"]["n"]
    assert not {e["context"] for e in extra} & ({e["context"] for e in dev} | {e["context"] for e in natural_dev})
    first = (out / "extra.json").read_text()
    qa_data.run(cfg, ctx)
    assert (out / "extra.json").read_text() == first  # deterministic for the seed


@pytest.mark.parametrize("source", ["natural", "written"])
def test_augmented_copies_can_come_from_part_of_the_natural_set_alone(tmp_path, source):
    cfg, ctx, out = _stage(tmp_path, **{"qa.natural_train": True, "qa.extra_examples": 30, "qa.augment_share": 1.0,
                                        "qa.augment_from": source})
    qa_data.run(cfg, ctx)
    written = {p["title"] for p in json.loads(qa_data.WRITTEN.read_text())}
    shipped = {e["id"] for e in qa_data.load_squad_file(qa_data.NATURAL_TRAIN, "reject")
               if source == "natural" or e["title"] in written}
    extra = qa_data.parse_squad(json.loads((out / "extra.json").read_text()), "extra", "reject")
    assert len(extra) == 30 and {e["id"].rsplit("-aug", 1)[0] for e in extra} <= shipped
    assert json.loads((out / "meta.json").read_text())["extra"]["source"].endswith(f"copies of {source}")


def test_prose_questions_are_distinct_and_over_written_training_passages_only(tmp_path):
    cfg, ctx, out = _stage(tmp_path, **{"qa.natural_train": True, "qa.prose_questions": 80})
    qa_data.run(cfg, ctx)
    written = {p["title"] for p in json.loads(qa_data.WRITTEN.read_text())}
    train_passages = {e["context"] for e in qa_data.load_squad_file(qa_data.NATURAL_TRAIN, "reject")
                      if e["title"] in written}
    extra = qa_data.parse_squad(json.loads((out / "extra.json").read_text()), "extra", "reject")
    assert len(extra) == 80 and {e["context"] for e in extra} <= train_passages
    assert len({(e["context"], e["question"]) for e in extra}) == 80 == len({e["id"] for e in extra})
    assert len({e["context"] for e in extra}) > 10  # drawn over every passage, not one passage's many draws
    first = (out / "extra.json").read_text()
    qa_data.run(cfg, ctx)
    assert (out / "extra.json").read_text() == first  # deterministic for the seed


def test_wh_doc_mode_adds_docstring_template_questions():
    text = "Return the sum of the values.\n\nArgs:\nvalues (`list`, *optional*, defaults to `None`):\nThe numbers to add."
    qs = qa_data.cloze_questions("numpy:m.py:total:1", text, random.Random(0), "wh+doc")
    assert {q["question"]: q["answers"][0]["text"] for q in qs} == {
        "What does total return?": "sum of the values", "What is the default of values in total?": "None",
        "What is the values argument of total?": "The numbers to add"}
    assert qa_data.cloze_questions("numpy:m.py:total:1", text, random.Random(0), "wh") == []


def test_the_natural_test_set_is_new_text_that_nothing_trains_or_tunes_on():
    """Written for the test set alone: at least 150 questions over 40 passages, general and documentation prose,
    sharing no passage or title with the natural train / dev sets or the written passages."""
    test = qa_data.test_examples()
    assert len(test) >= 150 and len({e["context"] for e in test}) >= 40
    assert {e["kind"] for e in test} == {"general", "documentation"}
    seen = qa_data.load_squad_file(qa_data.NATURAL_TRAIN) + qa_data.load_squad_file(qa_data.NATURAL_DEV)
    written = json.loads(qa_data.WRITTEN.read_text())
    assert not {e["context"] for e in test} & ({e["context"] for e in seen} | {p["context"] for p in written})
    assert not {e["title"] for e in test} & ({e["title"] for e in seen} | {p["title"] for p in written})
    for e in test:
        a = e["answers"][0]
        assert e["context"][a["answer_start"]:a["answer_start"] + len(a["text"])] == a["text"]
