package org.distilkit.qa.app;

import android.content.Context;
import android.content.res.AssetManager;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;
import org.distilkit.qa.ModelSpec;

/** Copies the staged models out of the APK's assets (runtimes need real files) and reads their sidecars. */
final class ModelStore {
    private ModelStore() {}

    static List<ModelSpec> load(Context ctx, List<String> problems) {
        File dir = new File(ctx.getFilesDir(), "models");
        try {
            copyTree(ctx.getAssets(), "models", dir);
        } catch (IOException e) {
            problems.add("cannot copy the bundled models: " + e.getMessage());
        }
        return ModelSpec.scan(dir, problems);
    }

    private static void copyTree(AssetManager assets, String path, File to) throws IOException {
        String[] kids = assets.list(path);
        if (kids == null || kids.length == 0) {  // a file (asset folders always list children)
            try (InputStream in = assets.open(path)) {
                File tmp = new File(to.getPath() + ".part");
                try (OutputStream out = new FileOutputStream(tmp)) {
                    byte[] buf = new byte[1 << 16];
                    for (int n; (n = in.read(buf)) > 0; ) out.write(buf, 0, n);
                }
                if (!tmp.renameTo(to)) throw new IOException("cannot write " + to);
            }
            return;
        }
        if (!to.isDirectory() && !to.mkdirs()) throw new IOException("cannot create " + to);
        // Models staged by an earlier install but gone from this APK must not stay pickable.
        java.util.List<String> wanted = java.util.Arrays.asList(kids);
        File[] old = to.listFiles();
        if (old != null) for (File f : old) if (!wanted.contains(f.getName())) delete(f);
        for (String k : kids) {
            if (k.equals("README.md")) continue;
            File target = new File(to, k);
            String child = path + "/" + k;
            // Copy once: a model file already there with the same size is the same staged file.
            if (target.isFile() && sameSize(assets, child, target)) continue;
            copyTree(assets, child, target);
        }
    }

    private static void delete(File f) {
        File[] kids = f.listFiles();
        if (kids != null) for (File k : kids) delete(k);
        f.delete();
    }

    private static boolean sameSize(AssetManager assets, String path, File f) {
        try {
            return assets.openFd(path).getLength() == f.length();
        } catch (IOException e) {  // compressed asset: no descriptor, copy again
            return false;
        }
    }
}
