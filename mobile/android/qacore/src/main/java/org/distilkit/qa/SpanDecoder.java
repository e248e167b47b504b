package org.distilkit.qa;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** n-best answer spans over all windows of one example, as pipeline.qa_features.decode_spans. */
public final class SpanDecoder {
    private SpanDecoder() {}

    public static final class Span {
        /** Code-point offsets into the context, end exclusive. */
        public final int startChar, endChar;
        public final double score;
        public final String text;

        Span(String context, int startChar, int endChar, double score) {
            this.startChar = startChar;
            this.endChar = endChar;
            this.score = score;
            this.text = substringByCodePoints(context, startChar, endChar);
        }
    }

    public static String substringByCodePoints(String s, int start, int end) {
        int a = s.offsetByCodePoints(0, start);
        return s.substring(a, s.offsetByCodePoints(a, end - start));
    }

    static Integer[] topIndices(double[] logits, int n, int limit) {
        Integer[] idx = new Integer[n];
        for (int i = 0; i < n; i++) idx[i] = i;
        // Higher logit first, ties by lower index: every port must agree on ties.
        Arrays.sort(idx, (a, b) -> logits[a] != logits[b] ? Double.compare(logits[b], logits[a]) : Integer.compare(a, b));
        return Arrays.copyOf(idx, Math.min(limit, n));
    }

    /** Best spans first; an empty list means no valid span (e.g. no context token at all). */
    public static List<Span> decode(List<double[]> startLogits, List<double[]> endLogits, List<int[][]> offsets,
                                    String context, int nBest, int maxAnswerLength) {
        Map<Long, Double> best = new HashMap<>();
        for (int w = 0; w < offsets.size(); w++) {
            int[][] offs = offsets.get(w);
            double[] st = startLogits.get(w), en = endLogits.get(w);
            int n = Math.min(offs.length, Math.min(st.length, en.length));
            Integer[] ends = topIndices(en, n, nBest);
            for (int s : topIndices(st, n, nBest)) {
                if (offs[s] == null) continue;
                for (int e : ends) {
                    if (offs[e] == null || e < s || e - s + 1 > maxAnswerLength) continue;
                    double score = st[s] + en[e];
                    if (Double.isNaN(score)) continue;
                    long key = ((long) offs[s][0] << 32) | offs[e][1];
                    Double old = best.get(key);
                    if (old == null || score > old) best.put(key, score);
                }
            }
        }
        List<Span> out = new ArrayList<>();
        for (Map.Entry<Long, Double> kv : best.entrySet()) {
            out.add(new Span(context, (int) (kv.getKey() >>> 32), (int) (kv.getKey() & 0xFFFFFFFFL), kv.getValue()));
        }
        out.sort(Comparator.<Span>comparingDouble(x -> -x.score).thenComparingInt(x -> x.startChar)
                .thenComparingInt(x -> x.endChar));
        return out;
    }
}
