// Signature stub for compiling the DistilKit app with javac only: Android API 35 (compileSdk 35), from the published reference https://developer.android.com/reference/android/content/Context
// Declares only what the app uses; bodies are not the platform's. Not shipped.
package android.content;

import android.content.res.AssetManager;
import java.io.File;

public abstract class Context {
    public abstract AssetManager getAssets();
    public abstract File getFilesDir();
    public abstract Context getApplicationContext();
    public final String getString(int resId) { throw new RuntimeException("Stub!"); }
}
