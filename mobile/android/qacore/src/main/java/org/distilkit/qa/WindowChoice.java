package org.distilkit.qa;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which staged window length answers a question, as pipeline/devices/windows.py: the shortest whose
 * settings hold the question and the whole passage in one window, else the longest (overlapping
 * windows). A model call at 128 tokens costs about a third of one at 384.
 */
public final class WindowChoice {
    private WindowChoice() {}

    /** Index into configs of the length to answer with; each config is one length's own settings. */
    public static int choose(WordPieceTokenizer tok, String question, String context, List<Features.Config> configs) {
        if (configs.isEmpty()) throw new QaException("no window lengths to choose from");
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < configs.size(); i++) order.add(i);
        order.sort(Comparator.comparingInt(i -> configs.get(i).maxSeqLength));
        for (int k = 0; k < order.size() - 1; k++) {
            try {
                if (Features.prepare(tok, question, context, configs.get(order.get(k))).size() == 1) return order.get(k);
            } catch (QaException e) {
                // The question leaves this length no room: a longer one may still hold it.
            }
        }
        return order.get(order.size() - 1);
    }

    /** One model in one runtime and precision at every staged length: one entry of the app's picker. */
    public static final class Group {
        /** Shortest first. */
        public final List<ModelSpec> lengths = new ArrayList<>();

        /** e.g. "student · int8 · 128/384". */
        public String label() {
            StringBuilder seq = new StringBuilder();
            for (ModelSpec s : lengths) seq.append(seq.length() == 0 ? "" : "/").append(s.seqLen);
            ModelSpec first = lengths.get(0);
            String name = first.model.equals("student_d") ? "student (D)" : first.model;
            return name + " · " + first.precision + " · " + seq + (first.backend.equals(first.format) ? "" : " · " + first.backend);
        }

        /** The file to answer this question with (the tokenizer: any length's, they share the vocabulary). */
        public ModelSpec choose(WordPieceTokenizer tok, String question, String context) {
            List<Features.Config> configs = new ArrayList<>();
            for (ModelSpec s : lengths) configs.add(s.featureConfig());
            return lengths.get(WindowChoice.choose(tok, question, context, configs));
        }
    }

    /** The staged specs by model, format, backend and precision, in the order first seen. */
    public static List<Group> group(List<ModelSpec> specs) {
        Map<String, Group> groups = new LinkedHashMap<>();
        for (ModelSpec s : specs) {
            String key = s.model + "|" + s.format + "|" + s.backend + "|" + s.precision;
            groups.computeIfAbsent(key, k -> new Group()).lengths.add(s);
        }
        for (Group g : groups.values()) g.lengths.sort(Comparator.comparingInt(s -> s.seqLen));
        return new ArrayList<>(groups.values());
    }
}
