/// n-best answer spans over all windows of one example, as pipeline.qa_features.decode_spans.
public enum SpanDecoder {
    public struct Span: Equatable {
        /// Scalar offsets into the context, end exclusive.
        public let startChar: Int, endChar: Int
        public let score: Double
        public let text: String
    }

    public static func substring(_ s: String, scalars start: Int, _ end: Int) -> String {
        let v = s.unicodeScalars
        let a = v.index(v.startIndex, offsetBy: start)
        let b = v.index(a, offsetBy: end - start)
        return String(v[a..<b])
    }

    static func topIndices(_ logits: [Double], _ n: Int, _ limit: Int) -> [Int] {
        // Higher logit first, ties by lower index: every port must agree on ties.
        let idx = (0..<n).sorted { logits[$0] != logits[$1] ? logits[$0] > logits[$1] : $0 < $1 }
        return Array(idx.prefix(limit))
    }

    /// Best spans first; empty means no valid span (e.g. no context token at all).
    public static func decode(startLogits: [[Double]], endLogits: [[Double]], offsets: [[(Int, Int)?]],
                              context: String, nBest: Int = 20, maxAnswerLength: Int = 30) -> [Span] {
        struct Key: Hashable { let a: Int, b: Int }
        var best: [Key: Double] = [:]
        for w in 0..<offsets.count {
            let offs = offsets[w], st = startLogits[w], en = endLogits[w]
            let n = min(offs.count, st.count, en.count)
            let ends = topIndices(en, n, nBest)
            for s in topIndices(st, n, nBest) {
                guard let so = offs[s] else { continue }
                for e in ends {
                    guard let eo = offs[e], e >= s, e - s + 1 <= maxAnswerLength else { continue }
                    let score = st[s] + en[e]
                    if score.isNaN { continue }
                    let key = Key(a: so.0, b: eo.1)
                    if score > best[key] ?? -.infinity { best[key] = score }
                }
            }
        }
        return best.map { Span(startChar: $0.key.a, endChar: $0.key.b, score: $0.value,
                               text: substring(context, scalars: $0.key.a, $0.key.b)) }
            .sorted { ($0.score, -$0.startChar, -$0.endChar) > ($1.score, -$1.startChar, -$1.endChar) }
    }
}
