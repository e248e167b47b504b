"""Golden fixtures for the iOS (Swift) and Android (Java) ports of the QA logic.

    python pipeline/devices/fixtures.py            # rewrite mobile/fixtures/*.json and vocab.txt
    python pipeline/devices/fixtures.py --check    # exit 1 if the committed fixtures are stale

The expected values come from the reference implementations, never from the ports:
tokenization from transformers' BertTokenizerFast on the embedded teacher's vocabulary,
windows and span decoding from pipeline.data.qa_features, the window length from
pipeline.devices.windows, latency statistics from
`latency_stats` below (the one definition host and device benchmarks share).

Character offsets are Python string indices, i.e. Unicode code points (not UTF-16 units,
not grapheme clusters): the ports convert only when they highlight text on screen.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import shutil
import sys
from pathlib import Path

from pipeline.core import results  # noqa: E402
from pipeline.data import qa_features  # noqa: E402
from pipeline.devices import accuracy, windows  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "mobile" / "fixtures"

TRICKY = [
    "", "   \t\n  ", "Hello, world!", "The café's naïve résumé, Zoë & Ångström.",
    "don't stop-believing... (really?) [yes] {no} $5.00 50% a+b=c ^_^ `x` ~y|z",
    "北京是中国的首都。東京も大きい", "日本語とEnglishのmix", "한국어 문장입니다",
    "Привет, мир! Ελληνικά ΣΟΦΙΑ", "مرحبا بالعالم", "नमस्ते दुनिया", "ภาษาไทย",
    "emoji 😀 and 👍🏽 and 🇫🇷 flags", "family 👨\u200d👩\u200d👧 joined",
    "a" * 99, "b" * 100, "c" * 101, "Supercalifragilisticexpialidocious " * 3,
    "ctrl\x00char\x07s\x1bhere\u200btoo\ufeff", "tab\tnew\nline\rcr\x0bvt\x0cff\u00a0nbsp\u3000ideo",
    "İstanbul STRASSE Straße ﬁne ǅemal", "x² ½ ① ℃ ﬀ", "unbelievably unaffable antidisestablishmentarianism",
    "1,234,567.89 and 3.14159 and 1e-9", "e\u0301 combining vs é precomposed",
    "  leading and trailing spaces  ",
    # Format/private-use characters vanish, unassigned ones and emoji newer than the
    # tokenizer's Unicode tables do not (they become [UNK]).
    "soft\u00adhyphen a\u061cb x\U000E0001y priv\ue000ate \U000F0000z", "un\u0378assigned a\u2065b",
    # CJK compatibility ideographs decompose (U+FA08 -> U+884C); U+2B820..2B91F is not split.
    "\uFA08\uF9C7\uF900 compat", "a\U0002B826b c\U0002B920d",
    "new emoji \U0001F972 \U0001FAE0 \U0001FA77 \U0001FAE8 end", "mongolian a\u1806b",
]

LONG_CONTEXT = " ".join(
    f"Paragraph {i}: the river Élan flows past the town of Saint-Rémy, where {n} bridges were "
    f"built in {1700 + 7 * i}; its mayor, Zoë Martin, said \"the water is {'cold' if i % 2 else 'warm'}\"."
    for i, n in enumerate(range(3, 60)))


# Characters the random strings are drawn from: every class the normaliser and pre-tokenizer
# treat differently, all assigned in old Unicode versions (Java 17, Swift and Rust agree on them).
POOL = ("abcxyzABCXYZ0123456789" + " \t\n\r\u00a0\u3000\u2003" + ".,;:!?'\"()[]{}-_/\\@#$%^&*+=<>|~`"
        + "\u00e9\u00c5\u00f1\u00df\u00e6\u0153\u0130\u03a3\u0301\u0308" + "\u4e2d\u6587\u5b57\u3042\u30ab\uac00\ud55c"
        + "\u0416\u05d0\u0627\u0928\u094d\u0e01" + "\x00\x07\x1b\u200b\u200d\ufeff\ufffd" + "\u00bd\u00b2\u2460\ufb01\u2014\u2026\u00ab\u00bb"
        + "\U0001F600\U0001F44D\U0001F3FD\U0001F1EB\U0001F1F7")


def random_texts(rng: random.Random, n: int = 60) -> list[str]:
    out = []
    for _ in range(n):
        words = ["".join(rng.choice(POOL) for _ in range(rng.randint(1, 12))) for _ in range(rng.randint(1, 8))]
        out.append(rng.choice([" ", "", "\n"]).join(words))
    return out


def fuzz_texts(rng: random.Random, n: int = 400) -> list[str]:
    """Short strings of random code points assigned since Unicode 3.2. Characters added later can
    differ in category between the Rust tokenizer's tables (Unicode 8), Java 17 and Swift."""
    import unicodedata
    old = unicodedata.ucd_3_2_0
    cands = [c for c in range(0x20, 0x2FA20) if not 0xD800 <= c < 0xE000 and old.category(chr(c)) != "Cn"
             and unicodedata.category(chr(c)) == old.category(chr(c))]
    return ["".join(chr(rng.choice(cands)) if rng.random() < 0.7 else rng.choice(" abc.")
                    for _ in range(rng.randint(1, 6))) for _ in range(n)]


