package org.distilkit.qa.app;

import android.content.Context;
import android.content.Intent;
import android.os.Build;
import android.util.Log;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.distilkit.qa.BenchmarkResults;
import org.distilkit.qa.BenchmarkRunner;
import org.distilkit.qa.ModelSpec;

/**
 * Started by intent extras (pipeline/device_android.py sends them):
 *   adb shell am start -n org.distilkit.qa.app/.MainActivity --es mode benchmark --es run_id ID
 *       [--ei warmup 5] [--ei iters 20] [--es preset demo] [--es teacher embedded] [--es corpus embedded]
 * Times every staged model on every runtime that can open it and writes
 * files/distilkit/bench-ID.json (or bench-ID.error.txt when nothing could be run).
 */
final class BenchmarkMode {
    static final String TAG = "DistilKitBench";
    static final String QUESTION = "Where does the river flow?";
    static final String PASSAGE = "The river rises in the mountains and flows past the old town to the sea. ";

    private BenchmarkMode() {}

    static boolean requested(Intent intent) {
        return intent != null && "benchmark".equals(intent.getStringExtra("mode"));
    }

    static void run(Context ctx, Intent intent) {
        String runId = orDefault(intent.getStringExtra("run_id"), "latest");
        File dir = new File(ctx.getFilesDir(), "distilkit");
        dir.mkdirs();
        try {
            List<String> problems = new ArrayList<>();
            List<ModelSpec> specs = ModelStore.load(ctx, problems);
            BenchmarkResults results = new BenchmarkResults(Build.MANUFACTURER + " " + Build.MODEL,
                    "Android " + Build.VERSION.RELEASE + " (API " + Build.VERSION.SDK_INT + ")", soc(), Backends.THREADS,
                    orDefault(intent.getStringExtra("preset"), "unknown"), orDefault(intent.getStringExtra("teacher"), "unknown"),
                    orDefault(intent.getStringExtra("corpus"), "unknown"));
            BenchmarkRunner runner = new BenchmarkRunner(intent.getIntExtra("warmup", 5), intent.getIntExtra("iters", 20),
                    System::nanoTime);
            StringBuilder passage = new StringBuilder();
            for (int i = 0; i < 40; i++) passage.append(PASSAGE);  // fills a whole 384-token window
            for (Backends b : Backends.values()) {
                for (ModelSpec spec : b.usable(specs)) {
                    Log.i(TAG, "timing " + spec.file.getName() + " on " + b.label);
                    try {
                        runner.run(spec, b::open, QUESTION, passage.toString(), results);
                    } catch (RuntimeException e) {
                        problems.add(spec.file.getName() + " on " + b.label + ": " + e.getMessage());
                    }
                }
            }
            for (String p : problems) {
                Log.w(TAG, p);
                results.fail(p);
            }
            write(new File(dir, "bench-" + runId + ".json"), results.toJsonString());
        } catch (RuntimeException e) {
            Log.e(TAG, "benchmark failed", e);
            write(new File(dir, "bench-" + runId + ".error.txt"), String.valueOf(e.getMessage()) + "\n");
        }
    }

    private static String soc() {
        if (Build.VERSION.SDK_INT >= 31) return Build.SOC_MANUFACTURER + " " + Build.SOC_MODEL;
        return Build.HARDWARE;
    }

    private static String orDefault(String s, String d) { return s == null || s.isEmpty() ? d : s; }

    /** Written whole, then renamed: the driver never reads a half-written file. */
    private static void write(File f, String text) {
        File tmp = new File(f.getPath() + ".part");
        try (FileOutputStream out = new FileOutputStream(tmp)) {
            out.write(text.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            Log.e(TAG, "cannot write " + f, e);
            return;
        }
        if (!tmp.renameTo(f)) Log.e(TAG, "cannot rename " + tmp + " to " + f);
    }
}
