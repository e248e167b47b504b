package org.distilkit.qa;

import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * SQuAD v1.1 exact match and F1 as pipeline/data/squad_metrics.py scores them: lower case, drop ASCII
 * punctuation, drop the words a / an / the, collapse whitespace; the best over a question's gold answers.
 */
public final class SquadMetrics {
    private static final String PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";  // Python's string.punctuation
    private static final Pattern ARTICLES = Pattern.compile("\\b(a|an|the)\\b", Pattern.UNICODE_CHARACTER_CLASS);

    private SquadMetrics() {}

    public static String normalize(String text) {
        StringBuilder kept = new StringBuilder();
        text.toLowerCase(Locale.ROOT).codePoints()
                .filter(cp -> cp >= 128 || PUNCTUATION.indexOf(cp) < 0)
                .forEach(kept::appendCodePoint);
        String noArticles = ARTICLES.matcher(kept).replaceAll(" ").trim();
        return noArticles.isEmpty() ? "" : String.join(" ", noArticles.split("\\s+"));
    }

    public static double exactMatch(String prediction, String gold) {
        return normalize(prediction).equals(normalize(gold)) ? 1.0 : 0.0;
    }

    public static double f1(String prediction, String gold) {
        String p = normalize(prediction), g = normalize(gold);
        String[] pred = p.isEmpty() ? new String[0] : p.split(" "), ref = g.isEmpty() ? new String[0] : g.split(" ");
        Map<String, Integer> counts = new HashMap<>();
        for (String w : ref) counts.merge(w, 1, Integer::sum);
        int common = 0;
        for (String w : pred) {
            Integer c = counts.get(w);
            if (c != null && c > 0) {
                common++;
                counts.put(w, c - 1);
            }
        }
        if (common == 0) return 0.0;
        double precision = (double) common / pred.length, recall = (double) common / ref.length;
        return 2 * precision * recall / (precision + recall);
    }

    /** {exact match, F1} of one prediction: the best over the gold answers. */
    public static double[] best(String prediction, List<String> golds) {
        if (golds.isEmpty()) throw new QaException("a question needs at least one gold answer");
        double em = 0, f = 0;
        for (String g : golds) {
            em = Math.max(em, exactMatch(prediction, g));
            f = Math.max(f, f1(prediction, g));
        }
        return new double[]{em, f};
    }
}
