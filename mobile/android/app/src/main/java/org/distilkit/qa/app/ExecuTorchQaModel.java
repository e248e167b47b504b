package org.distilkit.qa.app;

import org.distilkit.qa.ModelSpec;
import org.distilkit.qa.QaException;
import org.distilkit.qa.QaModel;
import org.pytorch.executorch.EValue;
import org.pytorch.executorch.Module;
import org.pytorch.executorch.Tensor;

/** A .pte QA model through ExecuTorch's Module; inputs in the order the sidecar lists them. */
final class ExecuTorchQaModel implements QaModel {
    private final ModelSpec spec;
    private final Module module;

    ExecuTorchQaModel(ModelSpec spec, int threads) {
        this.spec = spec;
        // mmap: the weights are paged in rather than read into a second copy of the whole file.
        module = Module.load(spec.file.getAbsolutePath(), Module.LOAD_MODE_MMAP, threads);
        try {
            // Module.load only opens the program; loading the method (XNNPACK's weight packing)
            // here makes it part of load_ms instead of the first warm-up run.
            module.loadMethod("forward");
        } catch (RuntimeException e) {
            module.destroy();
            throw new QaException("ExecuTorch cannot load " + spec.file.getName() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public float[][] run(int[] inputIds, int[] attentionMask, int[] tokenTypeIds) {
        return forward(prepare(inputIds, attentionMask, tokenTypeIds));
    }

    /** The input tensors in the sidecar's order (timed apart from the model call). */
    @Override
    public EValue[] prepare(int[] inputIds, int[] attentionMask, int[] tokenTypeIds) {
        long[] shape = {1, spec.seqLen};
        EValue[] in = new EValue[spec.inputs.size()];
        for (int i = 0; i < in.length; i++) {
            String name = spec.inputs.get(i);
            int[] data = name.equals("input_ids") ? inputIds : name.equals("attention_mask") ? attentionMask
                    : name.equals("token_type_ids") ? tokenTypeIds : null;
            if (data == null) throw new QaException(spec.sidecar.getName() + " lists an unknown input '" + name + "'");
            in[i] = EValue.from(Tensor.fromBlob(data, shape));
        }
        return in;
    }

    @Override
    public float[][] forward(Object prepared) {
        EValue[] out = module.forward((EValue[]) prepared);
        if (out.length < 2) throw new QaException(spec.file.getName() + " returned " + out.length + " outputs, expected 2");
        return new float[][]{out[0].toTensor().getDataAsFloatArray(), out[1].toTensor().getDataAsFloatArray()};
    }

    @Override
    public String runtime() { return "executorch"; }

    @Override
    public String runtimeVersion() { return BuildConfig.EXECUTORCH_VERSION; }

    @Override
    public void close() { module.destroy(); }
}
