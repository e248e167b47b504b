"""Windows, offsets and span decoding of pipeline.qa_features (the reference the app ports copy)."""
import pytest

import qa_tiny
from pipeline.data.qa_features import decode_spans, prepare_features

LONG = " ".join(f"the harbour had {i} boats and a market" for i in range(40))


@pytest.fixture(scope="module")
def tok(tmp_path_factory):
    return qa_tiny.tokenizer(tmp_path_factory.mktemp("tok"))


def test_long_context_windows_overlap_by_doc_stride_and_cover_everything(tok):
    f = prepare_features(tok, ["how many boats were there?"], [LONG], max_seq_length=48, doc_stride=10,
                         max_query_length=64, token_type_ids=True)
    ctx_ids = tok(LONG, add_special_tokens=False)["input_ids"]
    q_len = len(tok("how many boats were there?", add_special_tokens=False)["input_ids"])
    per_window = 48 - q_len - 3
    windows = [[i for i, o in zip(ids, offs) if o is not None] for ids, offs in zip(f["input_ids"], f["offset_mapping"])]
    assert len(windows) > 3 and set(f["example_index"]) == {0}
    assert all(len(ids) <= 48 for ids in f["input_ids"])
    assert all(len(w) == per_window for w in windows[:-1])
    step = per_window - 10
    for k, w in enumerate(windows):  # window k holds context tokens [k*step, k*step + per_window)
        assert w == ctx_ids[k * step:k * step + per_window]
    assert windows[-1][-1:] == ctx_ids[-1:] and len(windows) == 1 + -(-(len(ctx_ids) - per_window) // step)
    for ids, tt, offs in zip(f["input_ids"], f["token_type_ids"], f["offset_mapping"]):
        assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id
        first_ctx = next(i for i, o in enumerate(offs) if o is not None)
        assert tt == [0] * first_ctx + [1] * (len(ids) - first_ctx)
        for tid, o in zip(ids, offs):  # offsets index the original text
            if o is not None:
                assert LONG[o[0]:o[1]].lower() == tok.convert_ids_to_tokens(tid).removeprefix("##")


def test_question_is_cut_to_max_query_length_and_token_types_are_optional(tok):
    q = " ".join(["market"] * 30) + "?"
    f = prepare_features(tok, [q, "boats?"], ["the harbour had boats", "a market"], max_seq_length=64,
                         doc_stride=8, max_query_length=7, token_type_ids=False)
    assert "token_type_ids" not in f and f["example_index"] == [0, 1]
    first_ctx = next(i for i, o in enumerate(f["offset_mapping"][0]) if o is not None)
    assert first_ctx == 1 + 7 + 1  # [CLS] + 7 question tokens + [SEP]
    assert f["attention_mask"][0] == [1] * len(f["input_ids"][0])


def test_padding_marks_pad_positions(tok):
    f = prepare_features(tok, ["boats?"], ["a market"], max_seq_length=16, doc_stride=4, token_type_ids=True, pad=True)
    assert len(f["input_ids"][0]) == 16 and f["attention_mask"][0][-1] == 0
    assert f["offset_mapping"][0][-1] is None and f["input_ids"][0][-1] == tok.pad_token_id


CTX = "alpha beta gamma delta"
OFFS = [None, None, (0, 5), (6, 10), (11, 16), (17, 22), None]  # [CLS] q [SEP]-less toy window


def test_decode_picks_best_valid_span_and_maps_to_text():
    start = [9, 0, 1, 5, 0, 0, 9]   # [CLS] and the trailing special token score high but are not context
    end = [9, 0, 0, 0, 6, 2, 9]
    spans = decode_spans([start], [end], [OFFS], CTX)
    assert spans[0] == {"text": "beta gamma", "start_char": 6, "end_char": 16, "score": 11.0}
    assert all(s["start_char"] < s["end_char"] for s in spans)
    assert [s["score"] for s in spans] == sorted((s["score"] for s in spans), reverse=True)


def test_decode_rejects_end_before_start_and_too_long_spans():
    start = [0, 0, 0, 0, 0, 10, 0]  # best start is the last word
    end = [0, 0, 10, 0, 0, 0, 0]    # best end is the first word: invalid pair
    spans = decode_spans([start], [end], [OFFS], CTX, n_best=1)
    assert spans == []
    spans = decode_spans([[0, 0, 10, 0, 0, 0, 0]], [[0, 0, 0, 0, 0, 10, 0]], [OFFS], CTX, n_best=1, max_answer_length=3)
    assert spans == []  # 4 tokens > 3
    spans = decode_spans([[0, 0, 10, 0, 0, 0, 0]], [[0, 0, 0, 0, 0, 10, 0]], [OFFS], CTX, n_best=1, max_answer_length=4)
    assert spans[0]["text"] == CTX


def test_decode_across_windows_dedupes_and_ignores_padding_logits():
    w1 = [None, (0, 5), (6, 10)]
    w2 = [None, (6, 10), (11, 16)]
    spans = decode_spans([[0, 1, 3, 99], [0, 4, 2]], [[0, 1, 3, 99], [0, 5, 1]], [w1, w2], CTX)
    texts = [s["text"] for s in spans]
    assert texts[0] == "beta" and spans[0]["score"] == 9.0  # best copy of "beta" (window 2)
    assert texts.count("beta") == 1
    assert decode_spans([], [], [], CTX) == []


def test_best_answers_decodes_each_example_over_its_own_windows():
    from pipeline.data.qa_features import best_answers
    examples = [{"id": "a", "context": "alpha beta"}, {"id": "b", "context": "gamma delta"}, {"id": "c", "context": "x"}]
    offsets = [[None, (0, 5), (6, 10)], [None, (0, 5), (6, 11)], [None, (0, 5), (6, 10)]]
    starts = [[0.0, 1.0, 5.0], [0.0, 4.0, 0.0], [0.0, 9.0, 0.0]]
    ends = [[0.0, 0.0, 5.0], [0.0, 0.0, 4.0], [0.0, 9.0, 0.0]]
    # windows 0 and 2 belong to example a (window 2 has the better span), window 1 to b; c has none
    got = best_answers(examples, [0, 1, 0], offsets, starts, ends, n_best=5, max_answer_length=5)
    assert got == {"a": "alpha", "b": "gamma delta", "c": ""}
