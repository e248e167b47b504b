import Foundation
@testable import QACore

/// The golden fixtures pipeline/devices/fixtures.py writes into mobile/fixtures/.
enum Fixtures {
    static let dir: URL = {
        if let env = ProcessInfo.processInfo.environment["QA_FIXTURES_DIR"] { return URL(fileURLWithPath: env) }
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<5 { url.deleteLastPathComponent() }  // file, QACoreTests, Tests, QACore, ios
        return url.appendingPathComponent("fixtures")
    }()

    static func load<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: dir.appendingPathComponent(name)))
    }

    static func tokenizer(lowerCase: Bool = true) throws -> WordPieceTokenizer {
        try WordPieceTokenizer(vocabLines: WordPieceTokenizer.readVocab(dir.appendingPathComponent("vocab.txt")),
                               lowerCase: lowerCase, stripAccents: nil, tokenizeChineseChars: true)
    }

    static func offsets(_ xs: [[Int]?]) -> [(Int, Int)?] { xs.map { $0.map { ($0[0], $0[1]) } } }

    struct Tokenization: Decodable {
        struct Case: Decodable { let text: String; let ids: [Int]; let tokens: [String]; let offsets: [[Int]] }
        let cases: [Case]
        let cased_cases: [Case]
    }

    struct FeatureFile: Decodable {
        struct Window: Decodable {
            let input_ids: [Int32], attention_mask: [Int32], token_type_ids: [Int32]?, offsets: [[Int]?]
        }
        struct Case: Decodable {
            let question: String, context: String, max_seq_length: Int, doc_stride: Int, max_query_length: Int
            let token_type_ids: Bool, windows: [Window]
        }
        let cases: [Case]
    }

    struct Decoding: Decodable {
        struct Span: Decodable { let text: String, start_char: Int, end_char: Int, score: Double }
        struct Case: Decodable {
            let context: String, start_logits: [[Double]], end_logits: [[Double]], offsets: [[[Int]?]]
            let n_best: Int, max_answer_length: Int, expected: [Span], count: Int
        }
        let cases: [Case]
    }

    struct Stats: Decodable {
        struct Case: Decodable { let samples_ms: [Double]; let expected: LatencyStats }
        let cases: [Case]
    }

    struct ResultsExample: Decodable {
        struct Entry: Decodable {
            let runtime: String, runtime_version: String, model: String, precision: String, seq_len: Int
            let load_ms: Double, peak_mem_mb: Double?, file_bytes: Int64?, samples_ms: [Double]
        }
        let device: BenchmarkResults.Device, scale: BenchmarkResults.Scale, entries: [Entry]
    }
}
