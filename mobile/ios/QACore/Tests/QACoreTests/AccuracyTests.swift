import Foundation
import XCTest
@testable import QACore

/// Returns the logits recorded for a window, found by its token ids; an unrecorded window fails the test.
final class RecordedModel: QAModel {
    let byWindow: [[Int32]: (start: [Float], end: [Float])]
    init(_ byWindow: [[Int32]: (start: [Float], end: [Float])]) { self.byWindow = byWindow }
    func run(inputIds: [Int32], attentionMask: [Int32], tokenTypeIds: [Int32]?) throws -> (start: [Float], end: [Float]) {
        guard let logits = byWindow[inputIds] else { throw QAError("no recorded logits for this window") }
        return logits
    }
    var runtime: String { "litert" }
    var runtimeVersion: String { "2.3.0" }
}

/// Device accuracy on recorded logits: AccuracyRunner answers questions.json through QAEngine with fake models that
/// return accuracy.json's logits for each window, and must write accuracy_results.json's block (Python's).
final class AccuracyTests: XCTestCase {
    struct File: Decodable {
        struct Setting: Decodable { let seq_len: Int, doc_stride: Int, max_query_length: Int }
        struct AtLength: Decodable { let seq_len: Int, start_logits: [[Double]], end_logits: [[Double]], prediction: String }
        struct Case: Decodable {
            let id: String, question: String, context: String, chosen_seq_len: Int, lengths: [AtLength]
        }
        struct Metric: Decodable { let prediction: String, gold: String, em: Double, f1: Double, normalized: String }
        let settings: [Setting], cases: [Case], metric_cases: [Metric]
    }

    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    /// The fixture's model staged at each of its lengths, as the apps stage leaves it: one group.
    func group(_ settings: [File.Setting]) throws -> WindowChoice.Group {
        try FileManager.default.copyItem(at: Fixtures.dir.appendingPathComponent("vocab.txt"),
                                         to: tmp.appendingPathComponent("student.vocab.txt"))
        var specs: [ModelSpec] = []
        for s in settings {
            let example = try Data(contentsOf: Fixtures.dir.appendingPathComponent("sidecar_example.json"))
            var sidecar = try JSONSerialization.jsonObject(with: example) as! [String: Any]
            let file = "student.tflite.fp32.\(s.seq_len).tflite"
            sidecar["file"] = file
            sidecar["seq_len"] = s.seq_len
            sidecar["max_seq_length"] = s.seq_len
            sidecar["doc_stride"] = s.doc_stride
            sidecar["max_query_length"] = s.max_query_length
            try Data(count: 16).write(to: tmp.appendingPathComponent(file))
            let url = tmp.appendingPathComponent(file + ".json")
            try JSONSerialization.data(withJSONObject: sidecar).write(to: url)
            specs.append(try ModelSpec.load(url))
        }
        return WindowChoice.group(specs)[0]
    }

    /// seq_len -> the model that answers with the fixture's logits at that length.
    func recordedModels(_ group: WindowChoice.Group, _ cases: [File.Case]) throws -> [Int: QAModel] {
        var out: [Int: QAModel] = [:]
        for spec in group.lengths {
            let engine = try QAEngine(spec: spec, tokenizer: try Fixtures.tokenizer())
            var byWindow: [[Int32]: (start: [Float], end: [Float])] = [:]
            for c in cases {
                let at = try XCTUnwrap(c.lengths.first { $0.seq_len == spec.seqLen })
                let ws = try engine.windows(question: c.question, context: c.context)
                XCTAssertEqual(ws.count, at.start_logits.count, "\(c.id) windows at \(spec.seqLen)")
                for (w, window) in ws.enumerated() {  // a 1/8 grid: exact in Float
                    byWindow[window.inputIds] = (at.start_logits[w].map(Float.init), at.end_logits[w].map(Float.init))
                }
            }
            out[spec.seqLen] = RecordedModel(byWindow)
        }
        return out
    }

    func results() -> BenchmarkResults {
        BenchmarkResults(device: .init(name: "Pixel 8", os: "Android 15", soc: "Tensor G3", threads: 4),
                         scale: .init(preset: "demo", teacher: "embedded", corpus: "embedded", device: "Pixel 8"))
    }

