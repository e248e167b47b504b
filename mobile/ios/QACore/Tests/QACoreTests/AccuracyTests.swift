import XCTest
@testable import QACore

/// Device accuracy on recorded logits (accuracy.json): the same answers, EM and F1 as Python's.
final class AccuracyTests: XCTestCase {
    struct File: Decodable {
        struct Setting: Decodable { let seq_len: Int, doc_stride: Int, max_query_length: Int }
        struct Case: Decodable {
            let id: String, question: String, context: String, answers: [String], chosen_seq_len: Int
            let start_logits: [[Double]], end_logits: [[Double]], prediction: String
        }
        struct Metric: Decodable { let prediction: String, gold: String, em: Double, f1: Double, normalized: String }
        struct Expected: Decodable { let questions: Int, em: Double, f1: Double }
        let settings: [Setting], cases: [Case], metric_cases: [Metric], expected: Expected
    }

    func testMetricsMatchPython() throws {
        for c in try Fixtures.load(File.self, "accuracy.json").metric_cases {
            XCTAssertEqual(SquadMetrics.normalize(c.prediction), c.normalized)
            XCTAssertEqual(SquadMetrics.exactMatch(c.prediction, c.gold), c.em, c.prediction)
            XCTAssertEqual(SquadMetrics.f1(c.prediction, c.gold), c.f1, accuracy: 1e-12, c.prediction)
        }
    }

    func testAnswersEmAndF1OnRecordedLogitsMatchPython() throws {
        let file = try Fixtures.load(File.self, "accuracy.json")
        let tok = try Fixtures.tokenizer()
        let configs = file.settings.map {
            Features.Config(maxSeqLength: $0.seq_len, docStride: $0.doc_stride, maxQueryLength: $0.max_query_length,
                            tokenTypeIds: false)
        }
        var em = 0.0, f1 = 0.0
        for c in file.cases {
            let cfg = configs[try WindowChoice.choose(tok, question: c.question, context: c.context, configs: configs)]
            XCTAssertEqual(cfg.maxSeqLength, c.chosen_seq_len, c.id)
            let offsets = try Features.prepare(tok, question: c.question, context: c.context, config: cfg)
                .map { $0.padded(to: cfg.maxSeqLength, padId: tok.padId).offsets }
            let spans = SpanDecoder.decode(startLogits: c.start_logits, endLogits: c.end_logits, offsets: offsets,
                                           context: c.context)
            let prediction = spans.first?.text ?? ""
            XCTAssertEqual(prediction, c.prediction, c.id)
            let score = try SquadMetrics.best(prediction, golds: c.answers)
            em += score.em
            f1 += score.f1
        }
        XCTAssertEqual(file.cases.count, file.expected.questions)
        XCTAssertEqual(100 * em / Double(file.cases.count), file.expected.em, accuracy: 0.01)
        XCTAssertEqual(100 * f1 / Double(file.cases.count), file.expected.f1, accuracy: 0.01)
    }
}
