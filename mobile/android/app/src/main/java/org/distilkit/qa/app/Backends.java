package org.distilkit.qa.app;

import android.os.Build;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distilkit.qa.BenchmarkSession;
import org.distilkit.qa.ModelSpec;
import org.distilkit.qa.QaException;
import org.distilkit.qa.QaModel;

/** The two runtimes behind one interface: which model files each can open, and how. */
enum Backends implements BenchmarkSession.Backend {
    LITERT("LiteRT", "tflite"),
    EXECUTORCH("ExecuTorch", "executorch");

    /**
     * CPU threads given to both runtimes, explicitly: left to itself ExecuTorch takes half the
     * cores. The results record this number (device.threads).
     */
    static final int THREADS = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));

    final String label, format;

    Backends(String label, String format) {
        this.label = label;
        this.format = format;
    }

    @Override
    public String label() { return label; }

    @Override
    public List<ModelSpec> usable(List<ModelSpec> all) {
        List<ModelSpec> out = new ArrayList<>();
        for (ModelSpec s : all) if (s.format.equals(format)) out.add(s);
        return out;
    }

    @Override
    public QaModel open(ModelSpec spec) {
        if (!spec.format.equals(format)) {
            throw new QaException(spec.file.getName() + " is a " + spec.format + " model; " + label + " needs " + format);
        }
        try {
            return this == LITERT ? new LiteRtQaModel(spec, THREADS) : new ExecuTorchQaModel(spec, THREADS);
        } catch (LinkageError e) {
            // UnsatisfiedLinkError / ExceptionInInitializerError from the runtime's static loader.
            throw new QaException(label + " cannot load its native library on this phone (ABIs "
                    + String.join(", ", Build.SUPPORTED_ABIS) + "; the ExecuTorch AAR ships arm64-v8a and x86_64 only): "
                    + BenchmarkSession.describe(e), e);
        }
    }

    /** Both run on the CPU (LiteRT: Accelerator.CPU; ExecuTorch: the XNNPACK delegate) with THREADS threads. */
    @Override
    public Map<String, Object> settings() {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("threads", THREADS);
        s.put("accelerator", "cpu");
        return s;
    }

    @Override
    public String toString() { return label; }
}
