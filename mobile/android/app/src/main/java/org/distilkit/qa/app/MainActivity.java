package org.distilkit.qa.app;

import android.app.Activity;
import android.content.Context;
import android.content.Intent;
import android.graphics.Color;
import android.graphics.Insets;
import android.os.Build;
import android.os.Bundle;
import android.os.Handler;
import android.os.Looper;
import android.text.SpannableStringBuilder;
import android.text.Spanned;
import android.text.style.BackgroundColorSpan;
import android.view.View;
import android.view.WindowInsets;
import android.view.WindowManager;
import android.widget.AdapterView;
import android.widget.ArrayAdapter;
import android.widget.Button;
import android.widget.EditText;
import android.widget.LinearLayout;
import android.widget.ScrollView;
import android.widget.Spinner;
import android.widget.TextView;
import java.io.File;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.distilkit.qa.BenchmarkSession;
import org.distilkit.qa.ModelSpec;
import org.distilkit.qa.QaEngine;
import org.distilkit.qa.QaModel;
import org.distilkit.qa.WindowChoice;
import org.distilkit.qa.WordPieceTokenizer;

/** Passage + question, backend and model pickers, the answer highlighted in the passage. */
public class MainActivity extends Activity {
    private final ExecutorService worker = Executors.newSingleThreadExecutor();
    private final Handler ui = new Handler(Looper.getMainLooper());
    private final List<String> problems = new ArrayList<>();
    private List<ModelSpec> specs = new ArrayList<>();
    private EditText passage, question;
    private Spinner backendPicker, modelPicker;
    private TextView answer, highlighted;
    private Button ask;

    /** The activity on screen: Android may re-create it while the benchmark's worker keeps running. */
    private static volatile WeakReference<MainActivity> current = new WeakReference<>(null);
    private static volatile boolean benchmarkRunning;

    @Override
    protected void onCreate(Bundle state) {
        super.onCreate(state);
        current = new WeakReference<>(this);
        buildScreen();
        if (BenchmarkMode.requested(getIntent())) {
            startBenchmark();
            return;
        }
        worker.execute(() -> {
            List<ModelSpec> found = ModelStore.load(this, problems);
            ui.post(() -> {
                specs = found;
                refreshModels();
                if (found.isEmpty()) answer.setText(getString(R.string.no_models));
                if (!problems.isEmpty()) answer.setText(String.join("\n", problems));
            });
        });
    }

    private void startBenchmark() {
        ask.setEnabled(false);
        String runId = BenchmarkMode.runId(getIntent());
        // A re-created activity gets the same intent again: one run per run id and process.
        boolean first = BenchmarkSession.claim(runId);
        if (first) benchmarkRunning = true;
        answer.setText(benchmarkRunning ? "Benchmark " + runId + " running…" : "Benchmark " + runId + " has finished.");
        if (benchmarkRunning) {
            // A long run must not stall when the screen would turn off.
            getWindow().addFlags(WindowManager.LayoutParams.FLAG_KEEP_SCREEN_ON);
        }
        if (!first) return;
        Intent intent = getIntent();
        Context app = getApplicationContext();
        worker.execute(() -> {
            File written = BenchmarkMode.run(app, intent);
            ui.post(() -> {
                benchmarkRunning = false;
                MainActivity shown = current.get();
                if (shown != null) shown.benchmarkFinished(written);
            });
        });
    }

    private void benchmarkFinished(File written) {
        getWindow().clearFlags(WindowManager.LayoutParams.FLAG_KEEP_SCREEN_ON);
        answer.setText("Benchmark finished: " + written.getName());
    }