def latency_stats(samples_ms: list[float]) -> dict:
    """Summary of timed iterations (warm-up excluded), as stored in benchmark results.

    median: mean of the two middle values for even n. p90: linear interpolation between
    closest ranks (numpy's default). trimmed_mean: mean after dropping floor(n/10) samples
    at each end (10% trimmed), so one stall cannot dominate.
    """
    xs = sorted(float(x) for x in samples_ms)
    n = len(xs)
    if n == 0:
        raise ValueError("no timed iterations")

    def quantile(q):
        pos = q * (n - 1)
        lo = math.floor(pos)
        hi = min(lo + 1, n - 1)
        return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)

    cut = n // 10
    kept = xs[cut:n - cut]
    return {"n": n, "mean_ms": sum(xs) / n, "median_ms": quantile(0.5), "p90_ms": quantile(0.9),
            "trimmed_mean_ms": sum(kept) / len(kept), "min_ms": xs[0], "max_ms": xs[-1]}


def vocab_path() -> Path:
    from pipeline.core.models import resolve
    return Path(resolve("embedded")) / "vocab.txt"


def load_tokenizer(vocab: Path, lower_case: bool = True):
    from transformers import BertTokenizerFast
    # Built from vocab.txt + flags alone: exactly what the apps get (vocab + sidecar).
    words = vocab.read_text(encoding="utf-8").split("\n")
    if words and words[-1] == "":
        words.pop()
    return BertTokenizerFast(vocab={w: i for i, w in enumerate(words)}, do_lower_case=lower_case,
                             strip_accents=None, tokenize_chinese_chars=True)


def tokenization_cases(tok, texts) -> list[dict]:
    out = []
    for text in texts:
        enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
        out.append({"text": text, "ids": enc["input_ids"],
                    "tokens": tok.convert_ids_to_tokens(enc["input_ids"]),
                    "offsets": [list(o) for o in enc["offset_mapping"]]})
    return out


def feature_cases(tok) -> list[dict]:
    long_q = "What " + " ".join(["very"] * 80) + " long question is this?"
    specs = [
        ("Where does the river flow?", LONG_CONTEXT, 384, 128, 64, True),
        ("Who is the mayor?", LONG_CONTEXT, 384, 128, 64, False),
        (long_q, LONG_CONTEXT[:2000], 384, 128, 64, True),
        ("Which bridges?", LONG_CONTEXT[:1500], 64, 16, 20, True),
        ("東京は?", "北京是中国的首都。東京も大きい。" * 10, 48, 8, 16, False),
        ("", "An empty question still gets a window.", 64, 16, 20, True),
        ("Anything?", "", 64, 16, 20, True),
        ("Short?", "A short passage.", 384, 128, 64, True),
    ]
    out = []
    for q, c, L, stride, mq, tt in specs:
        f = qa_features.prepare_features(tok, [q], [c], max_seq_length=L, doc_stride=stride,
                                         max_query_length=mq, token_type_ids=tt)
        windows = []
        for i in range(len(f["input_ids"])):
            windows.append({"input_ids": f["input_ids"][i], "attention_mask": f["attention_mask"][i],
                            "token_type_ids": f["token_type_ids"][i] if tt else None,
                            "offsets": [list(o) if o is not None else None for o in f["offset_mapping"][i]]})
        out.append({"question": q, "context": c, "max_seq_length": L, "doc_stride": stride,
                    "max_query_length": mq, "token_type_ids": tt, "windows": windows})
    return out


def decoding_cases(tok, rng: random.Random) -> list[dict]:
    out = []
    for case in feature_cases(tok)[:5]:
        starts, ends, offsets = [], [], []
        for w in case["windows"]:
            n = len(w["input_ids"])
            # Logits on a 1/8 grid: sums are exact in binary floating point, so every port
            # must agree on scores and on ties bit for bit.
            starts.append([rng.randint(-80, 80) / 8 for _ in range(n)])
            ends.append([rng.randint(-80, 80) / 8 for _ in range(n)])
            offsets.append(w["offsets"])
        for n_best, max_len in ((20, 30), (3, 5)):
            spans = qa_features.decode_spans(starts, ends, offsets, case["context"],
                                             n_best=n_best, max_answer_length=max_len)
            out.append({"context": case["context"], "start_logits": starts, "end_logits": ends,
                        "offsets": offsets, "n_best": n_best, "max_answer_length": max_len,
                        "expected": spans[:10], "count": len(spans)})
    # No context token at all: no answer, not a crash.
    out.append({"context": "", "start_logits": [[1.0, 2.0, 3.0]], "end_logits": [[1.0, 2.0, 3.0]],
                "offsets": [[None, None, None]], "n_best": 20, "max_answer_length": 30,
                "expected": [], "count": 0})
    return out


