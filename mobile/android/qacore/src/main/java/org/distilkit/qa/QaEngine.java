package org.distilkit.qa;

import java.util.ArrayList;
import java.util.List;

/** Question + passage -> answer: tokenize, run every window through the model, decode across windows. */
public final class QaEngine {
    private final ModelSpec spec;
    private final WordPieceTokenizer tokenizer;
    private final Features.Config features;

    public static final class Answer {
        /** Empty when there is no answer; message then says why (shown instead of an answer). */
        public final String text, message;
        public final int startChar, endChar, windows;
        public final double score, latencyMs;

        Answer(String text, String message, int startChar, int endChar, double score, int windows, double latencyMs) {
            this.text = text;
            this.message = message;
            this.startChar = startChar;
            this.endChar = endChar;
            this.score = score;
            this.windows = windows;
            this.latencyMs = latencyMs;
        }

        static Answer none(String message, int windows, double latencyMs) {
            return new Answer("", message, -1, -1, Double.NaN, windows, latencyMs);
        }

        public boolean found() { return startChar >= 0; }
    }

    public QaEngine(ModelSpec spec) {
        this(spec, spec.loadTokenizer());
    }

    public QaEngine(ModelSpec spec, WordPieceTokenizer tokenizer) {
        this.spec = spec;
        this.tokenizer = tokenizer;
        this.features = spec.featureConfig();
    }

    public List<Features.Window> windows(String question, String context) {
        List<Features.Window> out = new ArrayList<>();
        for (Features.Window w : Features.prepare(tokenizer, question, context, features)) {
            out.add(w.padded(spec.seqLen, tokenizer.padId));
        }
        return out;
    }

    /** Never throws for user input: empty or over-long text gives an Answer with a message. */
    public Answer answer(QaModel model, String question, String context) {
        if (question == null || question.trim().isEmpty()) return Answer.none("Type a question.", 0, 0);
        if (context == null || context.trim().isEmpty()) return Answer.none("Paste a passage to search.", 0, 0);
        List<Features.Window> ws;
        try {
            ws = windows(question, context);
        } catch (QaException e) {
            return Answer.none(e.getMessage(), 0, 0);
        }
        List<double[]> starts = new ArrayList<>(), ends = new ArrayList<>();
        List<int[][]> offsets = new ArrayList<>();
        long t0 = System.nanoTime();
        for (Features.Window w : ws) {
            float[][] logits;
            try {
                logits = model.run(w.inputIds, w.attentionMask, features.tokenTypeIds ? w.tokenTypeIds : null);
            } catch (Exception e) {
                throw new QaException(model.runtime() + " failed on " + spec.file.getName() + ": " + e.getMessage(), e);
            }
            if (logits.length != 2 || logits[0].length < spec.seqLen || logits[1].length < spec.seqLen) {
                throw new QaException(spec.file.getName() + " returned outputs of the wrong shape for seq_len " + spec.seqLen);
            }
            starts.add(toDouble(logits[0]));
            ends.add(toDouble(logits[1]));
            offsets.add(w.offsets);
        }
        double ms = (System.nanoTime() - t0) / 1e6;
        List<SpanDecoder.Span> spans = SpanDecoder.decode(starts, ends, offsets, context, 20, spec.maxAnswerLength);
        if (spans.isEmpty()) return Answer.none("No answer found in the passage.", ws.size(), ms);
        SpanDecoder.Span best = spans.get(0);
        return new Answer(best.text, "", best.startChar, best.endChar, best.score, ws.size(), ms);
    }

    private static double[] toDouble(float[] xs) {
        double[] out = new double[xs.length];
        for (int i = 0; i < xs.length; i++) out[i] = xs[i];
        return out;
    }
}
