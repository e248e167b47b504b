package org.distilkit.qa;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Warm-up then timed forward passes of one model on a fixed window of seq_len tokens: the
 * same quantity the host benchmark times (the model call), so host and device figures compare.
 */
public final class BenchmarkRunner {
    /** Opens a model; the time it takes is the entry's load_ms. */
    public interface Loader {
        QaModel load(ModelSpec spec) throws Exception;
    }

    public interface Clock {
        long nanoTime();
    }

    private final int warmup, iters;
    private final Clock clock;
    private final PeakMemory.Probe memory;

    public BenchmarkRunner(int warmup, int iters, Clock clock) {
        this(warmup, iters, clock, PeakMemory::procResidentMb);
    }

    public BenchmarkRunner(int warmup, int iters, Clock clock, PeakMemory.Probe memory) {
        if (iters < 1 || warmup < 0) throw new QaException("benchmark needs iters >= 1 and warmup >= 0");
        this.warmup = warmup;
        this.iters = iters;
        this.clock = clock;
        this.memory = memory;
    }

    public void run(ModelSpec spec, Loader loader, String question, String context, BenchmarkResults out) {
        run(spec, loader, question, context, out, null);
    }

    /**
     * @param settings what the runtime was given, recorded with the entry (null: nothing). The entry's stats time
     * the model call alone; tokenizing, building the input tensors (median) and decoding the answer go to stages_ms.
     */
    public void run(ModelSpec spec, Loader loader, String question, String context, BenchmarkResults out,
                    Map<String, Object> settings) {
        long t0 = clock.nanoTime();
        Features.Window w = new QaEngine(spec).windows(question, context).get(0);
        double tokenizeMs = (clock.nanoTime() - t0) / 1e6;
        int[] types = spec.tokenTypeIds ? w.tokenTypeIds : null;
        PeakMemory mem = new PeakMemory(memory);
        long l0 = clock.nanoTime();
        QaModel model;
        try {
            model = loader.load(spec);
        } catch (Exception e) {
            throw new QaException("cannot load " + spec.file.getName() + ": " + e.getMessage(), e);
        }
        double loadMs = (clock.nanoTime() - l0) / 1e6;
        mem.sample();
        List<Double> samples = new ArrayList<>(), tensors = new ArrayList<>();
        try (QaModel m = model) {
            float[][] logits = null;
            for (int i = 0; i < warmup + iters; i++) {
                long a = clock.nanoTime();
                Object in = m.prepare(w.inputIds, w.attentionMask, types);
                long b = clock.nanoTime();
                logits = m.forward(in);
                long c = clock.nanoTime();
                if (i >= warmup) {
                    tensors.add((b - a) / 1e6);
                    samples.add((c - b) / 1e6);
                }
                mem.sample();
            }
            long d0 = clock.nanoTime();
            SpanDecoder.decode(Collections.singletonList(toDouble(logits[0])), Collections.singletonList(toDouble(logits[1])),
                    Collections.singletonList(w.offsets), context, 20, spec.maxAnswerLength);
            double decodeMs = (clock.nanoTime() - d0) / 1e6;
            Map<String, Object> stages = new LinkedHashMap<>();
            stages.put("tokenize", tokenizeMs);
            stages.put("tensors", new LatencyStats(tensors).toJson().get("median_ms"));
            stages.put("decode", decodeMs);
            out.add(m.runtime(), m.runtimeVersion(), spec.model, spec.precision, spec.seqLen, loadMs, samples,
                    mem.peakIncreaseMb(), spec.bytes, settings, stages);
        } catch (QaException e) {
            throw e;
        } catch (Exception e) {
            throw new QaException(model.runtime() + " failed on " + spec.file.getName() + ": " + e.getMessage(), e);
        }
    }

    private static double[] toDouble(float[] xs) {
        double[] out = new double[xs.length];
        for (int i = 0; i < xs.length; i++) out[i] = xs[i];
        return out;
    }
}
