package org.distilkit.qa;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;

/**
 * Memory a model adds to the process, measured like the host benchmark: resident memory
 * sampled after loading and after every run, minus the resident memory before loading.
 */
public final class PeakMemory {
    /** Current resident memory in MB, or null where the OS does not say. */
    public interface Probe {
        Double residentMb();
    }

    private final Probe probe;
    private final Double before;
    private Double max;

    public PeakMemory(Probe probe) {
        this.probe = probe;
        this.before = probe.residentMb();
    }

    public void sample() {
        Double now = probe.residentMb();
        if (now != null && (max == null || now > max)) max = now;
    }

    /** Peak increase over the resident memory before loading; null when unmeasurable. */
    public Double peakIncreaseMb() {
        return before == null || max == null ? null : Math.max(0.0, max - before);
    }

    /** Linux and Android: VmRSS from /proc/self/status. */
    public static Double procResidentMb() {
        try {
            for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) return Long.parseLong(line.substring(6).trim().split("\\s+")[0]) / 1024.0;
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return null;
    }
}
