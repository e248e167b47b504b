/// Which staged window length answers a question, as pipeline/devices/windows.py: the shortest whose
/// settings hold the question and the whole passage in one window, else the longest (overlapping
/// windows). A model call at 128 tokens costs about a third of one at 384.
public enum WindowChoice {
    /// Index into configs of the length to answer with; each config is one length's own settings.
    public static func choose(_ tok: WordPieceTokenizer, question: String, context: String,
                              configs: [Features.Config]) throws -> Int {
        let order = configs.indices.sorted { configs[$0].maxSeqLength < configs[$1].maxSeqLength }
        guard let longest = order.last else { throw QAError("no window lengths to choose from") }
        for i in order.dropLast() {
            // A question that leaves this length no room throws: a longer length may still hold it.
            if let ws = try? Features.prepare(tok, question: question, context: context, config: configs[i]), ws.count == 1 {
                return i
            }
        }
        return longest
    }

    /// One model in one runtime and precision at every staged length: one entry of the app's picker.
    public struct Group: Identifiable {
        /// Shortest first.
        public var lengths: [ModelSpec]
        public var id: String { lengths.map(\.file.lastPathComponent).joined(separator: "|") }

        /// e.g. "student · int8 · 128/384".
        public var label: String {
            let first = lengths[0]
            let name = first.model == "student_d" ? "student (D)" : first.model
            return "\(name) · \(first.precision) · " + lengths.map { String($0.seqLen) }.joined(separator: "/")
                + (first.backend == first.format ? "" : " · \(first.backend)")
        }

        /// The file to answer this question with (the tokenizer: any length's, they share the vocabulary).
        public func choose(_ tok: WordPieceTokenizer, question: String, context: String) throws -> ModelSpec {
            lengths[try WindowChoice.choose(tok, question: question, context: context, configs: lengths.map(\.featureConfig))]
        }
    }

    /// The staged specs by model, format, backend and precision, in the order first seen.
    public static func group(_ specs: [ModelSpec]) -> [Group] {
        var keys: [String] = []
        var groups: [String: [ModelSpec]] = [:]
        for s in specs {
            let key = [s.model, s.format, s.backend, s.precision].joined(separator: "|")
            if groups[key] == nil { keys.append(key) }
            groups[key, default: []].append(s)
        }
        return keys.map { Group(lengths: groups[$0]!.sorted { $0.seqLen < $1.seqLen }) }
    }
}
