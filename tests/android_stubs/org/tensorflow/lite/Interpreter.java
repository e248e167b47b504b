// Signature stub for compiling the DistilKit app with javac only: LiteRT 1.4.1 (com.google.ai.edge.litert:litert), from its Java sources tflite/java/src/main/java/org/tensorflow/lite/Interpreter.java, InterpreterApi.java, InterpreterImpl.java (https://github.com/google-ai-edge/LiteRT, tag v1.4.1)
// Declares only what the app uses; bodies are not the platform's. Not shipped.
package org.tensorflow.lite;

import java.io.File;
import java.util.Map;

// Methods the app calls, declared here; on the platform they come from InterpreterApi / InterpreterImpl.
public final class Interpreter {
    public Interpreter(File modelFile, Options options) { throw new RuntimeException("Stub!"); }
    public String[] getSignatureKeys() { throw new RuntimeException("Stub!"); }
    public String[] getSignatureInputs(String signatureKey) { throw new RuntimeException("Stub!"); }
    public void runSignature(Map<String, Object> inputs, Map<String, Object> outputs, String signatureKey) {
        throw new RuntimeException("Stub!");
    }
    public void close() { throw new RuntimeException("Stub!"); }

    public static class Options {
        public Options() { throw new RuntimeException("Stub!"); }
        public Options setNumThreads(int numThreads) { throw new RuntimeException("Stub!"); }
    }
}
