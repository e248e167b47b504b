package org.distilkit.qa.app;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.distilkit.qa.ModelSpec;
import org.distilkit.qa.QaException;
import org.distilkit.qa.QaModel;
import org.tensorflow.lite.Interpreter;
import org.tensorflow.lite.TensorFlowLite;

/** A .tflite QA model through LiteRT's Interpreter, fed by the signature names the sidecar lists. */
final class LiteRtQaModel implements QaModel {
    private final ModelSpec spec;
    private final Interpreter interpreter;
    private final String signature;

    LiteRtQaModel(ModelSpec spec, int threads) {
        this.spec = spec;
        interpreter = new Interpreter(spec.file, new Interpreter.Options().setNumThreads(threads));
        String[] keys = interpreter.getSignatureKeys();
        if (keys.length == 0) {
            interpreter.close();
            throw new QaException(spec.file.getName() + " has no signature; re-export it with python pipeline/build_all.py --stages export");
        }
        signature = keys[0];
        List<String> have = Arrays.asList(interpreter.getSignatureInputs(signature));
        if (!have.containsAll(spec.inputs) || have.size() != spec.inputs.size()) {
            interpreter.close();
            throw new QaException(spec.file.getName() + " takes inputs " + have + " but " + spec.sidecar.getName()
                    + " lists " + spec.inputs + " (mismatched sidecar)");
        }
    }

    @Override
    public float[][] run(int[] inputIds, int[] attentionMask, int[] tokenTypeIds) {
        Map<String, Object> in = new HashMap<>();
        in.put("input_ids", new int[][]{inputIds});
        in.put("attention_mask", new int[][]{attentionMask});
        if (tokenTypeIds != null) in.put("token_type_ids", new int[][]{tokenTypeIds});
        float[][] start = new float[1][spec.seqLen], end = new float[1][spec.seqLen];
        Map<String, Object> out = new HashMap<>();
        out.put(spec.outputs.get(0), start);
        out.put(spec.outputs.get(1), end);
        interpreter.runSignature(in, out, signature);
        return new float[][]{start[0], end[0]};
    }

    @Override
    public String runtime() { return "litert"; }

    @Override
    public String runtimeVersion() { return TensorFlowLite.runtimeVersion(); }

    @Override
    public void close() { interpreter.close(); }
}
