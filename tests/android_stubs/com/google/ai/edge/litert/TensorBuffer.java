// Signature stub for compiling the DistilKit app with javac only: LiteRT 2.3.0 (com.google.ai.edge.litert:litert), from its Kotlin sources litert/kotlin/src/main/kotlin/com/google/ai/edge/litert/TensorBuffer.kt, Common.kt (JniHandle) (https://github.com/google-ai-edge/LiteRT; the members used are the same at tags v2.1.0, v2.2.0 and at main with version.bzl 2.3.0)
// Declares only what the app uses, as Java sees the Kotlin (@JvmStatic, @JvmOverloads, property setters); bodies are not the platform's. Not shipped.
package com.google.ai.edge.litert;

public final class TensorBuffer implements AutoCloseable {
    private TensorBuffer() { throw new RuntimeException("Stub!"); }
    public void writeInt(int[] data) throws LiteRtException { throw new RuntimeException("Stub!"); }
    public float[] readFloat() throws LiteRtException { throw new RuntimeException("Stub!"); }
    @Override public void close() { throw new RuntimeException("Stub!"); }
}
