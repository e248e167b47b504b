import Foundation
import XCTest
@testable import QACore

/// The Swift port against the Python reference, case by case.
final class GoldenTests: XCTestCase {
    func testTokenizationMatchesTransformers() throws {
        let file = try Fixtures.load(Fixtures.Tokenization.self, "tokenization.json")
        XCTAssertGreaterThan(file.cases.count, 20)
        try check(try Fixtures.tokenizer(), file.cases)
    }

    func testCasedTokenizationMatchesTransformers() throws {
        let file = try Fixtures.load(Fixtures.Tokenization.self, "tokenization.json")
        XCTAssertGreaterThan(file.cased_cases.count, 10)
        try check(try Fixtures.tokenizer(lowerCase: false), file.cased_cases)
    }

    private func check(_ tok: WordPieceTokenizer, _ cases: [Fixtures.Tokenization.Case]) throws {
        for c in cases {
            let enc = tok.encode(c.text)
            XCTAssertEqual(enc.tokens, c.tokens, "tokens of \(c.text.debugDescription)")
            XCTAssertEqual(enc.ids, c.ids)
            XCTAssertEqual(enc.offsets.map { [$0.0, $0.1] }, c.offsets, "offsets of \(c.text.debugDescription)")
        }
    }

    func testWindowsMatchPipeline() throws {
        let tok = try Fixtures.tokenizer()
        for c in try Fixtures.load(Fixtures.FeatureFile.self, "features.json").cases {
            let cfg = Features.Config(maxSeqLength: c.max_seq_length, docStride: c.doc_stride,
                                      maxQueryLength: c.max_query_length, tokenTypeIds: c.token_type_ids)
            let got = try Features.prepare(tok, question: c.question, context: c.context, config: cfg)
            XCTAssertEqual(got.count, c.windows.count, "windows for \(c.question)")
            for (g, w) in zip(got, c.windows) {
                XCTAssertEqual(g.inputIds, w.input_ids)
                XCTAssertEqual(g.attentionMask, w.attention_mask)
                if let tt = w.token_type_ids { XCTAssertEqual(g.tokenTypeIds, tt) }
                XCTAssertEqual(g.offsets.map { $0.map { [$0.0, $0.1] } }, w.offsets)
            }
        }
    }

    func testDecodingMatchesPipeline() throws {
        for c in try Fixtures.load(Fixtures.Decoding.self, "decoding.json").cases {
            let got = SpanDecoder.decode(startLogits: c.start_logits, endLogits: c.end_logits,
                                         offsets: c.offsets.map(Fixtures.offsets), context: c.context,
                                         nBest: c.n_best, maxAnswerLength: c.max_answer_length)
            XCTAssertEqual(got.count, c.count)
            for (g, w) in zip(got, c.expected) {
                XCTAssertEqual(g.text, w.text)
                XCTAssertEqual([g.startChar, g.endChar], [w.start_char, w.end_char])
                XCTAssertEqual(g.score, w.score)
            }
        }
    }

    func testStatsMatchPipeline() throws {
        for c in try Fixtures.load(Fixtures.Stats.self, "stats.json").cases {
            let got = try LatencyStats(samplesMs: c.samples_ms)
            XCTAssertEqual(got.n, c.expected.n)
            let pairs = [(got.meanMs, c.expected.meanMs), (got.medianMs, c.expected.medianMs),
                         (got.p90Ms, c.expected.p90Ms), (got.trimmedMeanMs, c.expected.trimmedMeanMs),
                         (got.minMs, c.expected.minMs), (got.maxMs, c.expected.maxMs)]
            for (g, w) in pairs { XCTAssertEqual(g, w, accuracy: 1e-9) }
        }
    }

    func testResultsFileMatchesExample() throws {
        let ex = try Fixtures.load(Fixtures.ResultsExample.self, "results_example.json")
        var r = BenchmarkResults(device: ex.device, scale: ex.scale)
        for e in ex.entries {
            try r.add(runtime: e.runtime, runtimeVersion: e.runtime_version, model: e.model, precision: e.precision,
                      seqLen: e.seq_len, loadMs: e.load_ms, samplesMs: e.samples_ms, peakMemMb: e.peak_mem_mb,
                      fileBytes: e.file_bytes)
        }
        let written = try JSONSerialization.jsonObject(with: r.jsonData()) as! NSDictionary
        let whole = try JSONSerialization.jsonObject(
            with: Data(contentsOf: Fixtures.dir.appendingPathComponent("results_example.json"))) as! NSDictionary
        XCTAssertEqual(written, whole["expected"] as! NSDictionary)
    }
}
