import Foundation

/// One loaded QA model behind a runtime (Core ML, ExecuTorch, or a fake in tests).
public protocol QAModel: AnyObject {
    /// Runs one window of exactly seqLen tokens (batch 1); tokenTypeIds is nil when the model
    /// takes none (DistilBERT). Returns (start logits, end logits), seqLen values each.
    func run(inputIds: [Int32], attentionMask: [Int32], tokenTypeIds: [Int32]?) throws -> (start: [Float], end: [Float])
    /// run()'s first half: one window in the runtime's input tensors, handed to forward(). The benchmark times it
    /// apart from the model call; a model that does not split keeps the defaults below.
    func prepare(inputIds: [Int32], attentionMask: [Int32], tokenTypeIds: [Int32]?) throws -> Any
    /// run()'s second half, the benchmark's timed region: the model call on prepared inputs.
    func forward(_ prepared: Any) throws -> (start: [Float], end: [Float])
    var runtime: String { get }
    var runtimeVersion: String { get }
}

extension QAModel {
    public func prepare(inputIds: [Int32], attentionMask: [Int32], tokenTypeIds: [Int32]?) throws -> Any {
        (inputIds, attentionMask, tokenTypeIds)
    }

    public func forward(_ prepared: Any) throws -> (start: [Float], end: [Float]) {
        guard let (ids, mask, types) = prepared as? ([Int32], [Int32], [Int32]?) else {
            throw QAError("forward got inputs that prepare did not make")
        }
        return try run(inputIds: ids, attentionMask: mask, tokenTypeIds: types)
    }
}

/// Question + passage -> answer: tokenize, run every window through the model, decode across windows.
public final class QAEngine {
    public struct Answer: Equatable {
        /// Empty when there is no answer; message then says why (shown instead of an answer).
        public var text = "", message = ""
        public var startChar = -1, endChar = -1, windows = 0
        public var score = Double.nan, latencyMs = 0.0
        public var found: Bool { startChar >= 0 }
    }

    public let spec: ModelSpec
    public let tokenizer: WordPieceTokenizer

    public init(spec: ModelSpec, tokenizer: WordPieceTokenizer? = nil) throws {
        self.spec = spec
        self.tokenizer = try tokenizer ?? spec.loadTokenizer()
    }

    public func windows(question: String, context: String) throws -> [Features.Window] {
        try Features.prepare(tokenizer, question: question, context: context, config: spec.featureConfig)
            .map { $0.padded(to: spec.seqLen, padId: tokenizer.padId) }
    }

    /// Never throws for user input (empty or over-long text gives an Answer with a message);
    /// throws only when the model itself fails.
    public func answer(model: QAModel, question: String, context: String) throws -> Answer {
        let blank = { (s: String) in s.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
        if blank(question) { return Answer(message: "Type a question.") }
        if blank(context) { return Answer(message: "Paste a passage to search.") }
        let ws: [Features.Window]
        do { ws = try windows(question: question, context: context) } catch let e as QAError {
            return Answer(message: e.message)
        }
        var starts: [[Double]] = [], ends: [[Double]] = []
        let t0 = DispatchTime.now().uptimeNanoseconds
        for w in ws {
            let out: (start: [Float], end: [Float])
            do {
                out = try model.run(inputIds: w.inputIds, attentionMask: w.attentionMask,
                                    tokenTypeIds: spec.tokenTypeIds ? w.tokenTypeIds : nil)
            } catch {
                throw QAError("\(model.runtime) failed on \(spec.file.lastPathComponent): \(error)")
            }
            guard out.start.count >= spec.seqLen, out.end.count >= spec.seqLen else {
                throw QAError("\(spec.file.lastPathComponent) returned outputs of the wrong shape for seq_len \(spec.seqLen)")
            }
            starts.append(out.start.map(Double.init))
            ends.append(out.end.map(Double.init))
        }
        let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
        let spans = SpanDecoder.decode(startLogits: starts, endLogits: ends, offsets: ws.map(\.offsets),
                                       context: context, maxAnswerLength: spec.maxAnswerLength)
        guard let best = spans.first else {
            return Answer(message: "No answer found in the passage.", windows: ws.count, latencyMs: ms)
        }
        return Answer(text: best.text, startChar: best.startChar, endChar: best.endChar, windows: ws.count,
                      score: best.score, latencyMs: ms)
    }
}

/// Warm-up then timed forward passes of one model on a fixed window of seq_len tokens: the
/// same quantity the host benchmark times, so host and device figures compare.
public struct BenchmarkRunner {
    public var warmup: Int, iters: Int
    public var clock: () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }

    public init(warmup: Int, iters: Int) {
        self.warmup = warmup
        self.iters = iters
    }

    /// residentMb: the process's current memory in MB (nil if unknown). As on the host, an entry's
    /// peak_mem_mb is the highest sample after loading and after each run minus the sample before loading.
    /// The stats time the model call alone; tokenizing, building the input tensors (median) and decoding go to
    /// the entry's stages_ms.
    public func run(spec: ModelSpec, load: (ModelSpec) throws -> QAModel, question: String, context: String,
                    residentMb: () -> Double? = { nil }, settings: BenchmarkResults.Settings = .init(),
                    into results: inout BenchmarkResults) throws {
        guard iters >= 1, warmup >= 0 else { throw QAError("benchmark needs iters >= 1 and warmup >= 0") }
        let t0 = clock()
        guard let w = try QAEngine(spec: spec).windows(question: question, context: context).first else {
            throw QAError("no window to time")
        }
        let tokenizeMs = Double(clock() - t0) / 1e6
        let before = residentMb()
        var peak: Double?
        func sample() { if let m = residentMb(), m > (peak ?? -.infinity) { peak = m } }
        let l0 = clock()
        let model: QAModel
        do { model = try load(spec) } catch {
            throw QAError("cannot load \(spec.file.lastPathComponent): \(error)")
        }
        let loadMs = Double(clock() - l0) / 1e6
        sample()
        var samples: [Double] = [], tensors: [Double] = []
        var logits: (start: [Float], end: [Float]) = ([], [])
        for i in 0..<(warmup + iters) {
            let a = clock()
            let prepared = try model.prepare(inputIds: w.inputIds, attentionMask: w.attentionMask,
                                             tokenTypeIds: spec.tokenTypeIds ? w.tokenTypeIds : nil)
            let b = clock()
            logits = try model.forward(prepared)
            let c = clock()
            if i >= warmup {
                tensors.append(Double(b - a) / 1e6)
                samples.append(Double(c - b) / 1e6)
            }
            sample()
        }
        let d0 = clock()
        _ = SpanDecoder.decode(startLogits: [logits.start.map(Double.init)], endLogits: [logits.end.map(Double.init)],
                               offsets: [w.offsets], context: context, maxAnswerLength: spec.maxAnswerLength)
        let stages = ["tokenize": tokenizeMs, "tensors": try LatencyStats(samplesMs: tensors).medianMs,
                      "decode": Double(clock() - d0) / 1e6]
        let increase = before.flatMap { b in peak.map { max(0, $0 - b) } }
        try results.add(runtime: model.runtime, runtimeVersion: model.runtimeVersion, model: spec.model,
                        precision: spec.precision, seqLen: spec.seqLen, loadMs: loadMs, samplesMs: samples,
                        peakMemMb: increase, fileBytes: spec.bytes, settings: settings, stagesMs: stages)
    }
}
