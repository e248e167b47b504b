import XCTest
@testable import QACore

/// The window length and the answer, case by case against pipeline/devices/windows.py (window_choice.json).
final class WindowChoiceTests: XCTestCase {
    struct File: Decodable {
        struct Setting: Decodable { let seq_len: Int, doc_stride: Int, max_query_length: Int }
        struct Span: Decodable { let text: String, start_char: Int, end_char: Int, score: Double }
        struct Case: Decodable {
            let question: String, context: String, settings: [Setting], chosen_seq_len: Int
            let start_logits: [[Double]], end_logits: [[Double]], expected: Span?
        }
        let cases: [Case]
    }

    func testSameLengthAndAnswerAsPython() throws {
        let tok = try Fixtures.tokenizer()
        var chosen: Set<Int> = []
        for c in try Fixtures.load(File.self, "window_choice.json").cases {
            let configs = c.settings.map {
                Features.Config(maxSeqLength: $0.seq_len, docStride: $0.doc_stride, maxQueryLength: $0.max_query_length,
                                tokenTypeIds: false)
            }
            let cfg = configs[try WindowChoice.choose(tok, question: c.question, context: c.context, configs: configs)]
            XCTAssertEqual(cfg.maxSeqLength, c.chosen_seq_len, c.question)
            chosen.insert(cfg.maxSeqLength)
            let windows = try Features.prepare(tok, question: c.question, context: c.context, config: cfg)
                .map { $0.padded(to: cfg.maxSeqLength, padId: tok.padId) }
            XCTAssertEqual(windows.count, c.start_logits.count)
            let got = SpanDecoder.decode(startLogits: c.start_logits, endLogits: c.end_logits,
                                         offsets: windows.map(\.offsets), context: c.context)
            guard let want = c.expected else {
                XCTAssertTrue(got.isEmpty)
                continue
            }
            XCTAssertEqual(got.first?.text, want.text)
            XCTAssertEqual(got.first.map { [$0.startChar, $0.endChar] }, [want.start_char, want.end_char])
            XCTAssertEqual(got.first?.score, want.score)
        }
        XCTAssertEqual(chosen, [128, 384], "both lengths are chosen somewhere")
    }

    func testAQuestionWithNoRoomInTheShortLengthFallsToTheLongOne() throws {
        let tok = try Fixtures.tokenizer()
        let configs = [Features.Config(maxSeqLength: 384, docStride: 128, maxQueryLength: 64, tokenTypeIds: false),
                       Features.Config(maxSeqLength: 48, docStride: 16, maxQueryLength: 64, tokenTypeIds: false)]
        let long = "Why" + String(repeating: " very", count: 40)
        XCTAssertEqual(try WindowChoice.choose(tok, question: long, context: "Short passage.", configs: configs), 0)
        XCTAssertEqual(try WindowChoice.choose(tok, question: "Why?", context: "Short passage.", configs: configs), 1)
    }
}
