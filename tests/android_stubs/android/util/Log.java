// Signature stub for compiling the DistilKit app with javac only: Android API 35 (compileSdk 35), from the published reference https://developer.android.com/reference/android/util/Log
// Declares only what the app uses; bodies are not the platform's. Not shipped.
package android.util;

public final class Log {
    public static int i(String tag, String msg) { throw new RuntimeException("Stub!"); }
    public static int e(String tag, String msg, Throwable tr) { throw new RuntimeException("Stub!"); }
}
