package org.distilkit.qa.app;

import android.content.Context;
import android.content.Intent;
import android.os.Build;
import android.util.Log;
import java.io.File;
import java.util.Arrays;
import java.util.List;
import org.distilkit.qa.BenchmarkResults;
import org.distilkit.qa.BenchmarkRunner;
import org.distilkit.qa.BenchmarkSession;
import org.distilkit.qa.ModelSpec;
import org.distilkit.qa.QuestionSet;

/**
 * Started by intent extras (pipeline/devices/device_android.py sends them):
 *   adb shell am start -n org.distilkit.qa.app/.MainActivity --es mode benchmark --es run_id ID
 *       [--ei warmup 5] [--ei iters 20] [--es preset demo] [--es teacher embedded] [--es corpus embedded]
 * Times every staged model on every runtime that can open it, answers the staged question set with each (EM / F1
 * in the results' accuracy block) and writes files/distilkit/bench-ID.json, or bench-ID.error.txt when nothing
 * could be run or the run failed.
 */
final class BenchmarkMode {
    static final String TAG = "DistilKitBench";
    static final String QUESTION = "Where does the river flow?";
    static final String PASSAGE = "The river rises in the mountains and flows past the old town to the sea. ";

    private BenchmarkMode() {}

    static boolean requested(Intent intent) {
        return intent != null && "benchmark".equals(intent.getStringExtra("mode"));
    }

    static String runId(Intent intent) { return orDefault(intent.getStringExtra("run_id"), "latest"); }

    /** Runs on a worker thread; returns the file written (results or error). */
    static File run(Context ctx, Intent intent) {
        String runId = runId(intent);
        File dir = new File(ctx.getFilesDir(), "distilkit");
        BenchmarkSession.Log log = new BenchmarkSession.Log() {
            @Override public void info(String message) { Log.i(TAG, message); }

            @Override public void error(String message, Throwable t) { Log.e(TAG, message, t); }
        };
        // A Throwable on another thread (a runtime's own, or the UI thread) would end the process
        // with neither file: leave the error file first, then let the default handler crash as usual.
        Thread.UncaughtExceptionHandler previous = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler((thread, t) -> {
            BenchmarkSession.writeError(dir, runId, t, log);
            if (previous != null) previous.uncaughtException(thread, t);
        });
        try {
            BenchmarkSession.Setup setup = new BenchmarkSession.Setup() {
                @Override public List<ModelSpec> models(List<String> problems) { return ModelStore.load(ctx, problems); }

                @Override public BenchmarkResults results() {
                    return new BenchmarkResults(Build.MANUFACTURER + " " + Build.MODEL,
                            "Android " + Build.VERSION.RELEASE + " (API " + Build.VERSION.SDK_INT + ")", soc(),
                            Backends.THREADS, orDefault(intent.getStringExtra("preset"), "unknown"),
                            orDefault(intent.getStringExtra("teacher"), "unknown"),
                            orDefault(intent.getStringExtra("corpus"), "unknown"));
                }

                @Override public QuestionSet questions() { return ModelStore.questions(ctx); }
            };
            BenchmarkRunner runner = new BenchmarkRunner(intent.getIntExtra("warmup", 5), intent.getIntExtra("iters", 20),
                    System::nanoTime);
            StringBuilder passage = new StringBuilder();
            for (int i = 0; i < 40; i++) passage.append(PASSAGE);  // fills a whole 384-token window
            return BenchmarkSession.run(dir, runId, setup, Arrays.asList(Backends.values()), runner, QUESTION,
                    passage.toString(), log);
        } catch (Throwable t) {  // BenchmarkRunner's argument checks run before the session catches
            return BenchmarkSession.writeError(dir, runId, t, log);
        } finally {
            Thread.setDefaultUncaughtExceptionHandler(previous);
        }
    }

    private static String soc() {
        if (Build.VERSION.SDK_INT >= 31) return Build.SOC_MANUFACTURER + " " + Build.SOC_MODEL;
        return Build.HARDWARE;
    }

    private static String orDefault(String s, String d) { return s == null || s.isEmpty() ? d : s; }
}
