// Runs the app's ExecuTorch path (Backends, ExecuTorchQaModel, BenchmarkSession) on the ExecuTorch
// test doubles: prints "ok" or the first failed check. Driven by tests/test_mobile_android_build.py.
package org.distilkit.qa.app;

import java.io.File;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.distilkit.qa.BenchmarkResults;
import org.distilkit.qa.BenchmarkRunner;
import org.distilkit.qa.BenchmarkSession;
import org.distilkit.qa.ModelSpec;
import org.distilkit.qa.QaException;
import org.pytorch.executorch.Module;

public final class AppCheck {
    static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
    }

    public static void main(String[] args) throws Exception {
        ModelSpec spec = ModelSpec.load(new File(args[0]));
        BenchmarkSession.Log quiet = new BenchmarkSession.Log() {
            @Override public void info(String m) {}
            @Override public void error(String m, Throwable t) {}
        };
        BenchmarkSession.Setup setup = new BenchmarkSession.Setup() {
            @Override public List<ModelSpec> models(List<String> problems) { return Collections.singletonList(spec); }
            @Override public BenchmarkResults results() {
                return new BenchmarkResults("Phone", "Android", "SoC", Backends.THREADS, "demo", "embedded", "embedded");
            }
        };
        File dir = Files.createTempDirectory("appcheck").toFile();
        BenchmarkRunner runner = new BenchmarkRunner(1, 2, System::nanoTime, () -> null);

        File out = BenchmarkSession.run(dir, "ok", setup, Arrays.asList(Backends.values()), runner, "Where?",
                "The river flows to the sea.", quiet);
        check(out.getName().equals("bench-ok.json"), "a results file: " + out.getName());
        String load = "load " + Module.LOAD_MODE_MMAP + " " + Backends.THREADS;
        check(Module.calls.size() >= 3 && Module.calls.get(0).equals(load), "explicit threads, mmap: " + Module.calls);
        check(Module.calls.get(1).equals("loadMethod forward"), "forward loaded inside load_ms: " + Module.calls);
        check(Module.calls.get(Module.calls.size() - 1).equals("destroy"), "closed: " + Module.calls);
        String json = new String(Files.readAllBytes(out.toPath()), "UTF-8");
        check(json.contains("\"threads\": " + Backends.THREADS) || json.contains("\"threads\":" + Backends.THREADS),
                "the threads given are the threads recorded: " + json);
        check(json.contains("\"settings\"") && json.contains("\"accelerator\""), "the entry records its settings: " + json);

        Module.noNativeLibrary = true;
        try {
            Backends.EXECUTORCH.open(spec);
            check(false, "open must fail without the native library");
        } catch (QaException e) {
            check(e.getMessage().contains("native library") && e.getMessage().contains("UnsatisfiedLinkError"),
                    "the message says what is missing: " + e.getMessage());
        }
        File err = BenchmarkSession.run(dir, "broken", setup, Arrays.asList(Backends.values()), runner, "Where?",
                "The river flows to the sea.", quiet);
        check(err.getName().equals("bench-broken.error.txt"), "an error file: " + err.getName());
        String msg = new String(Files.readAllBytes(err.toPath()), "UTF-8");
        check(msg.contains("UnsatisfiedLinkError"), "the error file names the cause: " + msg);
        System.out.println("ok");
    }
}
