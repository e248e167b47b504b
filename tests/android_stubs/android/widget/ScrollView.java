// Signature stub for compiling the DistilKit app with javac only: Android API 35 (compileSdk 35), from the published reference https://developer.android.com/reference/android/widget/ScrollView
// Declares only what the app uses; bodies are not the platform's. Not shipped.
package android.widget;

import android.content.Context;
import android.view.ViewGroup;

// Hierarchy shortened (FrameLayout left out): the app names it nowhere.
public class ScrollView extends ViewGroup {
    public ScrollView(Context context) { super(context); }
}
