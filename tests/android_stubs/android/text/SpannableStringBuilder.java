// Signature stub for compiling the DistilKit app with javac only: Android API 35 (compileSdk 35), from the published reference https://developer.android.com/reference/android/text/SpannableStringBuilder
// Declares only what the app uses; bodies are not the platform's. Not shipped.
package android.text;

public class SpannableStringBuilder implements CharSequence {
    public SpannableStringBuilder(CharSequence text) { throw new RuntimeException("Stub!"); }
    public void setSpan(Object what, int start, int end, int flags) { throw new RuntimeException("Stub!"); }
    @Override public int length() { throw new RuntimeException("Stub!"); }
    @Override public char charAt(int index) { throw new RuntimeException("Stub!"); }
    @Override public CharSequence subSequence(int start, int end) { throw new RuntimeException("Stub!"); }
}
