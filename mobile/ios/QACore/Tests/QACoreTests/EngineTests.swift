import Foundation
import XCTest
@testable import QACore

/// A fake model that puts the highest logits on every occurrence of one token id.
final class PointerModel: QAModel {
    let target: Int32
    var calls = 0
    var sawTokenTypes: [Bool] = []
    var outputLength: Int?
    init(_ target: Int) { self.target = Int32(target) }
    func run(inputIds: [Int32], attentionMask: [Int32], tokenTypeIds: [Int32]?) throws -> (start: [Float], end: [Float]) {
        calls += 1
        sawTokenTypes.append(tokenTypeIds != nil)
        let l = inputIds.prefix(outputLength ?? inputIds.count).map { $0 == target ? Float(10) : Float(-1) }
        return (l, l)
    }
    var runtime: String { "fake" }
    var runtimeVersion: String { "0" }
}

/// Behaviour the app relies on: no crash on any input, clear messages for broken model folders.
final class EngineTests: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("qacore-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    let sidecarName = "student.tflite.fp32.384.tflite.json"

    func modelDir(edit: (String) -> String = { $0 }) throws -> URL {
        let dir = tmp.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Fixtures.dir.appendingPathComponent("vocab.txt"),
                                         to: dir.appendingPathComponent("student.vocab.txt"))
        try Data(count: 16).write(to: dir.appendingPathComponent("student.tflite.fp32.384.tflite"))
        let json = try String(contentsOf: Fixtures.dir.appendingPathComponent("sidecar_example.json"), encoding: .utf8)
        try edit(json).write(to: dir.appendingPathComponent(sidecarName), atomically: true, encoding: .utf8)
        return dir
    }

    func spec() throws -> ModelSpec { try ModelSpec.load(try modelDir().appendingPathComponent(sidecarName)) }

    func testEmptyQuestionOrPassageGivesMessageWithoutRunningTheModel() throws {
        let engine = try QAEngine(spec: try spec())
        let m = PointerModel(0)
        for (q, c) in [("", "a passage"), ("  ", "a passage"), ("why?", ""), ("why?", " \n ")] {
            let a = try engine.answer(model: m, question: q, context: c)
            XCTAssertFalse(a.found)
            XCTAssertFalse(a.message.isEmpty)
        }
        XCTAssertEqual(m.calls, 0)
    }

    func testLongPassageIsWindowedAndTheAnswerCanComeFromTheLastWindow() throws {
        let engine = try QAEngine(spec: try spec())
        let passage = String(repeating: "the river flows past the old town. ", count: 400)
            + "the treasure is hidden under the lighthouse."
        XCTAssertGreaterThan(engine.tokenizer.encode(passage).count, 3 * 384)
        XCTAssertEqual(engine.tokenizer.encode("lighthouse").count, 1)
        let m = PointerModel(engine.tokenizer.encode("lighthouse").ids[0])
        let a = try engine.answer(model: m, question: "Where is the treasure?", context: passage)
        XCTAssertGreaterThan(a.windows, 3)
        XCTAssertEqual(m.calls, a.windows)
        XCTAssertEqual(a.text, "lighthouse")
        XCTAssertEqual(a.startChar, passage.unicodeScalars.count - "lighthouse.".count)
    }

    func testNonLatinScriptsAndEmojiNeverCrashAndOffsetsAreScalars() throws {
        let engine = try QAEngine(spec: try spec())
        let passage = "😀😀 東京は日本の首都です。 Москва — столица России. 🇫🇷 Paris"
        let a = try engine.answer(model: PointerModel(engine.tokenizer.encode("paris").ids[0]),
                                  question: "首都は?", context: passage)
        XCTAssertEqual(a.text, "Paris")
        XCTAssertEqual(a.startChar, passage.unicodeScalars.count - 5)
        for q in ["東京", "Москва", "😀", "مرحبا", "\u{0}\u{200B}"] {
            _ = try engine.answer(model: PointerModel(-1), question: q, context: passage)
        }
    }

    func testTokenTypeIdsReachTheModelOnlyWhenTheSidecarAsksForThem() throws {
        let m = PointerModel(0)
        _ = try QAEngine(spec: try spec()).answer(model: m, question: "q?", context: "p.")
        let withTypes = try modelDir {
            $0.replacingOccurrences(of: "\"uses_token_type_ids\": false", with: "\"uses_token_type_ids\": true")
              .replacingOccurrences(of: "\"inputs\": [", with: "\"inputs\": [{\"name\": \"token_type_ids\"},")
        }
        _ = try QAEngine(spec: try ModelSpec.load(withTypes.appendingPathComponent(sidecarName)))
            .answer(model: m, question: "q?", context: "p.")
        XCTAssertEqual(m.sawTokenTypes, [false, true])
    }

    func expectError(_ dir: URL, _ part: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ModelSpec.load(dir.appendingPathComponent(sidecarName)), file: file, line: line) {
            XCTAssertTrue("\($0)".contains(part), "\($0)", file: file, line: line)
        }
    }

    func testBrokenModelFoldersNameTheFile() throws {
        var dir = try modelDir()
        try FileManager.default.removeItem(at: dir.appendingPathComponent("student.tflite.fp32.384.tflite"))
        expectError(dir, "student.tflite.fp32.384.tflite is missing")
        dir = try modelDir()
        try FileManager.default.removeItem(at: dir.appendingPathComponent("student.vocab.txt"))
        expectError(dir, "student.vocab.txt is missing")
        dir = try modelDir()
        try Data(count: 3).write(to: dir.appendingPathComponent("student.tflite.fp32.384.tflite"))
        expectError(dir, "student.tflite.fp32.384.tflite has 3 bytes")
        expectError(try modelDir { $0.replacingOccurrences(of: "\"format\": \"tflite\"", with: "\"format\": \"executorch\"") },
                    "does not look like a executorch model")
        expectError(try modelDir { _ in "{not json" }, "\(sidecarName) cannot be read")
        dir = try modelDir { $0.replacingOccurrences(of: "\"seq_len\": 384", with: "\"seq_len\": 128") }
        expectError(dir, "seq_len 128 but max_seq_length 384")
        var problems: [String] = []
        XCTAssertEqual(ModelSpec.scan(dir, problems: &problems).count, 0)
        XCTAssertEqual(problems.count, 1)
        _ = ModelSpec.scan(dir.appendingPathComponent("nope"), problems: &problems)
        XCTAssertTrue(problems[1].contains("does not exist"))
    }

    func testWrongOutputShapeIsAClearError() throws {
        let m = PointerModel(0)
        m.outputLength = 10
        XCTAssertThrowsError(try QAEngine(spec: try spec()).answer(model: m, question: "q?", context: "a passage")) {
            XCTAssertTrue("\($0)".contains("wrong shape"))
        }
    }

    func testQuestionTooLongForTheWindowIsAMessageNotACrash() throws {
        let dir = try modelDir { $0.replacingOccurrences(of: "384", with: "128") }
        try FileManager.default.moveItem(at: dir.appendingPathComponent("student.tflite.fp32.384.tflite"),
                                         to: dir.appendingPathComponent("student.tflite.fp32.128.tflite"))
        let s = try ModelSpec.load(dir.appendingPathComponent(sidecarName))
        let a = try QAEngine(spec: s).answer(model: PointerModel(0),
                                             question: String(repeating: "word ", count: 70), context: "a passage")
        XCTAssertFalse(a.found)
        XCTAssertTrue(a.message.contains("shorten the question"), a.message)
    }

    func testBenchmarkTimesTheModelCallAloneAndReportsTheStepsAround() throws {
        var now: UInt64 = 0
        final class Split: QAModel {
            var tick: (UInt64) -> Void
            init(_ tick: @escaping (UInt64) -> Void) { self.tick = tick }
            func run(inputIds: [Int32], attentionMask: [Int32], tokenTypeIds: [Int32]?) throws -> (start: [Float], end: [Float]) {
                try forward(try prepare(inputIds: inputIds, attentionMask: attentionMask, tokenTypeIds: tokenTypeIds))
            }
            func prepare(inputIds: [Int32], attentionMask: [Int32], tokenTypeIds: [Int32]?) throws -> Any {
                tick(7_000_000)  // building the input tensors
                return inputIds.count
            }
            func forward(_ prepared: Any) throws -> (start: [Float], end: [Float]) {
                tick(3_000_000)  // the model call
                let n = prepared as! Int
                return (Array(repeating: 0, count: n), Array(repeating: 0, count: n))
            }
            var runtime: String { "fake" }
            var runtimeVersion: String { "0" }
        }
        let model = Split { now += $0 }
        var runner = BenchmarkRunner(warmup: 1, iters: 3)
        runner.clock = { now }
        var results = BenchmarkResults(device: .init(name: "iPhone", os: "iOS 17", soc: "A17", threads: 0),
                                       scale: .init(preset: "demo", teacher: "embedded", corpus: "embedded", device: "iPhone"))
        try runner.run(spec: try spec(), load: { _ in model }, question: "q?", context: "p.", into: &results)
        let e = results.entries[0]
        XCTAssertEqual(e.stats.minMs, 3, accuracy: 1e-9)
        XCTAssertEqual(e.stats.maxMs, 3, accuracy: 1e-9)
        XCTAssertEqual(e.stagesMs["tensors"] ?? -1, 7, accuracy: 1e-9)
        XCTAssertEqual(Set(e.stagesMs.keys), ["tokenize", "tensors", "decode"])
    }

    func testBenchmarkTimesWarmupThenIterations() throws {
        var now: UInt64 = 0
        final class Ticking: QAModel {
            var advance: () -> Void
            init(_ advance: @escaping () -> Void) { self.advance = advance }
            func run(inputIds: [Int32], attentionMask: [Int32], tokenTypeIds: [Int32]?) throws -> (start: [Float], end: [Float]) {
                advance()
                return ([], [])
            }
            var runtime: String { "fake" }
            var runtimeVersion: String { "0" }
        }
        var calls: UInt64 = 0
        let model = Ticking { calls += 1; now += 2_000_000 * calls }  // 2, 4, 6, ... ms
        var runner = BenchmarkRunner(warmup: 2, iters: 3)
        runner.clock = { now }
        var results = BenchmarkResults(device: .init(name: "iPhone", os: "iOS 17", soc: "A17", threads: 0),
                                       scale: .init(preset: "demo", teacher: "embedded", corpus: "embedded", device: "iPhone"))
        var rss = 100.0
        try runner.run(spec: try spec(), load: { _ in now += 5_000_000; return model }, question: "q?", context: "p.",
                       residentMb: { rss += 10; return rss }, into: &results)  // 110 before loading, peak 170
        let e = results.entries[0]
        XCTAssertEqual(e.loadMs, 5, accuracy: 1e-9)
        XCTAssertEqual(e.stats.n, 3)
        XCTAssertEqual(e.stats.minMs, 6, accuracy: 1e-9)  // iterations 3..5 after 2 warm-up runs
        XCTAssertEqual(e.stats.maxMs, 10, accuracy: 1e-9)
        XCTAssertEqual(e.fileBytes, 16)
        XCTAssertEqual(e.peakMemMb ?? -1, 60, accuracy: 1e-9)
        try runner.run(spec: try spec(), load: { _ in model }, question: "q?", context: "p.", into: &results)
        let obj = try JSONSerialization.jsonObject(with: results.jsonData()) as! [String: Any]
        let entry = (obj["entries"] as! [[String: Any]])[1]
        XCTAssertTrue(entry["peak_mem_mb"] is NSNull, "null must be written, not left out")
    }
}
