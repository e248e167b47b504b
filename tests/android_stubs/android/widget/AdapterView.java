// Signature stub for compiling the DistilKit app with javac only: Android API 35 (compileSdk 35), from the published reference https://developer.android.com/reference/android/widget/AdapterView
// Declares only what the app uses; bodies are not the platform's. Not shipped.
package android.widget;

import android.content.Context;
import android.view.View;
import android.view.ViewGroup;

public abstract class AdapterView<T extends Adapter> extends ViewGroup {
    public AdapterView(Context context) { super(context); }
    public void setOnItemSelectedListener(OnItemSelectedListener listener) { throw new RuntimeException("Stub!"); }
    public Object getSelectedItem() { throw new RuntimeException("Stub!"); }
    public int getSelectedItemPosition() { throw new RuntimeException("Stub!"); }

    public interface OnItemSelectedListener {
        void onItemSelected(AdapterView<?> parent, View view, int position, long id);
        void onNothingSelected(AdapterView<?> parent);
    }
}
