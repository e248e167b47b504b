package org.distilkit.qa;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Summary of timed iterations, the same definition as pipeline.fixtures.latency_stats. */
public final class LatencyStats {
    public final int n;
    public final double meanMs, medianMs, p90Ms, trimmedMeanMs, minMs, maxMs;

    public LatencyStats(List<Double> samplesMs) {
        if (samplesMs.isEmpty()) throw new QaException("no timed iterations");
        double[] xs = new double[samplesMs.size()];
        for (int i = 0; i < xs.length; i++) xs[i] = samplesMs.get(i);
        Arrays.sort(xs);
        n = xs.length;
        meanMs = mean(xs, 0, n);
        medianMs = quantile(xs, 0.5);
        p90Ms = quantile(xs, 0.9);
        int cut = n / 10; // 10% trimmed at each end, so one stall cannot dominate
        trimmedMeanMs = mean(xs, cut, n - cut);
        minMs = xs[0];
        maxMs = xs[n - 1];
    }

    private static double mean(double[] xs, int from, int to) {
        double sum = 0;
        for (int i = from; i < to; i++) sum += xs[i];
        return sum / (to - from);
    }

    /** Linear interpolation between closest ranks (numpy's default). */
    private static double quantile(double[] xs, double q) {
        double pos = q * (xs.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(lo + 1, xs.length - 1);
        return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo);
    }

    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("n", n);
        m.put("mean_ms", meanMs);
        m.put("median_ms", medianMs);
        m.put("p90_ms", p90Ms);
        m.put("trimmed_mean_ms", trimmedMeanMs);
        m.put("min_ms", minMs);
        m.put("max_ms", maxMs);
        return m;
    }
}
