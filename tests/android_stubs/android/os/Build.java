// Signature stub for compiling the DistilKit app with javac only: Android API 35 (compileSdk 35), from the published reference https://developer.android.com/reference/android/os/Build
// Declares only what the app uses; bodies are not the platform's. Not shipped.
package android.os;

// Not compile-time constants on the platform (read at run time): initialised through a call here too.
public class Build {
    public static final String MANUFACTURER = String.valueOf((Object) null);
    public static final String MODEL = String.valueOf((Object) null);
    public static final String HARDWARE = String.valueOf((Object) null);
    /** Added in API 31. */
    public static final String SOC_MANUFACTURER = String.valueOf((Object) null);
    /** Added in API 31. */
    public static final String SOC_MODEL = String.valueOf((Object) null);
    public static final String[] SUPPORTED_ABIS = new String[0];

    public static class VERSION {
        public static final String RELEASE = String.valueOf((Object) null);
        public static final int SDK_INT = Integer.valueOf(0);
    }
}
