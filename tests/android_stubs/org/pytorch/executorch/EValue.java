// Signature stub for compiling the DistilKit app with javac only: ExecuTorch Android 1.5.1 (org.pytorch:executorch-android), from its Kotlin sources extension/android/executorch_android/src/main/java/org/pytorch/executorch/EValue.kt (https://github.com/pytorch/executorch, read at v1.4.1 and main; the API the app uses is the same in both)
// Declares only what the app uses; bodies are not the platform's. Not shipped.
package org.pytorch.executorch;

public class EValue {
    public static EValue from(Tensor tensor) { throw new RuntimeException("Stub!"); }
    public Tensor toTensor() { throw new RuntimeException("Stub!"); }
}