    func testMetricsMatchPython() throws {
        for c in try Fixtures.load(File.self, "accuracy.json").metric_cases {
            XCTAssertEqual(SquadMetrics.normalize(c.prediction), c.normalized)
            XCTAssertEqual(SquadMetrics.exactMatch(c.prediction, c.gold), c.em, c.prediction)
            XCTAssertEqual(SquadMetrics.f1(c.prediction, c.gold), c.f1, accuracy: 1e-12, c.prediction)
        }
    }

    func testTheRunnersAnswersAndFiguresOnRecordedLogitsArePythons() throws {
        let file = try Fixtures.load(File.self, "accuracy.json")
        let group = try group(file.settings)
        let models = try recordedModels(group, file.cases)
        let set = try QuestionSet.load(Fixtures.dir.appendingPathComponent(QuestionSet.fileName))
        var out = results()
        out.questionSet(set.name, questions: set.questions.count)
        let o = try AccuracyRunner().run(group: group, load: { models[$0.seqLen]! }, questions: set, into: &out)
        for (i, c) in file.cases.enumerated() {
            XCTAssertEqual(group.lengths[o.chosen[i]].seqLen, c.chosen_seq_len, c.id)
            for (k, spec) in group.lengths.enumerated() {
                XCTAssertEqual(o.predictions[k][i], c.lengths.first { $0.seq_len == spec.seqLen }?.prediction,
                               "\(c.id) at \(spec.seqLen)")
            }
        }
        try out.add(runtime: "litert", runtimeVersion: "2.3.0", model: "student", precision: "fp32", seqLen: 384,
                    loadMs: 1, samplesMs: [11, 12], peakMemMb: nil, fileBytes: 16)
        let got = (try JSONSerialization.jsonObject(with: try out.jsonData()) as! NSDictionary)["accuracy"]
        let golden = try JSONSerialization.jsonObject(
            with: Data(contentsOf: Fixtures.dir.appendingPathComponent("accuracy_results.json"))) as! NSDictionary
        assertSameBlock(golden["accuracy"]!, got!, path: "accuracy")
    }

    /// Strings and counts exactly, percentages to 0.01 (the sums run in another order than Python's).
    func assertSameBlock(_ want: Any, _ got: Any, path: String) {
        switch (want, got) {
        case let (w as [String: Any], g as [String: Any]):
            XCTAssertEqual(Set(w.keys), Set(g.keys), path)
            for (k, v) in w { if let gv = g[k] { assertSameBlock(v, gv, path: "\(path).\(k)") } }
        case let (w as [Any], g as [Any]):
            XCTAssertEqual(w.count, g.count, path)
            for (i, (a, b)) in zip(w, g).enumerated() { assertSameBlock(a, b, path: "\(path)[\(i)]") }
        case let (w as String, g as String):
            XCTAssertEqual(w, g, path)
        case let (w as NSNumber, g as NSNumber):
            XCTAssertEqual(w.doubleValue, g.doubleValue, accuracy: 0.01, path)
        default:
            XCTFail("\(path): \(want) vs \(got)")
        }
    }

    func testNoStagedSetMeansNoAccuracyBlockAndTheScanSkipsTheSet() throws {
        XCTAssertNil(try QuestionSet.find(in: tmp))
        try FileManager.default.copyItem(at: Fixtures.dir.appendingPathComponent(QuestionSet.fileName),
                                         to: tmp.appendingPathComponent(QuestionSet.fileName))
        var problems: [String] = []
        XCTAssertTrue(ModelSpec.scan(tmp, problems: &problems).isEmpty)
        XCTAssertEqual(problems, [])
        XCTAssertEqual(try QuestionSet.find(in: tmp)?.questions.count, 50)
        var r = results()
        try r.add(runtime: "litert", runtimeVersion: "2.3.0", model: "student", precision: "fp32", seqLen: 384,
                  loadMs: 1, samplesMs: [11, 12], peakMemMb: nil, fileBytes: 16)
        XCTAssertNil((try JSONSerialization.jsonObject(with: try r.jsonData()) as! [String: Any])["accuracy"])
    }

    func testAQuestionWithoutGoldAnswersIsRefusedNamingTheFile() throws {
        let url = tmp.appendingPathComponent(QuestionSet.fileName)
        let set: [String: Any] = ["question_set": "natural_dev",
                                  "questions": [["id": "q1", "question": "Where?", "context": "Here.", "answers": []]]]
        try JSONSerialization.data(withJSONObject: set).write(to: url)
        XCTAssertThrowsError(try QuestionSet.load(url)) {
            XCTAssertTrue("\($0)".hasPrefix("question set questions.json has a question without"), "\($0)")
        }
    }
}
