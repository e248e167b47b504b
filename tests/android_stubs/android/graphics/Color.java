// Signature stub for compiling the DistilKit app with javac only: Android API 35 (compileSdk 35), from the published reference https://developer.android.com/reference/android/graphics/Color
// Declares only what the app uses; bodies are not the platform's. Not shipped.
package android.graphics;

public class Color {
    public static int rgb(int red, int green, int blue) { throw new RuntimeException("Stub!"); }
}
