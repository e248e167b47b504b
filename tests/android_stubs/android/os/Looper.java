// Signature stub for compiling the DistilKit app with javac only: Android API 35 (compileSdk 35), from the published reference https://developer.android.com/reference/android/os/Looper
// Declares only what the app uses; bodies are not the platform's. Not shipped.
package android.os;

public final class Looper {
    public static Looper getMainLooper() { throw new RuntimeException("Stub!"); }
}
