package org.distilkit.qa;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Peak resident memory of this process (Linux/Android VmHWM), or null where the OS does not say. */
public final class PeakMemory {
    private PeakMemory() {}

    public static Double currentPeakMb() {
        Path status = Paths.get("/proc/self/status");
        try {
            for (String line : Files.readAllLines(status)) {
                if (line.startsWith("VmHWM:")) {
                    String kb = line.substring(6).trim().split("\\s+")[0];
                    return Long.parseLong(kb) / 1024.0;
                }
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return null;
    }
}
