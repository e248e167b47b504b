// Signature stub for compiling the DistilKit app with javac only: Android API 35 (compileSdk 35), from the published reference https://developer.android.com/reference/android/widget/EditText
// Declares only what the app uses; bodies are not the platform's. Not shipped.
package android.widget;

import android.content.Context;
import android.text.Editable;

public class EditText extends TextView {
    public EditText(Context context) { super(context); }
    @Override public android.text.Editable getText() { throw new RuntimeException("Stub!"); }
}
