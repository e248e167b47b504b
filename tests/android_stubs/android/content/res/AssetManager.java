// Signature stub for compiling the DistilKit app with javac only: Android API 35 (compileSdk 35), from the published reference https://developer.android.com/reference/android/content/res/AssetManager
// Declares only what the app uses; bodies are not the platform's. Not shipped.
package android.content.res;

import java.io.IOException;
import java.io.InputStream;

public final class AssetManager implements AutoCloseable {
    public String[] list(String path) throws IOException { throw new RuntimeException("Stub!"); }
    public InputStream open(String fileName) throws IOException { throw new RuntimeException("Stub!"); }
    @Override public void close() { throw new RuntimeException("Stub!"); }
}
