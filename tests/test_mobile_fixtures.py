"""The golden fixtures the app ports are tested against: current, and consistent with the contracts."""
import json
from pathlib import Path

from pipeline.devices import fixtures
from pipeline.core import results_schema

REPO = Path(__file__).resolve().parent.parent
FIX = REPO / "mobile" / "fixtures"


def test_committed_fixtures_are_what_the_reference_code_produces():
    for name, text in fixtures.build().items():
        assert (FIX / name).read_text() == text, f"{name} is stale: run python pipeline/devices/fixtures.py"
    assert (FIX / "vocab.txt").read_bytes() == fixtures.vocab_path().read_bytes()


def test_results_example_is_a_valid_device_benchmark():
    expected = json.loads((FIX / "results_example.json").read_text())["expected"]
    assert results_schema.validate(expected) == []
    assert expected["source"] == "device"


def test_fixtures_cover_the_hard_cases():
    tok = json.loads((FIX / "tokenization.json").read_text())["cases"]
    texts = [c["text"] for c in tok]
    assert "" in texts and any(len(t) > 100 and " " not in t for t in texts)
    assert any("[UNK]" in c["tokens"] for c in tok)
    assert any(ord(ch) > 0xFFFF for t in texts for ch in t)  # emoji: offsets in code points
    feats = json.loads((FIX / "features.json").read_text())["cases"]
    long = [c for c in feats if c["max_seq_length"] == 384 and len(c["windows"]) > 3]
    assert long, "a passage far longer than one window"
    # consecutive windows share exactly doc_stride context tokens
    for c in long:
        ctx = [[tuple(o) for o in w["offsets"] if o] for w in c["windows"]]
        for a, b in zip(ctx, ctx[1:]):
            assert a[-c["doc_stride"]:] == b[:c["doc_stride"]]


def test_latency_stats_definition_matches_the_host_benchmark():
    from pipeline.bench.bench_host import stats
    for case in json.loads((FIX / "stats.json").read_text())["cases"]:
        host = stats(case["samples_ms"], 0.1)
        for key, value in case["expected"].items():
            assert abs(host[key] - value) < 1e-9, key
