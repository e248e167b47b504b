// Signature stub for compiling the DistilKit app with javac only: Android API 35 (compileSdk 35), from the published reference https://developer.android.com/reference/android/widget/Spinner
// Declares only what the app uses; bodies are not the platform's. Not shipped.
package android.widget;

import android.content.Context;

// Hierarchy shortened: setAdapter is AbsSpinner's, which the app never names.
public class Spinner extends AdapterView<SpinnerAdapter> {
    public Spinner(Context context) { super(context); }
    public void setAdapter(SpinnerAdapter adapter) { throw new RuntimeException("Stub!"); }
}
