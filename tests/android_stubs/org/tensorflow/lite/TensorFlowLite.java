// Signature stub for compiling the DistilKit app with javac only: LiteRT 1.4.1 (com.google.ai.edge.litert:litert), from its Java sources tflite/java/src/main/java/org/tensorflow/lite/TensorFlowLite.java (https://github.com/google-ai-edge/LiteRT, tag v1.4.1)
// Declares only what the app uses; bodies are not the platform's. Not shipped.
package org.tensorflow.lite;

public final class TensorFlowLite {
    public static String runtimeVersion() { throw new RuntimeException("Stub!"); }
}
