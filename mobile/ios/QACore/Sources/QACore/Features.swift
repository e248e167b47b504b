/// Question + context -> overlapping model windows, the same as pipeline/data/qa_features.py (see its
/// module docstring): [CLS] question [SEP] context slice [SEP], consecutive windows sharing
/// docStride context tokens, so long passages are covered, never truncated.
public enum Features {
    public struct Config: Equatable {
        public var maxSeqLength: Int, docStride: Int, maxQueryLength: Int, tokenTypeIds: Bool
        public init(maxSeqLength: Int, docStride: Int, maxQueryLength: Int, tokenTypeIds: Bool) {
            self.maxSeqLength = maxSeqLength
            self.docStride = docStride
            self.maxQueryLength = maxQueryLength
            self.tokenTypeIds = tokenTypeIds
        }
    }

    public struct Window {
        public var inputIds: [Int32], attentionMask: [Int32], tokenTypeIds: [Int32]
        /// [start, end) scalar offsets into the context for context tokens, nil elsewhere.
        public var offsets: [(Int, Int)?]

        /// The same window padded to a fixed model length (pad id, mask 0, offset nil).
        public func padded(to length: Int, padId: Int) -> Window {
            let n = length - inputIds.count
            precondition(n >= 0, "window longer than the model")
            return Window(inputIds: inputIds + Array(repeating: Int32(padId), count: n),
                          attentionMask: attentionMask + Array(repeating: 0, count: n),
                          tokenTypeIds: tokenTypeIds + Array(repeating: 0, count: n),
                          offsets: offsets + Array(repeating: nil, count: n))
        }
    }

    public static func prepare(_ tok: WordPieceTokenizer, question: String, context: String,
                               config cfg: Config) throws -> [Window] {
        let q = tok.encode(question)
        let c = tok.encode(context)
        let nq = min(q.count, cfg.maxQueryLength)
        let room = cfg.maxSeqLength - nq - 3
        if room <= cfg.docStride {
            throw QAError("question of \(nq) tokens leaves \(max(room, 0)) context tokens per \(cfg.maxSeqLength)-token "
                          + "window, not more than the overlap of \(cfg.docStride); shorten the question")
        }
        var out: [Window] = []
        var s = 0
        while true {
            let e = min(s + room, c.count)
            var ids: [Int32] = [Int32(tok.clsId)] + q.ids[0..<nq].map { Int32($0) } + [Int32(tok.sepId)]
            var offs: [(Int, Int)?] = Array(repeating: nil, count: ids.count)
            var types: [Int32] = Array(repeating: 0, count: ids.count)
            for j in s..<e {
                ids.append(Int32(c.ids[j]))
                offs.append(c.offsets[j])
                types.append(1)
            }
            ids.append(Int32(tok.sepId))
            offs.append(nil)
            types.append(1)
            if !cfg.tokenTypeIds { types = Array(repeating: 0, count: ids.count) }
            out.append(Window(inputIds: ids, attentionMask: Array(repeating: 1, count: ids.count),
                              tokenTypeIds: types, offsets: offs))
            if e >= c.count { return out }
            s += room - cfg.docStride
        }
    }
}
