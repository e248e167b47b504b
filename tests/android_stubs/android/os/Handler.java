// Signature stub for compiling the DistilKit app with javac only: Android API 35 (compileSdk 35), from the published reference https://developer.android.com/reference/android/os/Handler
// Declares only what the app uses; bodies are not the platform's. Not shipped.
package android.os;

public class Handler {
    public Handler(Looper looper) { throw new RuntimeException("Stub!"); }
    public final boolean post(Runnable r) { throw new RuntimeException("Stub!"); }
}
