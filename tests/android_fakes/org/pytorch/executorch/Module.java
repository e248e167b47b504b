// Test double of ExecuTorch Android's Module (the signatures of tests/android_stubs), run in place of
// the AAR to check what the app asks of it. Not shipped.
package org.pytorch.executorch;

import java.util.ArrayList;
import java.util.List;

public class Module {
    public static final int LOAD_MODE_FILE = 0;
    public static final int LOAD_MODE_MMAP = 1;
    /** What the app did, in order: "load <mode> <threads>", "loadMethod <name>", "forward <n>", "destroy". */
    public static final List<String> calls = new ArrayList<>();
    /** Set to make load fail as a missing native library does. */
    public static boolean noNativeLibrary;
    private final long seqLen;

    private Module(long seqLen) { this.seqLen = seqLen; }

    public static Module load(String modelPath, int loadMode, int numThreads) {
        if (noNativeLibrary) throw new UnsatisfiedLinkError("dlopen failed: library \"libexecutorch.so\" not found");
        calls.add("load " + loadMode + " " + numThreads);
        return new Module(-1);
    }

    public void loadMethod(String methodName) { calls.add("loadMethod " + methodName); }

    public EValue[] forward(EValue... inputs) {
        calls.add("forward " + inputs.length);
        int n = (int) inputs[0].toTensor().shape[1];
        return new EValue[]{EValue.from(Tensor.floats(new float[n])), EValue.from(Tensor.floats(new float[n]))};
    }

    public void destroy() { calls.add("destroy"); }
}
