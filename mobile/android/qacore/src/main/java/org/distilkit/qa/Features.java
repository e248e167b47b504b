package org.distilkit.qa;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Question + context -> overlapping model windows, the same as pipeline/data/qa_features.py
 * (see its module docstring): [CLS] question [SEP] context slice [SEP], consecutive windows
 * sharing docStride context tokens, so long passages are covered, never truncated.
 */
public final class Features {
    private Features() {}

    public static final class Config {
        public final int maxSeqLength, docStride, maxQueryLength;
        public final boolean tokenTypeIds;

        public Config(int maxSeqLength, int docStride, int maxQueryLength, boolean tokenTypeIds) {
            this.maxSeqLength = maxSeqLength;
            this.docStride = docStride;
            this.maxQueryLength = maxQueryLength;
            this.tokenTypeIds = tokenTypeIds;
        }
    }

    public static final class Window {
        public final int[] inputIds, attentionMask, tokenTypeIds;
        /** [start, end) code-point offsets into the context for context tokens, null elsewhere. */
        public final int[][] offsets;

        Window(int[] ids, int[] mask, int[] types, int[][] offsets) {
            this.inputIds = ids;
            this.attentionMask = mask;
            this.tokenTypeIds = types;
            this.offsets = offsets;
        }

        /** The same window padded to a fixed model length (pad id, mask 0, offset null). */
        public Window padded(int length, int padId) {
            if (inputIds.length > length) throw new QaException("window of " + inputIds.length + " tokens exceeds " + length);
            int[] ids = Arrays.copyOf(inputIds, length);
            Arrays.fill(ids, inputIds.length, length, padId);
            return new Window(ids, Arrays.copyOf(attentionMask, length),
                    Arrays.copyOf(tokenTypeIds, length), Arrays.copyOf(offsets, length));
        }
    }

    public static List<Window> prepare(WordPieceTokenizer tok, String question, String context, Config cfg) {
        WordPieceTokenizer.Encoding q = tok.encode(question);
        WordPieceTokenizer.Encoding c = tok.encode(context);
        int nq = Math.min(q.size(), cfg.maxQueryLength);
        int room = cfg.maxSeqLength - nq - 3;
        if (room <= cfg.docStride) {
            throw new QaException("question of " + nq + " tokens leaves " + Math.max(room, 0)
                    + " context tokens per " + cfg.maxSeqLength + "-token window, not more than the overlap of "
                    + cfg.docStride + "; shorten the question");
        }
        int n = c.size();
        List<Window> out = new ArrayList<>();
        for (int s = 0; ; s += room - cfg.docStride) {
            int e = Math.min(s + room, n);
            int len = nq + 3 + (e - s);
            int[] ids = new int[len], mask = new int[len], types = new int[len];
            int[][] offs = new int[len][];
            int k = 0;
            ids[k++] = tok.clsId;
            for (int j = 0; j < nq; j++) ids[k++] = q.ids.get(j);
            ids[k++] = tok.sepId;
            for (int j = s; j < e; j++) {
                offs[k] = c.offsets.get(j).clone();
                types[k] = 1;
                ids[k++] = c.ids.get(j);
            }
            types[k] = 1;
            ids[k] = tok.sepId;
            Arrays.fill(mask, 1);
            if (!cfg.tokenTypeIds) Arrays.fill(types, 0);
            out.add(new Window(ids, mask, types, offs));
            if (e >= n) return out;
        }
    }
}
