// Signature stub for compiling the DistilKit app with javac only: LiteRT 2.3.0 (com.google.ai.edge.litert:litert), from its Kotlin sources litert/kotlin/src/main/kotlin/com/google/ai/edge/litert/Model.kt, Common.kt (JniHandle) (https://github.com/google-ai-edge/LiteRT; the members used are the same at tags v2.1.0, v2.2.0 and at main with version.bzl 2.3.0)
// Declares only what the app uses, as Java sees the Kotlin (@JvmStatic, @JvmOverloads, property setters); bodies are not the platform's. Not shipped.
package com.google.ai.edge.litert;

import java.util.List;
import java.util.Map;

public final class CompiledModel implements AutoCloseable {
    private CompiledModel() { throw new RuntimeException("Stub!"); }

    public static CompiledModel create(String filePath, Options options) throws LiteRtException {
        throw new RuntimeException("Stub!");
    }
    public List<TensorBuffer> createInputBuffers(int signatureIndex) throws LiteRtException { throw new RuntimeException("Stub!"); }
    public TensorBuffer createInputBuffer(String inputName, String signature) throws LiteRtException {
        throw new RuntimeException("Stub!");
    }
    public TensorBuffer createOutputBuffer(String outputName, String signature) throws LiteRtException {
        throw new RuntimeException("Stub!");
    }
    public void run(Map<String, TensorBuffer> inputs, Map<String, TensorBuffer> outputs, String signature)
            throws LiteRtException {
        throw new RuntimeException("Stub!");
    }
    @Override public void close() { throw new RuntimeException("Stub!"); }

    public static final class CpuOptions {
        public CpuOptions(Integer numThreads, Integer xnnPackFlags, String xnnPackWeightCachePath) {
            throw new RuntimeException("Stub!");
        }
    }

    public static final class Options {
        public Options(Accelerator... accelerators) { throw new RuntimeException("Stub!"); }
        public void setCpuOptions(CpuOptions cpuOptions) { throw new RuntimeException("Stub!"); }
    }
}
