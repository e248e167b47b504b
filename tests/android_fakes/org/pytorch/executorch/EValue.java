// Test double of ExecuTorch Android's EValue (the signatures of tests/android_stubs). Not shipped.
package org.pytorch.executorch;

public class EValue {
    private final Tensor tensor;

    private EValue(Tensor tensor) { this.tensor = tensor; }

    public static EValue from(Tensor tensor) { return new EValue(tensor); }

    public Tensor toTensor() { return tensor; }
}
