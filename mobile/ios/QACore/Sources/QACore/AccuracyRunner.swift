import Foundation

/// Accuracy on the phone: every question of the staged set answered by every window length of one model group,
/// scored with SquadMetrics. Per length that file answers every question (what parity measures on the host, so the
/// report can put the two side by side); the app's own figure takes each question's answer from the length
/// WindowChoice gives it, as the app's screen does. pipeline/devices/accuracy.py accuracy_block is the reference.
public struct AccuracyRunner {
    /// The answers behind the figures: predictions[k][i] is length k's answer to question i.
    public struct Outcome {
        public var predictions: [[String]] = []
        public var chosen: [Int] = []
    }

    public init() {}

    /// Adds the group's entry to results (whose question set must be set); returns the answers.
    @discardableResult
    public func run(group: WindowChoice.Group, load: (ModelSpec) throws -> QAModel, questions set: QuestionSet,
                    into results: inout BenchmarkResults) throws -> Outcome {
        let qs = set.questions
        let tok = try group.lengths[0].loadTokenizer()
        var o = Outcome()
        var runtime = "", version = ""
        for spec in group.lengths {
            let engine = try QAEngine(spec: spec, tokenizer: tok)
            let model: QAModel
            do { model = try load(spec) } catch {
                throw QAError("cannot load \(spec.file.lastPathComponent): \(error)")
            }
            o.predictions.append(try qs.map { try engine.answer(model: model, question: $0.question, context: $0.context).text })
            (runtime, version) = (model.runtime, model.runtimeVersion)
        }
        o.chosen = try qs.map { q in
            let spec = try group.choose(tok, question: q.question, context: q.context)
            return group.lengths.firstIndex(of: spec)!
        }
        try results.addAccuracy(try entry(group, runtime, version, qs, o))
        return o
    }

    private func entry(_ group: WindowChoice.Group, _ runtime: String, _ version: String, _ qs: [QuestionSet.Question],
                       _ o: Outcome) throws -> BenchmarkResults.AccuracyEntry {
        let n = Double(qs.count)
        var lengths: [BenchmarkResults.AccuracyEntry.Length] = []
        var mine = (em: 0.0, f1: 0.0)
        for (k, spec) in group.lengths.enumerated() {
            var total = (em: 0.0, f1: 0.0), chosen = 0
            for (i, q) in qs.enumerated() {
                let s = try SquadMetrics.best(o.predictions[k][i], golds: q.answers)
                total = (total.em + s.em, total.f1 + s.f1)
                if o.chosen[i] == k {
                    chosen += 1
                    mine = (mine.em + s.em, mine.f1 + s.f1)
                }
            }
            lengths.append(.init(seqLen: spec.seqLen, exactMatch: 100 * total.em / n, f1: 100 * total.f1 / n, chosen: chosen))
        }
        let first = group.lengths[0]
        return .init(runtime: runtime, runtimeVersion: version, model: first.model, format: first.format,
                     backend: first.backend, precision: first.precision, lengths: lengths,
                     windowChoice: .init(exactMatch: 100 * mine.em / n, f1: 100 * mine.f1 / n))
    }
}
