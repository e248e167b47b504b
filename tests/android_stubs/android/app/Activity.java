// Signature stub for compiling the DistilKit app with javac only: Android API 35 (compileSdk 35), from the published reference https://developer.android.com/reference/android/app/Activity
// Declares only what the app uses; bodies are not the platform's. Not shipped.
package android.app;

import android.content.Context;
import android.content.Intent;
import android.os.Bundle;
import android.view.View;
import android.view.Window;

// Hierarchy shortened (ContextThemeWrapper, ContextWrapper left out): the app names neither.
public class Activity extends Context {
    protected void onCreate(Bundle savedInstanceState) { throw new RuntimeException("Stub!"); }
    protected void onDestroy() { throw new RuntimeException("Stub!"); }
    public Intent getIntent() { throw new RuntimeException("Stub!"); }
    public void setContentView(View view) { throw new RuntimeException("Stub!"); }
    public Window getWindow() { throw new RuntimeException("Stub!"); }
    @Override public android.content.res.AssetManager getAssets() { throw new RuntimeException("Stub!"); }
    @Override public java.io.File getFilesDir() { throw new RuntimeException("Stub!"); }
    @Override public Context getApplicationContext() { throw new RuntimeException("Stub!"); }
}
