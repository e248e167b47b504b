// Signature stub for compiling the DistilKit app with javac only: LiteRT 2.3.0 (com.google.ai.edge.litert:litert), from its Kotlin sources litert/kotlin/src/main/kotlin/com/google/ai/edge/litert/LiteRtException.kt (https://github.com/google-ai-edge/LiteRT; the members used are the same at tags v2.1.0, v2.2.0 and at main with version.bzl 2.3.0)
// Declares only what the app uses, as Java sees the Kotlin (@JvmStatic, @JvmOverloads, property setters); bodies are not the platform's. Not shipped.
package com.google.ai.edge.litert;

public class LiteRtException extends Exception {
    public LiteRtException(int code, String message) { super(message); }
}
