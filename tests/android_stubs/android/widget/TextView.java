// Signature stub for compiling the DistilKit app with javac only: Android API 35 (compileSdk 35), from the published reference https://developer.android.com/reference/android/widget/TextView
// Declares only what the app uses; bodies are not the platform's. Not shipped.
package android.widget;

import android.content.Context;
import android.view.View;

public class TextView extends View {
    public TextView(Context context) { super(context); }
    public final void setText(CharSequence text) { throw new RuntimeException("Stub!"); }
    public final void setText(int resid) { throw new RuntimeException("Stub!"); }
    public final void setHint(int resid) { throw new RuntimeException("Stub!"); }
    public void setMinLines(int minLines) { throw new RuntimeException("Stub!"); }
    public void setTextSize(float size) { throw new RuntimeException("Stub!"); }
    public CharSequence getText() { throw new RuntimeException("Stub!"); }
}
