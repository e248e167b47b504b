// Test double of ExecuTorch Android's Tensor (the signatures of tests/android_stubs). Not shipped.
package org.pytorch.executorch;

public class Tensor {
    final long[] shape;
    private final float[] floats;

    private Tensor(long[] shape, float[] floats) {
        this.shape = shape;
        this.floats = floats;
    }

    public static Tensor fromBlob(int[] data, long[] shape) {
        long n = 1;
        for (long d : shape) n *= d;
        if (n != data.length) throw new IllegalArgumentException("shape does not fit the data");
        return new Tensor(shape, null);
    }

    static Tensor floats(float[] v) { return new Tensor(new long[]{1, v.length}, v); }

    public float[] getDataAsFloatArray() { return floats; }
}
