// Signature stub for compiling the DistilKit app with javac only: Android API 35 (compileSdk 35), from the published reference https://developer.android.com/reference/android/R.layout
// Declares only what the app uses; bodies are not the platform's. Not shipped.
package android;

public final class R {
    public static final class layout {
        public static final int simple_spinner_dropdown_item = 0x01090009;
    }
}
