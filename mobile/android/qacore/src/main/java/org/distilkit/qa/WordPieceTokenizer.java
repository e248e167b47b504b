package org.distilkit.qa;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * BERT tokenizer (basic tokenization + greedy longest-match WordPiece) matching Hugging Face
 * tokenizers' BertNormalizer / BertPreTokenizer / WordPiece, with character offsets.
 *
 * Offsets count Unicode code points of the ORIGINAL text (Python string indices), so they
 * agree with the Python pipeline even for emoji outside the BMP.
 */
public final class WordPieceTokenizer {
    public static final int MAX_CHARS_PER_WORD = 100;

    private final Map<String, Integer> vocab = new HashMap<>();
    private final List<String> idToToken;
    private final boolean lowerCase;
    private final boolean stripAccents;
    private final boolean chineseChars;
    public final int unkId, clsId, sepId, padId;

    /** Encoded text: ids, token strings and [start, end) code-point offsets. */
    public static final class Encoding {
        public final List<Integer> ids = new ArrayList<>();
        public final List<String> tokens = new ArrayList<>();
        public final List<int[]> offsets = new ArrayList<>();

        public int size() { return ids.size(); }
    }

    /**
     * @param vocabLines   vocab.txt lines, the line number is the id
     * @param stripAccents null means "same as lowerCase", as in BERT's uncased models
     */
    public WordPieceTokenizer(List<String> vocabLines, boolean lowerCase, Boolean stripAccents,
                              boolean tokenizeChineseChars) {
        idToToken = new ArrayList<>(vocabLines);
        for (int id = 0; id < vocabLines.size(); id++) vocab.putIfAbsent(vocabLines.get(id), id);
        this.lowerCase = lowerCase;
        this.stripAccents = stripAccents == null ? lowerCase : stripAccents;
        this.chineseChars = tokenizeChineseChars;
        unkId = required("[UNK]");
        clsId = required("[CLS]");
        sepId = required("[SEP]");
        padId = required("[PAD]");
    }

    private int required(String token) {
        Integer id = vocab.get(token);
        if (id == null) throw new QaException("vocabulary has no " + token + " token (is this a BERT vocab.txt?)");
        return id;
    }

    public int vocabSize() { return idToToken.size(); }

    public Encoding encode(String text) {
        // 1. Normalise, keeping for every normalised code point the index of the original one.
        int[] cps = text.codePoints().toArray();
        List<Integer> norm = new ArrayList<>();
        List<Integer> align = new ArrayList<>();
        for (int pos = 0; pos < cps.length; pos++) {
            int cp = cps[pos];
            if (cp == 0 || cp == 0xFFFD || Chars.isControl(cp)) continue;
            if (Chars.isWhitespace(cp)) { norm.add((int) ' '); align.add(pos); continue; }
            boolean isolate = chineseChars && Chars.isChinese(cp);
            if (isolate) { norm.add((int) ' '); align.add(pos); }
            // Compatibility ideographs (U+F900...) decompose too: 行 (U+FA08) becomes 行 (U+884C).
            for (int c : transform(cp)) { norm.add(c); align.add(pos); }
            if (isolate) { norm.add((int) ' '); align.add(pos); }
        }
        // 2. Split on whitespace, isolate punctuation; 3. WordPiece every word.
        Encoding out = new Encoding();
        int start = -1;
        for (int k = 0; k <= norm.size(); k++) {
            int c = k < norm.size() ? norm.get(k) : ' ';
            boolean space = c == ' ';
            boolean punct = !space && Chars.isPunctuation(c);
            if (space || punct) {
                if (start >= 0) wordPiece(norm, align, start, k, out);
                start = -1;
                if (punct) wordPiece(norm, align, k, k + 1, out);
            } else if (start < 0) {
                start = k;
            }
        }
        return out;
    }

    private int[] transform(int cp) {
        String s = new String(Character.toChars(cp));
        if (stripAccents) {
            StringBuilder b = new StringBuilder();
            Normalizer.normalize(s, Normalizer.Form.NFD).codePoints()
                    .filter(c -> Character.getType(c) != Character.NON_SPACING_MARK)
                    .forEach(b::appendCodePoint);
            s = b.toString();
        }
        if (lowerCase) {
            StringBuilder b = new StringBuilder();
            // Per code point, like Rust's char::to_lowercase (no context-dependent final sigma).
            s.codePoints().forEach(c -> {
                if (c == 0x130) b.append("i\u0307"); else b.appendCodePoint(Character.toLowerCase(c));
            });
            s = b.toString();
        }
        return s.codePoints().toArray();
    }

    private void wordPiece(List<Integer> norm, List<Integer> align, int from, int to, Encoding out) {
        if (to - from > MAX_CHARS_PER_WORD) {
            add(out, unkId, align.get(from), align.get(to - 1) + 1);
            return;
        }
        List<int[]> pieces = new ArrayList<>();
        int s = from;
        while (s < to) {
            int e = to;
            Integer found = null;
            while (e > s) {
                StringBuilder sub = new StringBuilder(s > from ? "##" : "");
                for (int k = s; k < e; k++) sub.appendCodePoint(norm.get(k));
                found = vocab.get(sub.toString());
                if (found != null) break;
                e--;
            }
            if (found == null) {
                add(out, unkId, align.get(from), align.get(to - 1) + 1);
                return;
            }
            pieces.add(new int[]{found, s, e});
            s = e;
        }
        for (int[] p : pieces) add(out, p[0], align.get(p[1]), align.get(p[2] - 1) + 1);
    }

    private void add(Encoding out, int id, int start, int end) {
        out.ids.add(id);
        out.tokens.add(idToToken.get(id));
        out.offsets.add(new int[]{start, end});
    }
}