def stats_cases(rng: random.Random) -> list[dict]:
    samples = [[5.0], [3.0, 1.0], [1.0, 2.0, 3.0, 4.0], [float(i) for i in range(1, 11)],
               [round(rng.uniform(10, 20), 3) for _ in range(37)] + [250.0],
               [round(rng.lognormvariate(3, 0.3), 4) for _ in range(50)]]
    return [{"samples_ms": s, "expected": latency_stats(s)} for s in samples]


def results_example() -> dict:
    """What an app writes after a benchmark: inputs the ports get, and the expected file."""
    timings = [12.5, 11.0, 11.25, 13.0, 40.0, 11.5, 12.0, 11.75, 12.25, 11.5]
    entry_in = {"runtime": "litert", "runtime_version": "1.4.0", "model": "student", "precision": "fp32",
                "seq_len": 384, "load_ms": 85.5, "peak_mem_mb": 212.0, "file_bytes": 265000000,
                "samples_ms": timings}
    device = {"name": "Pixel 8", "os": "Android 15 (API 35)", "soc": "Tensor G3", "threads": 4}
    scale = {"preset": "demo", "teacher": "embedded", "corpus": "embedded", "device": "Pixel 8"}
    entry = {k: v for k, v in entry_in.items() if k != "samples_ms"}
    entry["stats"] = latency_stats(timings)
    expected = results.document("benchmark", scale, source="device", device=device, entries=[entry])
    return {"device": device, "scale": scale, "entries": [entry_in], "expected": expected}


def sidecar_example() -> dict:
    """A sidecar as the apps stage copies it (the schema of pipeline/export/sidecar.py + the artifact's sha256):
    the fields the apps read, checked against that schema. The tests' model file is 16 zero bytes; sha256 is
    theirs."""
    from pipeline.export.sidecar import Sidecar
    seq = 384
    example = {"model": "student", "format": "tflite", "backend": "tflite", "precision": "fp32", "seq_len": seq,
            "file": "student.tflite.fp32.384.tflite", "bytes": 16, "params": 66000000,
            "sha256": hashlib.sha256(bytes(16)).hexdigest(),
            "inputs": [{"name": n, "dtype": "int32", "shape": [1, seq]} for n in ("input_ids", "attention_mask")],
            "outputs": [{"name": n, "dtype": "float32", "shape": [1, seq]} for n in ("start_logits", "end_logits")],
            "vocab_file": "student.vocab.txt", "do_lower_case": True, "uses_token_type_ids": False,
            "max_seq_length": seq, "max_query_length": 64, "doc_stride": 128, "max_answer_length": 30,
            # Fields the apps do not read but must skip: nested objects, lists, numbers.
            "source_checkpoint": {"folder": "student", "sha256": "0" * 64},
            "exporter_versions": {"torch": "2.13.0", "litert-torch": "0.10.0"},
            "tflite_ops": ["FULLY_CONNECTED", "SOFTMAX"], "max_abs_diff": 2.5e-07}
    Sidecar.from_json(example, "sidecar_example.json")  # a UserError names what the schema misses
    return example


def build() -> dict[str, str]:
    vocab = vocab_path()
    tok = load_tokenizer(vocab)
    rng = random.Random(1234)
    files = {
        "tokenization.json": {"vocab": "vocab.txt", "do_lower_case": True, "strip_accents": None,
                              "cases": tokenization_cases(tok, TRICKY + random_texts(random.Random(7))
                                                          + fuzz_texts(random.Random(9))),
                              # A cased model's sidecar (do_lower_case false): no lower-casing, accents kept.
                              "cased_cases": tokenization_cases(load_tokenizer(vocab, lower_case=False),
                                                                TRICKY[2:12] + random_texts(random.Random(8), 20))},
        "features.json": {"vocab": "vocab.txt", "cases": feature_cases(tok)},
        "decoding.json": {"cases": decoding_cases(tok, rng)},
        "window_choice.json": {"vocab": "vocab.txt", "cases": windows.choice_cases(tok, random.Random(42))},
        "stats.json": {"cases": stats_cases(rng)},
        "results_example.json": results_example(),
        "sidecar_example.json": sidecar_example(),
        **accuracy.fixture_files(tok, random.Random(11)),
    }
    return {name: json.dumps(data, ensure_ascii=False, indent=1) + "\n" for name, data in files.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(FIXTURES), help="fixture folder")
    ap.add_argument("--check", action="store_true", help="compare with the folder instead of writing")
    args = ap.parse_args(argv)
    out = Path(args.out)
    texts = build()
    if args.check:
        stale = [n for n, t in texts.items() if not (out / n).is_file() or (out / n).read_text() != t]
        if stale:
            print(f"stale fixtures in {out}: {', '.join(stale)} (run python pipeline/devices/fixtures.py)")
            return 1
        print(f"fixtures in {out} are current")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (out / name).write_text(text)
    shutil.copyfile(vocab_path(), out / "vocab.txt")
    print(f"wrote {len(texts)} fixture files and vocab.txt to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
