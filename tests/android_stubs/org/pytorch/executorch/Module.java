// Signature stub for compiling the DistilKit app with javac only: ExecuTorch Android 1.5.1 (org.pytorch:executorch-android), from its Kotlin sources extension/android/executorch_android/src/main/java/org/pytorch/executorch/Module.kt (https://github.com/pytorch/executorch, read at v1.4.1 and main; the API the app uses is the same in both)
// Declares only what the app uses; bodies are not the platform's. Not shipped.
package org.pytorch.executorch;

// Kotlin: open class Module; load is a @JvmStatic @JvmOverloads companion function, the load modes const vals.
public class Module {
    public static final int LOAD_MODE_FILE = 0;
    public static final int LOAD_MODE_MMAP = 1;
    public static Module load(String modelPath, int loadMode, int numThreads) { throw new RuntimeException("Stub!"); }
    public void loadMethod(String methodName) { throw new RuntimeException("Stub!"); }
    public EValue[] forward(EValue... inputs) { throw new RuntimeException("Stub!"); }
    public void destroy() { throw new RuntimeException("Stub!"); }
}
