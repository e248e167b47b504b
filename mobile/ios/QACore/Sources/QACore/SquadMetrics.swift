import Foundation

/// SQuAD v1.1 exact match and F1 as pipeline/data/squad_metrics.py scores them: lower case, drop ASCII
/// punctuation, drop the words a / an / the, collapse whitespace; the best over a question's gold answers.
public enum SquadMetrics {
    private static let punctuation = Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".unicodeScalars)  // string.punctuation
    private static let articles = try! NSRegularExpression(pattern: "\\b(a|an|the)\\b")

    public static func normalize(_ text: String) -> String {
        var kept = String.UnicodeScalarView()
        kept.append(contentsOf: text.lowercased().unicodeScalars.filter { !punctuation.contains($0) })
        let s = String(kept)
        let spaced = articles.stringByReplacingMatches(in: s, range: NSRange(s.startIndex..., in: s), withTemplate: " ")
        return spaced.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    public static func exactMatch(_ prediction: String, _ gold: String) -> Double {
        normalize(prediction) == normalize(gold) ? 1 : 0
    }

    public static func f1(_ prediction: String, _ gold: String) -> Double {
        let pred = normalize(prediction).split(separator: " "), ref = normalize(gold).split(separator: " ")
        var counts: [Substring: Int] = [:]
        for w in ref { counts[w, default: 0] += 1 }
        var common = 0
        for w in pred where (counts[w] ?? 0) > 0 {
            common += 1
            counts[w]! -= 1
        }
        guard common > 0 else { return 0 }
        let precision = Double(common) / Double(pred.count), recall = Double(common) / Double(ref.count)
        return 2 * precision * recall / (precision + recall)
    }

    /// (exact match, F1) of one prediction: the best over the gold answers.
    public static func best(_ prediction: String, golds: [String]) throws -> (em: Double, f1: Double) {
        guard !golds.isEmpty else { throw QAError("a question needs at least one gold answer") }
        return (golds.map { exactMatch(prediction, $0) }.max()!, golds.map { f1(prediction, $0) }.max()!)
    }
}
