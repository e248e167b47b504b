package org.distilkit.qa;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** Every way the benchmark can fail ends in exactly one file the driver reads. */
public class BenchmarkSessionTest {
    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    static final BenchmarkSession.Log QUIET = new BenchmarkSession.Log() {
        @Override public void info(String message) {}
        @Override public void error(String message, Throwable t) {}
    };

    interface Opener { QaModel open(ModelSpec spec) throws Exception; }

    static BenchmarkSession.Backend backend(String label, Opener opener) {
        return new BenchmarkSession.Backend() {
            @Override public String label() { return label; }
            @Override public List<ModelSpec> usable(List<ModelSpec> all) { return all; }
            @Override public QaModel open(ModelSpec spec) throws Exception { return opener.open(spec); }
        };
    }

    ModelSpec spec() throws Exception {
        File dir = tmp.newFolder();
        Files.copy(new File(Fixtures.dir(), "vocab.txt").toPath(), new File(dir, "student.vocab.txt").toPath());
        Files.write(new File(dir, "student.tflite.fp32.384.tflite").toPath(), new byte[16]);
        File sidecar = new File(dir, "student.tflite.fp32.384.tflite.json");
        Files.copy(new File(Fixtures.dir(), "sidecar_example.json").toPath(), sidecar.toPath());
        return ModelSpec.load(sidecar);
    }

    BenchmarkSession.Setup setup(List<ModelSpec> specs) {
        return new BenchmarkSession.Setup() {
            @Override public List<ModelSpec> models(List<String> problems) { return specs; }
            @Override public BenchmarkResults results() {
                return new BenchmarkResults("Pixel 8", "Android 15", "Tensor G3", 4, "demo", "embedded", "embedded");
            }
        };
    }

    File run(BenchmarkSession.Setup setup, BenchmarkSession.Backend... backends) {
        return BenchmarkSession.run(new File(tmp.getRoot(), "distilkit"), "r1", setup, Arrays.asList(backends),
                new BenchmarkRunner(1, 2, System::nanoTime, () -> null), "Where?", "The river flows to the sea.", QUIET);
    }

    static String text(File f) throws Exception {
        return new String(Files.readAllBytes(f.toPath()), StandardCharsets.UTF_8);
    }

    @Test
    public void aMissingNativeLibraryOnOneRuntimeIsAFailureEntryNotACrash() throws Exception {
        ModelSpec spec = spec();
        File out = run(setup(Collections.singletonList(spec)),
                backend("LiteRT", s -> new QaEngineTest.PointerModel(5)),
                backend("ExecuTorch", s -> { throw new UnsatisfiedLinkError("dlopen failed: libexecutorch.so not found"); }));
        assertEquals("bench-r1.json", out.getName());
        @SuppressWarnings("unchecked") Map<String, Object> json = (Map<String, Object>) Json.parse(text(out));
        assertEquals(1, ((List<?>) json.get("entries")).size());
        String failure = (String) ((List<?>) json.get("failures")).get(0);
        assertTrue(failure, failure.contains("on ExecuTorch: UnsatisfiedLinkError: dlopen failed"));
        assertFalse(BenchmarkSession.errorFile(out.getParentFile(), "r1").exists());
    }

    @Test
    @SuppressWarnings("unchecked")
    public void eachEntryRecordsWhatItsRuntimeWasGiven() throws Exception {
        BenchmarkSession.Backend cpu = new BenchmarkSession.Backend() {
            @Override public String label() { return "LiteRT"; }
            @Override public List<ModelSpec> usable(List<ModelSpec> all) { return all; }
            @Override public QaModel open(ModelSpec spec) { return new QaEngineTest.PointerModel(5); }
            @Override public Map<String, Object> settings() {
                Map<String, Object> s = new java.util.LinkedHashMap<>();
                s.put("threads", 3);
                s.put("accelerator", "cpu");
                return s;
            }
        };
        File out = run(setup(Collections.singletonList(spec())), cpu, backend("Other", s -> new QaEngineTest.PointerModel(5)));
        List<Map<String, Object>> entries = (List<Map<String, Object>>) ((Map<String, Object>) Json.parse(text(out))).get("entries");
        Map<String, Object> settings = (Map<String, Object>) entries.get(0).get("settings");
        assertEquals(3, ((Number) settings.get("threads")).intValue());
        assertEquals("cpu", settings.get("accelerator"));
        assertFalse("no settings, no key", entries.get(1).containsKey("settings"));
    }

    @Test
    public void errorsEverywhereEndInTheErrorFile() throws Exception {
        ModelSpec spec = spec();
        List<Throwable> thrown = Arrays.asList(new UnsatisfiedLinkError("no libexecutorch.so for armeabi-v7a"),
                new ExceptionInInitializerError(new IllegalStateException("static init failed")),
                new OutOfMemoryError("teacher does not fit"), new StackOverflowError(), new RuntimeException("boom"));
        for (Throwable t : thrown) {
            File out = run(setup(Collections.singletonList(spec)), backend("ExecuTorch", s -> { throw sneaky(t); }));
            assertEquals(t.toString(), "bench-r1.error.txt", out.getName());
            String msg = text(out);
            assertTrue(msg, msg.endsWith("\n") && !msg.trim().isEmpty());
            assertFalse(BenchmarkSession.resultsFile(out.getParentFile(), "r1").exists());
        }
        File nested = run(setup(Collections.singletonList(spec)),
                backend("X", s -> { throw new ExceptionInInitializerError(new IllegalStateException("static init failed")); }));
        assertTrue(text(nested), text(nested).contains("IllegalStateException: static init failed"));
    }

    @Test
    public void aFailingSetupOrModelFolderIsReported() throws Exception {
        BenchmarkSession.Setup broken = new BenchmarkSession.Setup() {
            @Override public List<ModelSpec> models(List<String> problems) { throw new NoClassDefFoundError("android/os/Build"); }
            @Override public BenchmarkResults results() { return null; }
        };
        File out = run(broken, backend("LiteRT", s -> new QaEngineTest.PointerModel(5)));
        assertEquals("NoClassDefFoundError: android/os/Build\n", text(out));
        File none = run(setup(new ArrayList<>()), backend("LiteRT", s -> new QaEngineTest.PointerModel(5)));
        assertTrue(text(none), text(none).startsWith("no benchmark entries"));
    }

    @Test
    public void aStaleFileFromAnEarlierRunWithTheSameIdIsRemovedFirst() throws Exception {
        File dir = new File(tmp.getRoot(), "distilkit");
        dir.mkdirs();
        Files.write(BenchmarkSession.errorFile(dir, "r1").toPath(), "old failure\n".getBytes(StandardCharsets.UTF_8));
        File out = run(setup(Collections.singletonList(spec())), backend("LiteRT", s -> new QaEngineTest.PointerModel(5)));
        assertEquals("bench-r1.json", out.getName());
        assertFalse(BenchmarkSession.errorFile(dir, "r1").exists());
    }

    @Test
    public void aRunIdIsClaimedOncePerProcess() {
        assertTrue(BenchmarkSession.claim("claim-test"));
        assertFalse(BenchmarkSession.claim("claim-test"));
        assertTrue(BenchmarkSession.claim("claim-test-2"));
    }

    @SuppressWarnings("unchecked")
    static <T extends Throwable> RuntimeException sneaky(Throwable t) throws T {
        throw (T) t;
    }
}
