// Signature stub for compiling the DistilKit app with javac only: Android API 35 (compileSdk 35), from the published reference https://developer.android.com/reference/android/graphics/Insets
// Declares only what the app uses; bodies are not the platform's. Not shipped.
package android.graphics;

/** Added in API 29. */
public final class Insets {
    public final int left = Integer.valueOf(0), top = Integer.valueOf(0), right = Integer.valueOf(0), bottom = Integer.valueOf(0);

    private Insets() { throw new RuntimeException("Stub!"); }
}
