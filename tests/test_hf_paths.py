"""The `datasets` code paths of the paper preset (hf: corpus, SQuAD, GLUE, IMDb) on local folders
laid out like the Hub repositories they name: same functions, same load_dataset calls, no network."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import TINY_OVERRIDES, make_text
from pipeline import config
from pipeline.data import corpus, hf_data, qa_data
from pipeline.training import classify
from pipeline.config import UserError
from pipeline.core.runs import StageContext


def hub_folder(root: Path, configs: dict[str, dict[str, list[dict]]], default: str | None = None) -> Path:
    """A Hub-style repository: <config>/<split>-00000-of-00001.parquet and a README `configs:` block."""
    lines = ["---", "configs:"]
    for name, splits in configs.items():
        lines += [f"- config_name: {name}", "  data_files:"]
        if name == default:
            lines.insert(len(lines) - 1, "  default: true")
        for split, rows in splits.items():
            (root / name).mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.Table.from_pylist(rows), root / name / f"{split}-00000-of-00001.parquet")
            lines += [f"  - split: {split}", f"    path: {name}/{split}-*"]
    lines.append("---")
    (root / "README.md").write_text("\n".join(lines) + "\n")
    return root


def _ctx(cfg, tmp: Path, name: str, inputs: dict | None = None) -> StageContext:
    out = tmp / name
    out.mkdir(parents=True, exist_ok=True)
    return StageContext(cfg, name, tmp, out, tmp / f".{name}.work", "test", inputs or {})


# ------------------------------------------------------------------ ids


def test_paper_preset_names_script_free_ids():
    cfg = config.load("paper")
    assert cfg.corpus.source == ["hf:wikimedia/wikipedia/20231101.en", "hf:SamuelYang/bookcorpus"]
    assert [hf_data.parse(s[3:]) for s in cfg.corpus.source] == [
        ("wikimedia/wikipedia", "20231101.en"), ("SamuelYang/bookcorpus", None)]
    assert hf_data.parse(cfg.qa.train_source[3:]) == hf_data.parse(cfg.qa.dev_source[3:]) == ("rajpurkar/squad", None)
    assert {t[0] for t in classify.TASKS.values()} == {"nyu-mll/glue", "stanfordnlp/imdb"}


@pytest.mark.parametrize("spec, want", [
    ("squad", ("rajpurkar/squad", None)), ("glue/sst2", ("nyu-mll/glue", "sst2")),
    ("imdb", ("stanfordnlp/imdb", None)), ("nyu-mll/glue/mnli", ("nyu-mll/glue", "mnli"))])
def test_moved_ids_map_to_their_owners(spec, want):
    assert hf_data.parse(spec) == want


@pytest.mark.parametrize("spec, hint", [
    ("bookcorpus/bookcorpus", "SamuelYang/bookcorpus"), ("bookcorpus", "SamuelYang/bookcorpus"),
    ("wikipedia/20220301.en", "wikimedia/wikipedia/20231101.en"), ("onlyname", "owner/name"),
    ("a/b/c/d", "owner/name"), ("/no/such/folder/cfg", "not found")])
def test_script_ids_and_malformed_ids_are_refused(spec, hint):
    with pytest.raises(UserError, match=hint.replace(".", r"\.")):
        hf_data.parse(spec)


# ------------------------------------------------------------------ hf: corpus


def _wiki_rows(n=30):
    return [{"id": str(i), "url": f"https://en.wikipedia.org/wiki?curid={i}", "title": f"T{i}", "text": t}
            for i, t in enumerate(make_text(3, n))]


def test_hf_corpus_reads_a_wikipedia_layout_folder(tmp_path):
    rows = _wiki_rows()
    root = hub_folder(tmp_path / "wikipedia", {"20231101.en": {"train": rows}})
    for spec in (f"hf:{root}/20231101.en", f"hf:{root}"):
        docs = list(corpus.documents([spec]))
        assert [t for _, t in docs] == [r["text"] for r in rows]
        assert [d for d, _ in docs] == [f"{spec}:{i}" for i in range(len(rows))]


def test_hf_corpus_stage_end_to_end(tmp_path, tiny_teacher):
    root = hub_folder(tmp_path / "wikipedia", {"20231101.en": {"train": _wiki_rows(40)}})
    cfg = config.load("demo", {"corpus.source": [f"hf:{root}/20231101.en"], "teacher.model": str(tiny_teacher),
                               "corpus.max_seq_len": 48, "corpus.heldout_frac": 0.1, **TINY_OVERRIDES})
    stats = corpus.run(cfg, _ctx(cfg, tmp_path, "corpus"))
    assert stats["documents"] == 40 and stats["train_sequences"] > 0 and stats["heldout_sequences"] > 0
    first = json.loads((tmp_path / "corpus" / "documents.jsonl").read_text().splitlines()[0])
    assert first["doc_id"].endswith(":0") and first["text"] == _wiki_rows(40)[0]["text"].strip()


def test_hf_corpus_without_text_column_is_one_error(tmp_path):
    rows = [{"id": str(i), "body": t} for i, t in enumerate(make_text(1, 5))]
    root = hub_folder(tmp_path / "wrong", {"default": {"train": rows}})
    with pytest.raises(UserError, match="no column.*text.*it has id, body"):
        list(corpus.documents([f"hf:{root}"]))


def test_hf_corpus_bookcorpus_layout_groups_sentences(tmp_path, monkeypatch):
    """SamuelYang/bookcorpus: one Arrow file of sentence rows; consecutive rows become one document."""
    folder = tmp_path / "bookcorpus"
    folder.mkdir()
    sentences = [f"sentence number {i} of the book ." for i in range(7)]
    table = pa.table({"text": sentences})
    with pa.OSFile(str(folder / "bookcorpus-train.arrow"), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    (folder / "dataset_info.json").write_text(json.dumps({"features": {"text": {"dtype": "string", "_type": "Value"}}}))
    spec = f"hf:{folder}"
    assert [t for _, t in corpus.documents([spec])] == sentences  # an unknown folder: one row, one document
    monkeypatch.setitem(hf_data.SENTENCE_ROWS, str(folder), 3)
    docs = list(corpus.documents([spec]))
    assert docs == [(f"{spec}:0", " ".join(sentences[:3])), (f"{spec}:1", " ".join(sentences[3:6])),
                    (f"{spec}:2", sentences[6])]
    assert hf_data.sentence_rows("SamuelYang/bookcorpus") > 1


def test_hf_corpus_offline_hub_id_is_one_error(monkeypatch):
    import datasets
    import huggingface_hub.constants
    # Offline mode is read at import time; set it where it is looked up (else the test waits on the network).
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(UserError, match="cannot load no-such-owner/no-such-corpus"):
        list(corpus.documents(["hf:no-such-owner/no-such-corpus"]))


# ------------------------------------------------------------------ SQuAD


def _squad_rows(prefix: str, n: int):
    rows = []
    for i in range(n):
        ctx = f"The bridge of town {i} was built in {1700 + i} by Builder{i}."
        ans = f"{1700 + i}"
        rows.append({"id": f"{prefix}{i}", "title": f"Town{i % 2}", "context": ctx, "question": f"When was bridge {i} built?",
                     "answers": {"text": [ans, ans], "answer_start": [ctx.index(ans)] * 2}})
    return rows


def _squad_folder(root: Path, train=None, dev=None, change=lambda r: r) -> Path:
    """A copy of rajpurkar/squad's layout; `change` rewrites every row (both splits share one schema)."""
    return hub_folder(root, {"plain_text": {"train": [change(r) for r in train or _squad_rows("t", 6)],
                                            "validation": [change(r) for r in dev or _squad_rows("v", 4)]}})


