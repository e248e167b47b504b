import Foundation

/// A problem the user can fix (missing model file, mismatched sidecar, ...): its message is shown as is.
public struct QAError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// BERT tokenizer (basic tokenization + greedy longest-match WordPiece) matching Hugging Face
/// tokenizers' BertNormalizer / BertPreTokenizer / WordPiece, with character offsets.
///
/// Offsets count Unicode scalars of the ORIGINAL text (Python string indices), so they agree
/// with the Python pipeline even for emoji outside the BMP.
public final class WordPieceTokenizer {
    public static let maxCharsPerWord = 100

    public struct Encoding {
        public var ids: [Int] = []
        public var tokens: [String] = []
        /// [start, end) scalar offsets into the original text.
        public var offsets: [(Int, Int)] = []
        public var count: Int { ids.count }
    }

    // Keys are scalar values, not String: Swift compares strings by canonical equivalence,
    // the Rust tokenizer by exact code points.
    private var vocab: [[UInt32]: Int] = [:]
    private let idToToken: [String]
    private let lowerCase: Bool
    private let stripAccents: Bool
    private let chineseChars: Bool
    public let unkId: Int, clsId: Int, sepId: Int, padId: Int

    /// - Parameter stripAccents: nil means "same as lowerCase", as in BERT's uncased models.
    public init(vocabLines: [String], lowerCase: Bool, stripAccents: Bool?, tokenizeChineseChars: Bool) throws {
        idToToken = vocabLines
        for (id, token) in vocabLines.enumerated() {
            let key = token.unicodeScalars.map(\.value)
            if vocab[key] == nil { vocab[key] = id }
        }
        self.lowerCase = lowerCase
        self.stripAccents = stripAccents ?? lowerCase
        chineseChars = tokenizeChineseChars
        func required(_ t: String) throws -> Int {
            guard let id = vocabLines.firstIndex(of: t) else {
                throw QAError("vocabulary has no \(t) token (is this a BERT vocab.txt?)")
            }
            return id
        }
        unkId = try required("[UNK]")
        clsId = try required("[CLS]")
        sepId = try required("[SEP]")
        padId = try required("[PAD]")
    }

    /// vocab.txt: one token per line, the line number is the id.
    public static func readVocab(_ url: URL) throws -> [String] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw QAError("vocabulary \(url.lastPathComponent) cannot be read")
        }
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        return lines.map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 }
    }

    public var vocabSize: Int { idToToken.count }

    public func encode(_ text: String) -> Encoding {
        // 1. Normalise, keeping for every normalised scalar the index of the original one.
        var norm: [Unicode.Scalar] = []
        var align: [Int] = []
        for (pos, s) in text.unicodeScalars.enumerated() {
            let c = s.value
            if c == 0 || c == 0xFFFD || Chars.isControl(s) { continue }
            if Chars.isWhitespace(c) { norm.append(" "); align.append(pos); continue }
            let isolate = chineseChars && Chars.isChinese(c)
            if isolate { norm.append(" "); align.append(pos) }
            // Compatibility ideographs (U+F900...) decompose too: U+FA08 becomes U+884C.
            for t in transform(s) { norm.append(t); align.append(pos) }
            if isolate { norm.append(" "); align.append(pos) }
        }
        // 2. Split on whitespace, isolate punctuation; 3. WordPiece every word.
        var out = Encoding()
        var start = -1
        for k in 0...norm.count {
            let s: Unicode.Scalar = k < norm.count ? norm[k] : " "
            let space = s == " "
            let punct = !space && Chars.isPunctuation(s)
            if space || punct {
                if start >= 0 { wordPiece(norm, align, start, k, &out) }
                start = -1
                if punct { wordPiece(norm, align, k, k + 1, &out) }
            } else if start < 0 {
                start = k
            }
        }
        return out
    }

    private func transform(_ s: Unicode.Scalar) -> [Unicode.Scalar] {
        var scalars = [s]
        if stripAccents && s.value >= 0x80 {  // ASCII never decomposes
            scalars = String(s).decomposedStringWithCanonicalMapping.unicodeScalars
                .filter { $0.properties.generalCategory != .nonspacingMark }
        }
        if lowerCase {
            // Full per-scalar mapping, like Rust's char::to_lowercase (no final-sigma context).
            scalars = scalars.flatMap { Array($0.properties.lowercaseMapping.unicodeScalars) }
        }
        return scalars
    }

    private func wordPiece(_ norm: [Unicode.Scalar], _ align: [Int], _ from: Int, _ to: Int, _ out: inout Encoding) {
        if to - from > Self.maxCharsPerWord {
            add(&out, unkId, align[from], align[to - 1] + 1)
            return
        }
        var pieces: [(Int, Int, Int)] = []
        var s = from
        while s < to {
            var e = to
            var found: Int?
            while e > s {
                var key: [UInt32] = s > from ? [35, 35] : []  // "##"
                key += norm[s..<e].map(\.value)
                found = vocab[key]
                if found != nil { break }
                e -= 1
            }
            guard let id = found else {
                add(&out, unkId, align[from], align[to - 1] + 1)
                return
            }
            pieces.append((id, s, e))
            s = e
        }
        for (id, a, b) in pieces { add(&out, id, align[a], align[b - 1] + 1) }
    }

    private func add(_ out: inout Encoding, _ id: Int, _ start: Int, _ end: Int) {
        out.ids.append(id)
        out.tokens.append(idToToken[id])
        out.offsets.append((start, end))
    }
}
