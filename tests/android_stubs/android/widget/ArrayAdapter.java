// Signature stub for compiling the DistilKit app with javac only: Android API 35 (compileSdk 35), from the published reference https://developer.android.com/reference/android/widget/ArrayAdapter
// Declares only what the app uses; bodies are not the platform's. Not shipped.
package android.widget;

import android.content.Context;
import java.util.List;

// Hierarchy shortened (BaseAdapter left out): the app names it nowhere.
public class ArrayAdapter<T> implements SpinnerAdapter {
    public ArrayAdapter(Context context, int resource, T[] objects) { throw new RuntimeException("Stub!"); }
    public ArrayAdapter(Context context, int resource, List<T> objects) { throw new RuntimeException("Stub!"); }
}
