// Signature stub for compiling the DistilKit app with javac only: Android API 35 (compileSdk 35), from the published reference https://developer.android.com/reference/android/view/WindowInsets
// Declares only what the app uses; bodies are not the platform's. Not shipped.
package android.view;

import android.graphics.Insets;

public final class WindowInsets {
    /** Added in API 30. */
    public static final WindowInsets CONSUMED = null;

    private WindowInsets() { throw new RuntimeException("Stub!"); }

    /** Added in API 30. */
    public Insets getInsets(int typeMask) { throw new RuntimeException("Stub!"); }

    /** Added in API 30. */
    public static final class Type {
        private Type() { throw new RuntimeException("Stub!"); }
        public static int systemBars() { throw new RuntimeException("Stub!"); }
        public static int displayCutout() { throw new RuntimeException("Stub!"); }
        public static int ime() { throw new RuntimeException("Stub!"); }
    }
}
