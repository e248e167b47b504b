// Signature stub for compiling the DistilKit app with javac only: Android API 35 (compileSdk 35), from the published reference https://developer.android.com/reference/android/view/ViewGroup
// Declares only what the app uses; bodies are not the platform's. Not shipped.
package android.view;

import android.content.Context;

public abstract class ViewGroup extends View {
    public ViewGroup(Context context) { super(context); }
    public void addView(View child) { throw new RuntimeException("Stub!"); }
}