    private void buildScreen() {
        LinearLayout col = new LinearLayout(this);
        col.setOrientation(LinearLayout.VERTICAL);
        col.setPadding(32, 32, 32, 32);
        passage = new EditText(this);
        passage.setHint(R.string.passage_hint);
        passage.setMinLines(6);
        question = new EditText(this);
        question.setHint(R.string.question_hint);
        backendPicker = new Spinner(this);
        backendPicker.setAdapter(new ArrayAdapter<>(this, android.R.layout.simple_spinner_dropdown_item, Backends.values()));
        backendPicker.setOnItemSelectedListener(new AdapterView.OnItemSelectedListener() {
            @Override public void onItemSelected(AdapterView<?> p, View v, int pos, long id) { refreshModels(); }
            @Override public void onNothingSelected(AdapterView<?> p) {}
        });
        modelPicker = new Spinner(this);
        ask = new Button(this);
        ask.setText(R.string.answer);
        ask.setOnClickListener(v -> ask());
        answer = new TextView(this);
        answer.setTextSize(18);
        highlighted = new TextView(this);
        for (View v : new View[]{passage, question, backendPicker, modelPicker, ask, answer, highlighted}) col.addView(v);
        ScrollView scroll = new ScrollView(this);
        scroll.addView(col);
        padForSystemBars(scroll);
        setContentView(scroll);
    }

    /**
     * targetSdk 35 draws the app edge to edge on Android 15 and later: without this padding the status bar,
     * the navigation bar, a display cutout and the keyboard (adjustResize no longer resizes) cover the screen.
     */
    private static void padForSystemBars(View root) {
        if (Build.VERSION.SDK_INT < 35) return;
        root.setOnApplyWindowInsetsListener((v, insets) -> {
            Insets bars = insets.getInsets(WindowInsets.Type.systemBars() | WindowInsets.Type.displayCutout()
                    | WindowInsets.Type.ime());
            v.setPadding(bars.left, bars.top, bars.right, bars.bottom);
            return WindowInsets.CONSUMED;
        });
    }

    private Backends backend() { return (Backends) backendPicker.getSelectedItem(); }

    /** One picker entry per model and precision; the window length is chosen per question. */
    private List<WindowChoice.Group> groups() { return WindowChoice.group(backend().usable(specs)); }

    private void refreshModels() {
        List<String> labels = new ArrayList<>();
        for (WindowChoice.Group g : groups()) labels.add(g.label());
        modelPicker.setAdapter(new ArrayAdapter<>(this, android.R.layout.simple_spinner_dropdown_item, labels));
        ask.setEnabled(!labels.isEmpty());
    }

    private void ask() {
        List<WindowChoice.Group> usable = groups();
        int pick = modelPicker.getSelectedItemPosition();
        if (pick < 0 || pick >= usable.size()) return;
        WindowChoice.Group group = usable.get(pick);
        Backends b = backend();
        String q = question.getText().toString(), p = passage.getText().toString();
        ask.setEnabled(false);
        answer.setText("…");
        worker.execute(() -> {
            String text;
            QaEngine.Answer a = null;
            try {
                WordPieceTokenizer tok = group.lengths.get(0).loadTokenizer();
                ModelSpec spec = group.choose(tok, q, p);
                try (QaModel model = b.open(spec)) {
                    a = new QaEngine(spec, tok).answer(model, q, p);
                }
                text = a.found() ? String.format(Locale.ROOT, "%s\nscore %.2f · %.1f ms · %d window(s) of %d tokens · %s",
                        a.text, a.score, a.latencyMs, a.windows, spec.seqLen, b.label) : a.message;
            } catch (Throwable e) {  // missing/mismatched model file, a native library that cannot load, no memory
                text = BenchmarkSession.describe(e);
            }
            final String shown = text;
            final QaEngine.Answer result = a;
            ui.post(() -> {
                answer.setText(shown);
                highlighted.setText(result != null && result.found() ? highlight(p, result) : "");
                ask.setEnabled(true);
            });
        });
    }

    /** Offsets are code points (as in Python); Android text wants UTF-16 indices. */
    private static CharSequence highlight(String passage, QaEngine.Answer a) {
        int from = passage.offsetByCodePoints(0, a.startChar);
        int to = passage.offsetByCodePoints(from, a.endChar - a.startChar);
        SpannableStringBuilder b = new SpannableStringBuilder(passage);
        b.setSpan(new BackgroundColorSpan(Color.rgb(255, 230, 120)), from, to, Spanned.SPAN_EXCLUSIVE_EXCLUSIVE);
        return b;
    }

    @Override
    protected void onDestroy() {
        worker.shutdown();
        super.onDestroy();
    }
}
