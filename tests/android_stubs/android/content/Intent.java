// Signature stub for compiling the DistilKit app with javac only: Android API 35 (compileSdk 35), from the published reference https://developer.android.com/reference/android/content/Intent
// Declares only what the app uses; bodies are not the platform's. Not shipped.
package android.content;

public class Intent {
    public String getStringExtra(String name) { throw new RuntimeException("Stub!"); }
    public int getIntExtra(String name, int defaultValue) { throw new RuntimeException("Stub!"); }
}
