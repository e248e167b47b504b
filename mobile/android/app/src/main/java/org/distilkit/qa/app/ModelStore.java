package org.distilkit.qa.app;

import android.content.Context;
import android.content.res.AssetManager;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import org.distilkit.qa.ModelCopier;
import org.distilkit.qa.ModelSpec;
import org.distilkit.qa.QuestionSet;

/** The staged models: copied out of the APK's assets (the runtimes need real files), then their sidecars read. */
final class ModelStore {
    private ModelStore() {}

    static List<ModelSpec> load(Context ctx, List<String> problems) {
        AssetManager assets = ctx.getAssets();
        ModelCopier.Source source = new ModelCopier.Source() {
            @Override public String[] list() throws IOException { return assets.list("models"); }

            @Override public InputStream open(String name) throws IOException { return assets.open("models/" + name); }
        };
        return ModelCopier.sync(source, folder(ctx), problems);
    }

    /** The question set staged beside the models (copied out by load), or null when none was staged. */
    static QuestionSet questions(Context ctx) { return QuestionSet.find(folder(ctx)); }

    private static File folder(Context ctx) { return new File(ctx.getFilesDir(), "models"); }
}