def test_hf_squad_through_the_qa_data_stage(tmp_path):
    root = _squad_folder(tmp_path / "squad")
    cfg = config.load("demo", {"qa.train_source": f"hf:{root}", "qa.dev_source": f"hf:{root}/plain_text"})
    metrics = qa_data.run(cfg, _ctx(cfg, tmp_path, "qa_data"))
    assert metrics["train"] == 6 and metrics["dev"] == 4
    dev = qa_data.load_squad_file(tmp_path / "qa_data" / "dev.json", "reject")
    want = {r["id"]: r for r in _squad_rows("v", 4)}
    assert {e["id"] for e in dev} == set(want)
    for e in dev:
        r = want[e["id"]]
        assert (e["title"], e["context"], e["question"]) == (r["title"], r["context"], r["question"])
        assert e["answers"] == [{"text": t, "answer_start": s}
                                for t, s in zip(r["answers"]["text"], r["answers"]["answer_start"])]
    meta = json.loads((tmp_path / "qa_data" / "meta.json").read_text())
    assert meta["train"]["name"] == "squad_train" and meta["dev"]["name"] == "squad_dev"
    assert qa_data.hf_squad_name("rajpurkar/squad") == qa_data.hf_squad_name("squad") == "squad_v1.1"


def test_hf_squad_answers_as_list_of_structs(tmp_path):
    def structs(r):
        return r | {"answers": [{"text": t, "answer_start": s}
                                for t, s in zip(r["answers"]["text"], r["answers"]["answer_start"])]}
    root = _squad_folder(tmp_path / "squad", train=_squad_rows("t", 3), change=structs)
    assert [e["answers"][0]["text"] for e in qa_data.load_hf_squad("train", str(root))] == ["1700", "1701", "1702"]


