"""SQuAD v1.1 EM/F1 on hand-computed cases."""
import pytest

from pipeline.data.squad_metrics import evaluate, exact_match, f1, normalize_answer


def test_normalisation_lowercases_strips_punctuation_articles_and_spaces():
    assert normalize_answer("  The  Eiffel-Tower, in Paris! ") == "eiffeltower in paris"
    assert normalize_answer("An apple a day") == "apple day"
    assert normalize_answer("theatre") == "theatre"  # articles only as whole words


def test_exact_match_after_normalisation():
    assert exact_match("the Rhine.", "Rhine") == 1.0
    assert exact_match("Rhine river", "Rhine") == 0.0


def test_f1_by_hand():
    # pred: {london, hospital}; gold: {st, marys, hospital, in, london} -> P=2/2, R=2/5, F1=2*1*0.4/1.4
    assert f1("London hospital", "St Mary's Hospital in London") == pytest.approx(2 * 0.4 / 1.4)
    # repeated tokens count with multiplicity
    assert f1("x x y", "x y y") == pytest.approx(2 / 3)  # common = min counts = 1 + 1 = 2; P = R = 2/3
    assert f1("nothing shared", "completely different") == 0.0
    assert f1("the", "a") == 0.0  # both normalise to empty


def test_evaluate_takes_best_gold_and_averages_in_percent():
    gold = {"q1": ["Karl Drais", "Drais"], "q2": ["1817"], "q3": ["about 1,230 kilometres"]}
    preds = {"q1": "Drais", "q2": "in 1817", "q3": "1,230 kilometres"}
    res = evaluate(preds, gold)
    # q1: EM 1, F1 1; q2: EM 0, F1 2*0.5*1/1.5 = 2/3; q3: EM 0, P=1, R=2/3 -> F1 0.8
    assert res["n"] == 3
    assert res["exact_match"] == pytest.approx(100 / 3)
    assert res["f1"] == pytest.approx(100 * (1 + 2 / 3 + 0.8) / 3)
    assert evaluate({}, {"q": ["x"]})["f1"] == 0.0  # a missing prediction scores zero
