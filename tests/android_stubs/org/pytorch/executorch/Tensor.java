// Signature stub for compiling the DistilKit app with javac only: ExecuTorch Android 1.5.1 (org.pytorch:executorch-android), from its Kotlin sources extension/android/executorch_android/src/main/java/org/pytorch/executorch/Tensor.kt (https://github.com/pytorch/executorch, read at v1.4.1 and main; the API the app uses is the same in both)
// Declares only what the app uses; bodies are not the platform's. Not shipped.
package org.pytorch.executorch;

// Kotlin: abstract class Tensor; fromBlob is @JvmStatic, dataAsFloatArray a property (getDataAsFloatArray()).
public abstract class Tensor {
    public static Tensor fromBlob(int[] data, long[] shape) { throw new RuntimeException("Stub!"); }
    public float[] getDataAsFloatArray() { throw new RuntimeException("Stub!"); }
}
