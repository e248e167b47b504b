package org.distilkit.qa;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Accuracy on the phone: every question of the staged set answered by every window length of one model group,
 * scored with SquadMetrics. Per length that file answers every question (what parity measures on the host, so
 * the report can put the two side by side); the app's own figure takes each question's answer from the length
 * WindowChoice gives it, as the app's screen does. pipeline/devices/accuracy.py accuracy_block is the reference.
 */
public final class AccuracyRunner {
    /** The answers behind the figures: predictions.get(k)[i] is length k's answer to question i. */
    public static final class Outcome {
        public final List<String[]> predictions = new ArrayList<>();
        public final int[] chosen;

        Outcome(int questions) { chosen = new int[questions]; }
    }

    /** Adds the group's entry to out (whose question set must be set); returns the answers. */
    public Outcome run(WindowChoice.Group group, BenchmarkRunner.Loader loader, QuestionSet set, BenchmarkResults out) {
        List<QuestionSet.Question> qs = set.questions;
        WordPieceTokenizer tok = group.lengths.get(0).loadTokenizer();
        Outcome o = new Outcome(qs.size());
        String runtime = null, version = null;
        for (ModelSpec spec : group.lengths) {
            QaEngine engine = new QaEngine(spec, tok);
            String[] answers = new String[qs.size()];
            try (QaModel m = load(loader, spec)) {
                for (int i = 0; i < qs.size(); i++) answers[i] = engine.answer(m, qs.get(i).question, qs.get(i).context).text;
                runtime = m.runtime();
                version = m.runtimeVersion();
            }
            o.predictions.add(answers);
        }
        for (int i = 0; i < qs.size(); i++) {
            o.chosen[i] = group.lengths.indexOf(group.choose(tok, qs.get(i).question, qs.get(i).context));
        }
        out.addAccuracy(entry(group, runtime, version, qs, o));
        return o;
    }

    private static QaModel load(BenchmarkRunner.Loader loader, ModelSpec spec) {
        try {
            return loader.load(spec);
        } catch (Exception e) {
            throw new QaException("cannot load " + spec.file.getName() + ": " + e.getMessage(), e);
        }
    }

    private static Map<String, Object> entry(WindowChoice.Group group, String runtime, String version,
                                             List<QuestionSet.Question> qs, Outcome o) {
        ModelSpec first = group.lengths.get(0);
        List<Object> lengths = new ArrayList<>();
        double[] mine = new double[2];
        for (int k = 0; k < group.lengths.size(); k++) {
            double[] total = new double[2];
            int chosen = 0;
            for (int i = 0; i < qs.size(); i++) {
                double[] s = SquadMetrics.best(o.predictions.get(k)[i], qs.get(i).answers);
                total[0] += s[0];
                total[1] += s[1];
                if (o.chosen[i] == k) {
                    chosen++;
                    mine[0] += s[0];
                    mine[1] += s[1];
                }
            }
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("seq_len", group.lengths.get(k).seqLen);
            row.put("exact_match", 100 * total[0] / qs.size());
            row.put("f1", 100 * total[1] / qs.size());
            row.put("chosen", chosen);
            lengths.add(row);
        }
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("runtime", runtime);
        e.put("runtime_version", version == null ? "" : version);
        e.put("model", first.model);
        e.put("format", first.format);
        e.put("backend", first.backend);
        e.put("precision", first.precision);
        e.put("lengths", lengths);
        Map<String, Object> choice = new LinkedHashMap<>();
        choice.put("exact_match", 100 * mine[0] / qs.size());
        choice.put("f1", 100 * mine[1] / qs.size());
        e.put("window_choice", choice);
        return e;
    }
}
