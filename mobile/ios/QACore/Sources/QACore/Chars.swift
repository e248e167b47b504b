/// Character classes exactly as Hugging Face tokenizers' BERT normaliser and pre-tokenizer use them.
enum Chars {
    /// Unicode White_Space (what Rust's char::is_whitespace tests).
    static func isWhitespace(_ c: UInt32) -> Bool {
        c == 0x20 || (0x09...0x0D).contains(c) || c == 0x85 || c == 0xA0 || c == 0x1680
            || (0x2000...0x200A).contains(c) || c == 0x2028 || c == 0x2029 || c == 0x202F
            || c == 0x205F || c == 0x3000
    }

    /// Categories Cc, Cf, Cs, Co, except tab/newline/return which count as whitespace. Unassigned
    /// scalars (Cn) are NOT removed: the Rust tokenizer keeps them (they become [UNK]).
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        if s == "\t" || s == "\n" || s == "\r" { return false }
        switch s.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse: return true
        default: return false
        }
    }

    /// ASCII punctuation (including $+<=>^`|~, which Unicode calls symbols) or any P* category.
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let c = s.value
        if (33...47).contains(c) || (58...64).contains(c) || (91...96).contains(c) || (123...126).contains(c) {
            return true
        }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// CJK ideographs (the blocks BERT splits into single characters); not kana or hangul. The
    /// Rust tokenizer starts its last extension range at U+2B920 (not U+2B820): so do we.
    static func isChinese(_ c: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(c) || (0x3400...0x4DBF).contains(c) || (0x20000...0x2A6DF).contains(c)
            || (0x2A700...0x2B73F).contains(c) || (0x2B740...0x2B81F).contains(c)
            || (0x2B920...0x2CEAF).contains(c) || (0xF900...0xFAFF).contains(c) || (0x2F800...0x2FA1F).contains(c)
    }
}
