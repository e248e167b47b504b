package org.distilkit.qa.app;

import java.util.ArrayList;
import java.util.List;
import org.distilkit.qa.ModelSpec;
import org.distilkit.qa.QaException;
import org.distilkit.qa.QaModel;

/** The two runtimes behind one interface: which model files each can open, and how. */
enum Backends {
    LITERT("LiteRT", "tflite"),
    EXECUTORCH("ExecuTorch", "executorch");

    static final int THREADS = 4;

    final String label, format;

    Backends(String label, String format) {
        this.label = label;
        this.format = format;
    }

    List<ModelSpec> usable(List<ModelSpec> all) {
        List<ModelSpec> out = new ArrayList<>();
        for (ModelSpec s : all) if (s.format.equals(format)) out.add(s);
        return out;
    }

    QaModel open(ModelSpec spec) {
        if (!spec.format.equals(format)) {
            throw new QaException(spec.file.getName() + " is a " + spec.format + " model; " + label + " needs " + format);
        }
        return this == LITERT ? new LiteRtQaModel(spec, THREADS) : new ExecuTorchQaModel(spec);
    }

    @Override
    public String toString() { return label; }
}
