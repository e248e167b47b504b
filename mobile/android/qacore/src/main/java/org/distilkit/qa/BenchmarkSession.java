package org.distilkit.qa;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One benchmark run of the app: every staged model on every runtime that can open it, timed, then the staged
 * question set answered by every model group (AccuracyRunner), ending in exactly one file that
 * pipeline/devices/device_android.py reads: bench-ID.json, or bench-ID.error.txt when nothing could be timed
 * or anything went wrong. Throwables are caught, not only exceptions: a runtime whose native library is missing
 * for the phone's ABI throws UnsatisfiedLinkError, and an uncaught Error on the worker thread would kill the app
 * without either file.
 */
public final class BenchmarkSession {
    /** A runtime (LiteRT, ExecuTorch, or a fake in tests). */
    public interface Backend {
        String label();

        List<ModelSpec> usable(List<ModelSpec> all);

        QaModel open(ModelSpec spec) throws Exception;

        /** What this runtime is given (threads, accelerator), recorded with every entry it times. */
        default Map<String, Object> settings() { return Collections.emptyMap(); }
    }

    /** What depends on the platform: the staged models and the device description. */
    public interface Setup {
        /** The staged models; problems with individual files go to problems. */
        List<ModelSpec> models(List<String> problems) throws Exception;

        BenchmarkResults results() throws Exception;

        /** The staged question set to answer after the timing, or null when none was staged. */
        default QuestionSet questions() throws Exception { return null; }
    }

    public interface Log {
        void info(String message);

        void error(String message, Throwable t);
    }

    private static final Set<String> claimed = new HashSet<>();

    private BenchmarkSession() {}

    /**
     * True only the first time a run id is claimed in this process: an activity that Android
     * re-creates (rotation, dark mode, a resized window) receives the same intent again and must
     * not start a second benchmark beside the first.
     */
    public static synchronized boolean claim(String runId) {
        return claimed.add(runId);
    }

    public static File resultsFile(File dir, String runId) { return new File(dir, "bench-" + runId + ".json"); }

    public static File errorFile(File dir, String runId) { return new File(dir, "bench-" + runId + ".error.txt"); }

    /** Runs the benchmark; returns the file written (results or error), never throws. */
    public static File run(File dir, String runId, Setup setup, List<? extends Backend> backends,
                           BenchmarkRunner runner, String question, String passage, Log log) {
        try {
            if (!dir.isDirectory() && !dir.mkdirs()) throw new IOException("cannot create " + dir);
            // A file left by an earlier run with the same id must not be taken for this run's.
            Files.deleteIfExists(resultsFile(dir, runId).toPath());
            Files.deleteIfExists(errorFile(dir, runId).toPath());
            List<String> problems = new ArrayList<>();
            List<ModelSpec> specs = setup.models(problems);
            BenchmarkResults results = setup.results();
            for (Backend b : backends) {
                for (ModelSpec spec : b.usable(specs)) {
                    log.info("timing " + spec.file.getName() + " on " + b.label());
                    try {
                        runner.run(spec, b::open, question, passage, results, b.settings());
                    } catch (Throwable t) {
                        rethrowIfFatal(t);
                        log.error(spec.file.getName() + " on " + b.label() + " failed", t);
                        problems.add(spec.file.getName() + " on " + b.label() + ": " + describe(t));
                    }
                }
            }
            answer(setup, backends, specs, results, problems, log);
            for (String p : problems) results.fail(p);
            File out = resultsFile(dir, runId);
            write(out, results.toJsonString());  // no entries at all: QaException listing the failures
            return out;
        } catch (Throwable t) {
            log.error("benchmark failed", t);
            return writeError(dir, runId, t, log);
        }
    }

    /** Answers the staged question set with every model group on every runtime; a failure is one problem line. */
    private static void answer(Setup setup, List<? extends Backend> backends, List<ModelSpec> specs,
                               BenchmarkResults results, List<String> problems, Log log) {
        QuestionSet set;
        try {
            set = setup.questions();
        } catch (Throwable t) {
            rethrowIfFatal(t);
            problems.add("accuracy not measured: " + describe(t));
            return;
        }
        if (set == null) return;
        results.questionSet(set.name, set.questions.size());
        AccuracyRunner runner = new AccuracyRunner();
        for (Backend b : backends) {
            for (WindowChoice.Group g : WindowChoice.group(b.usable(specs))) {
                log.info("answering " + set.questions.size() + " " + set.name + " questions with " + g.label() + " on " + b.label());
                try {
                    runner.run(g, b::open, set, results);
                } catch (Throwable t) {
                    rethrowIfFatal(t);
                    log.error("accuracy of " + g.label() + " on " + b.label() + " failed", t);
                    problems.add("accuracy of " + g.label() + " on " + b.label() + ": " + describe(t));
                }
            }
        }
    }

    /** Writes bench-ID.error.txt for t (also from an uncaught-exception handler); returns the file. */
    public static File writeError(File dir, String runId, Throwable t, Log log) {
        File err = errorFile(dir, runId);
        try {
            if (!dir.isDirectory() && !dir.mkdirs()) throw new IOException("cannot create " + dir);
            write(err, describe(t) + "\n");
        } catch (Throwable e) {
            log.error("cannot write " + err, e);
        }
        return err;
    }

    /** One line for the driver: the message of a QaException, otherwise the class and the message. */
    public static String describe(Throwable t) {
        Throwable cause = t;
        // ExceptionInInitializerError and friends wrap the informative cause.
        while (cause.getMessage() == null && cause.getCause() != null && cause.getCause() != cause) cause = cause.getCause();
        String msg = cause.getMessage() == null ? "" : cause.getMessage().trim();
        String first = msg.isEmpty() ? "" : msg.split("\n", 2)[0];
        if (cause instanceof QaException && !first.isEmpty()) return first;
        String name = cause.getClass().getSimpleName();
        return first.isEmpty() ? name : name + ": " + first;
    }

    /** The VM cannot go on after these (OutOfMemoryError excepted: the next, smaller model may fit). */
    private static void rethrowIfFatal(Throwable t) {
        if (t instanceof VirtualMachineError && !(t instanceof OutOfMemoryError)) {
            throw (VirtualMachineError) t;
        }
    }

    /** Written whole, then renamed: the driver never reads a half-written file. */
    private static void write(File f, String text) throws IOException {
        File tmp = new File(f.getPath() + ".part");
        try (OutputStream out = Files.newOutputStream(tmp.toPath())) {
            out.write(text.getBytes(StandardCharsets.UTF_8));
        }
        Files.move(tmp.toPath(), f.toPath(), StandardCopyOption.REPLACE_EXISTING);
    }
}
