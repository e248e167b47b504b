package org.distilkit.qa.app;

import com.google.ai.edge.litert.Accelerator;
import com.google.ai.edge.litert.CompiledModel;
import com.google.ai.edge.litert.LiteRtException;
import com.google.ai.edge.litert.TensorBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distilkit.qa.ModelSpec;
import org.distilkit.qa.QaException;
import org.distilkit.qa.QaModel;

/**
 * A .tflite QA model through LiteRT 2.x's CompiledModel (CPU), the runtime and version the host gate
 * runs (ai-edge-litert); the Interpreter API is the deprecated path. Buffers are made once per model
 * and named as the sidecar lists them; "" is the model's first signature.
 */
final class LiteRtQaModel implements QaModel {
    private static final String SIGNATURE = "";
    private final ModelSpec spec;
    private final CompiledModel model;
    private final Map<String, TensorBuffer> inputs = new LinkedHashMap<>(), outputs = new LinkedHashMap<>();

    LiteRtQaModel(ModelSpec spec, int threads) {
        this.spec = spec;
        CompiledModel.Options options = new CompiledModel.Options(Accelerator.CPU);
        options.setCpuOptions(new CompiledModel.CpuOptions(threads, null, null));
        try {
            model = CompiledModel.create(spec.file.getAbsolutePath(), options);
        } catch (LiteRtException e) {
            throw new QaException("LiteRT cannot load " + spec.file.getName() + ": " + e.getMessage(), e);
        }
        try {
            List<TensorBuffer> all = model.createInputBuffers(0);
            int count = all.size();
            for (TensorBuffer b : all) b.close();
            if (count != spec.inputs.size()) throw mismatch(count + " inputs");
            for (String name : spec.inputs) inputs.put(name, model.createInputBuffer(name, SIGNATURE));
            for (String name : spec.outputs) outputs.put(name, model.createOutputBuffer(name, SIGNATURE));
        } catch (LiteRtException e) {
            close();
            throw mismatch(e.getMessage());
        } catch (QaException e) {
            close();
            throw e;
        }
    }

    private QaException mismatch(String what) {
        return new QaException(spec.file.getName() + " does not take the inputs and outputs " + spec.sidecar.getName()
                + " lists (" + spec.inputs + " -> " + spec.outputs + "): " + what + " (mismatched sidecar)");
    }

    @Override
    public float[][] run(int[] inputIds, int[] attentionMask, int[] tokenTypeIds) throws LiteRtException {
        return forward(prepare(inputIds, attentionMask, tokenTypeIds));
    }

    /** Writes the window into the input buffers (timed apart from the model call). */
    @Override
    public Object prepare(int[] inputIds, int[] attentionMask, int[] tokenTypeIds) throws LiteRtException {
        inputs.get("input_ids").writeInt(inputIds);
        if (inputs.containsKey("attention_mask")) inputs.get("attention_mask").writeInt(attentionMask);
        if (inputs.containsKey("token_type_ids")) {
            if (tokenTypeIds == null) throw new QaException(spec.sidecar.getName() + " lists token_type_ids but none were given");
            inputs.get("token_type_ids").writeInt(tokenTypeIds);
        }
        return inputs;
    }

    @Override
    public float[][] forward(Object prepared) throws LiteRtException {
        model.run(inputs, outputs, SIGNATURE);
        return new float[][]{outputs.get(spec.outputs.get(0)).readFloat(), outputs.get(spec.outputs.get(1)).readFloat()};
    }

    @Override
    public String runtime() { return "litert"; }

    /** The Gradle pin: the 2.x Kotlin API has no runtime-version call, and the pin is what the gate compares. */
    @Override
    public String runtimeVersion() { return BuildConfig.LITERT_VERSION; }

    @Override
    public void close() {
        for (TensorBuffer b : inputs.values()) b.close();
        for (TensorBuffer b : outputs.values()) b.close();
        model.close();
    }
}