def test_hf_squad_wrong_columns_or_offsets_are_refused(tmp_path):
    def renamed(r):
        return {k: v for k, v in r.items() if k != "question"} | {"query": r["question"]}
    with pytest.raises(UserError, match="no column.*question"):
        qa_data.load_hf_squad("train", str(_squad_folder(tmp_path / "a", change=renamed)))
    shifted = _squad_rows("t", 3)
    shifted[1]["answers"]["answer_start"] = [5, 5]
    with pytest.raises(UserError, match="t1.*not at answer_start"):
        qa_data.load_hf_squad("train", str(_squad_folder(tmp_path / "b", train=shifted)), "reject")
    assert [e["id"] for e in qa_data.load_hf_squad("train", str(tmp_path / "b"))] == ["t0", "t2"]  # skip


# ------------------------------------------------------------------ GLUE and IMDb


def _local_task(monkeypatch, task: str, folder: Path):
    """Point one TASKS entry at a local folder, keeping its config, columns, dev split and metric."""
    _, conf, cols, dev_split, metric = classify.TASKS[task]
    monkeypatch.setitem(classify.TASKS, task, (str(folder), conf, cols, dev_split, metric))


def test_glue_tasks_load_with_their_columns_and_splits(tmp_path, monkeypatch):
    sst2 = lambda n, off: [{"sentence": f"movie {i} was {'good' if i % 2 else 'bad'}", "label": i % 2, "idx": i}  # noqa: E731
                           for i in range(off, off + n)]
    mnli = lambda n: [{"premise": f"p{i}", "hypothesis": f"h{i}", "label": i % 3, "idx": i} for i in range(n)]  # noqa: E731
    root = hub_folder(tmp_path / "glue", {
        "sst2": {"train": sst2(6, 0), "validation": sst2(3, 100), "test": sst2(2, 200)},
        "mnli": {"train": mnli(5), "validation_matched": mnli(2), "validation_mismatched": mnli(4)}})
    for task in ("sst2", "mnli"):
        _local_task(monkeypatch, task, root)
    train, dev, metric = classify.load_hub_task("sst2")
    assert metric == "accuracy" and len(train) == 6
    assert dev == [{"text": (r["sentence"],), "label": str(r["label"])} for r in sst2(3, 100)]
    train, dev, metric = classify.load_hub_task("mnli")
    assert len(train) == 5 and len(dev) == 2  # the matched dev split, not the mismatched one
    assert dev[1] == {"text": ("p1", "h1"), "label": "1"}


def test_imdb_loads_train_and_test(tmp_path, monkeypatch):
    rows = lambda n, off: [{"text": f"review {i}", "label": i % 2} for i in range(off, off + n)]  # noqa: E731
    root = hub_folder(tmp_path / "imdb", {"plain_text": {"train": rows(4, 0), "test": rows(3, 10),
                                                         "unsupervised": [{"text": "x", "label": -1}]}},
                      default="plain_text")
    _local_task(monkeypatch, "imdb", root)
    train, dev, metric = classify.load_hub_task("imdb")
    assert [r["text"] for r in train] == [("review 0",), ("review 1",), ("review 2",), ("review 3",)]
    assert [r["label"] for r in dev] == ["0", "1", "0"] and metric == "accuracy"


def test_glue_wrong_column_or_split_is_one_error(tmp_path, monkeypatch):
    rows = [{"text": "a", "label": 0}, {"text": "b", "label": 1}]
    _local_task(monkeypatch, "sst2", hub_folder(tmp_path / "g1", {"sst2": {"train": rows, "validation": rows}}))
    with pytest.raises(UserError, match="no column.*sentence"):
        classify.load_hub_task("sst2")
    rows = [{"sentence": "a", "label": 0}]
    _local_task(monkeypatch, "sst2", hub_folder(tmp_path / "g2", {"sst2": {"train": rows, "test": rows}}))
    with pytest.raises(UserError, match="no split.*validation"):
        classify.load_hub_task("sst2")
