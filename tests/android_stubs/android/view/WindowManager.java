// Signature stub for compiling the DistilKit app with javac only: Android API 35 (compileSdk 35), from the published reference https://developer.android.com/reference/android/view/WindowManager
// Declares only what the app uses; bodies are not the platform's. Not shipped.
package android.view;

public interface WindowManager {
    class LayoutParams {
        public static final int FLAG_KEEP_SCREEN_ON = 0x00000080;
    }
}
