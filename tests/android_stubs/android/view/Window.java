// Signature stub for compiling the DistilKit app with javac only: Android API 35 (compileSdk 35), from the published reference https://developer.android.com/reference/android/view/Window
// Declares only what the app uses; bodies are not the platform's. Not shipped.
package android.view;

public abstract class Window {
    public void addFlags(int flags) { throw new RuntimeException("Stub!"); }
    public void clearFlags(int flags) { throw new RuntimeException("Stub!"); }
}
