package org.distilkit.qa;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Warm-up then timed forward passes of one model on a fixed window of seq_len tokens: the
 * same quantity the host benchmark times, so host and device figures compare.
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

    /** @param settings what the runtime was given, recorded with the entry (null: nothing) */
    public void run(ModelSpec spec, Loader loader, String question, String context, BenchmarkResults out,
                    Map<String, Object> settings) {
        Features.Window w = new QaEngine(spec).windows(question, context).get(0);
        int[] types = spec.tokenTypeIds ? w.tokenTypeIds : null;
        PeakMemory mem = new PeakMemory(memory);
        long t0 = clock.nanoTime();
        QaModel model;
        try {
            model = loader.load(spec);
        } catch (Exception e) {
            throw new QaException("cannot load " + spec.file.getName() + ": " + e.getMessage(), e);
        }
        double loadMs = (clock.nanoTime() - t0) / 1e6;
        mem.sample();
        List<Double> samples = new ArrayList<>();
        try (QaModel m = model) {
            for (int i = 0; i < warmup + iters; i++) {
                long a = clock.nanoTime();
                m.run(w.inputIds, w.attentionMask, types);
                double ms = (clock.nanoTime() - a) / 1e6;
                if (i >= warmup) samples.add(ms);
                mem.sample();
            }
            out.add(m.runtime(), m.runtimeVersion(), spec.model, spec.precision, spec.seqLen, loadMs, samples,
                    mem.peakIncreaseMb(), spec.bytes, settings);
        } catch (QaException e) {
            throw e;
        } catch (Exception e) {
            throw new QaException(model.runtime() + " failed on " + spec.file.getName() + ": " + e.getMessage(), e);
        }
    }
}
