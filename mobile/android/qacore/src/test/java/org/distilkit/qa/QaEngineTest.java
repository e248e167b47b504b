package org.distilkit.qa;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** Behaviour the apps rely on: no crash on any input, clear messages for broken model folders. */
public class QaEngineTest {
    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    /** A fake model that puts the highest logits on the first occurrence of one token id. */
    static class PointerModel implements QaModel {
        final int target;
        int calls;

        PointerModel(int target) { this.target = target; }

        @Override public float[][] run(int[] ids, int[] mask, int[] types) {
            calls++;
            float[][] out = new float[2][ids.length];
            for (int i = 0; i < ids.length; i++) {
                out[0][i] = ids[i] == target ? 10f : -1f;
                out[1][i] = ids[i] == target ? 10f : -1f;
            }
            return out;
        }

        @Override public String runtime() { return "fake"; }
        @Override public String runtimeVersion() { return "0"; }
        @Override public void close() {}
    }

    File modelDir(boolean tokenTypes) throws Exception {
        File dir = tmp.newFolder();
        Files.copy(new File(Fixtures.dir(), "vocab.txt").toPath(), new File(dir, "student.vocab.txt").toPath());
        Files.write(new File(dir, "student.tflite.fp32.384.tflite").toPath(), new byte[16]);
        String json = new String(Files.readAllBytes(new File(Fixtures.dir(), "sidecar_example.json").toPath()),
                StandardCharsets.UTF_8);
        if (tokenTypes) {
            json = json.replace("\"uses_token_type_ids\": false", "\"uses_token_type_ids\": true")
                    .replace("{\n   \"name\": \"attention_mask\"", "{\"name\": \"token_type_ids\"}, {\n   \"name\": \"attention_mask\"");
        }
        Files.write(new File(dir, "student.tflite.fp32.384.tflite.json").toPath(), json.getBytes(StandardCharsets.UTF_8));
        return dir;
    }

    ModelSpec spec() throws Exception {
        return ModelSpec.load(new File(modelDir(false), "student.tflite.fp32.384.tflite.json"));
    }

    @Test
    public void emptyQuestionOrPassageGivesMessageWithoutRunningTheModel() throws Exception {
        QaEngine engine = new QaEngine(spec());
        PointerModel m = new PointerModel(0);
        for (String[] qc : new String[][]{{"", "a passage"}, {"  ", "a passage"}, {"why?", ""}, {"why?", " \n "}, {null, null}}) {
            QaEngine.Answer a = engine.answer(m, qc[0], qc[1]);
            assertFalse(a.found());
            assertFalse(a.message.isEmpty());
        }
        assertEquals(0, m.calls);
    }

    @Test
    public void longPassageIsWindowedAndTheAnswerCanComeFromTheLastWindow() throws Exception {
        ModelSpec spec = spec();
        WordPieceTokenizer tok = spec.loadTokenizer();
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 400; i++) b.append("the river flows past the old town. ");
        b.append("the treasure is hidden under lighthouse.");
        String passage = b.toString();
        assertTrue(tok.encode(passage).size() > 3 * 384);
        assertEquals(1, tok.encode("lighthouse").size());
        int lighthouse = tok.encode("lighthouse").ids.get(0);
        PointerModel m = new PointerModel(lighthouse);
        QaEngine.Answer a = new QaEngine(spec, tok).answer(m, "Where is the treasure?", passage);
        assertTrue(a.windows > 3);
        assertEquals(a.windows, m.calls);
        assertEquals("lighthouse", a.text);
        assertEquals(passage.indexOf("lighthouse"), a.startChar);
    }

    @Test
    public void nonLatinScriptsAndEmojiNeverCrashAndOffsetsAreCodePoints() throws Exception {
        ModelSpec spec = spec();
        WordPieceTokenizer tok = spec.loadTokenizer();
        String passage = "😀😀 東京は日本の首都です。 Москва — столица России. 🇫🇷 Paris";
        int target = tok.encode("paris").ids.get(0);
        QaEngine.Answer a = new QaEngine(spec, tok).answer(new PointerModel(target), "首都は?", passage);
        assertEquals("Paris", a.text);
        assertEquals(passage.codePointCount(0, passage.indexOf("Paris")), a.startChar);
        for (String q : new String[]{"東京", "Москва", "😀", "مرحبا", "\u0000\u200b"}) {
            assertFalse(new QaEngine(spec, tok).answer(new PointerModel(-1), q, passage).text == null);
        }
    }

    @Test
    public void tokenTypeIdsReachTheModelOnlyWhenTheSidecarAsksForThem() throws Exception {
        final List<Boolean> seen = new ArrayList<>();
        QaModel m = new PointerModel(0) {
            @Override public float[][] run(int[] ids, int[] mask, int[] types) {
                seen.add(types != null);
                return super.run(ids, mask, types);
            }
        };
        new QaEngine(spec()).answer(m, "q?", "p.");
        new QaEngine(ModelSpec.load(new File(modelDir(true), "student.tflite.fp32.384.tflite.json"))).answer(m, "q?", "p.");
        assertEquals(Arrays.asList(false, true), seen);
    }

    @Test
    public void brokenModelFoldersNameTheFile() throws Exception {
        File dir = modelDir(false);
        File sidecar = new File(dir, "student.tflite.fp32.384.tflite.json");
        new File(dir, "student.tflite.fp32.384.tflite").delete();
        expectMessage(sidecar, "student.tflite.fp32.384.tflite is missing");

        dir = modelDir(false);
        sidecar = new File(dir, "student.tflite.fp32.384.tflite.json");
        new File(dir, "student.vocab.txt").delete();
        expectMessage(sidecar, "student.vocab.txt is missing");

        dir = modelDir(false);
        sidecar = new File(dir, "student.tflite.fp32.384.tflite.json");
        Files.write(new File(dir, "student.tflite.fp32.384.tflite").toPath(), new byte[3]);
        expectMessage(sidecar, "student.tflite.fp32.384.tflite has 3 bytes");

        dir = modelDir(false);
        sidecar = new File(dir, "student.tflite.fp32.384.tflite.json");
        String json = new String(Files.readAllBytes(sidecar.toPath()), StandardCharsets.UTF_8);
        Files.write(sidecar.toPath(), json.replace("\"format\": \"tflite\"", "\"format\": \"executorch\"").getBytes(StandardCharsets.UTF_8));
        expectMessage(sidecar, "does not look like a executorch model");

        Files.write(sidecar.toPath(), "{not json".getBytes(StandardCharsets.UTF_8));
        expectMessage(sidecar, "student.tflite.fp32.384.tflite.json cannot be read");

        Files.write(sidecar.toPath(), json.replace("\"seq_len\": 384", "\"seq_len\": 128").getBytes(StandardCharsets.UTF_8));
        expectMessage(sidecar, "seq_len 128 but max_seq_length 384");

        List<String> problems = new ArrayList<>();
        assertEquals(0, ModelSpec.scan(dir, problems).size());
        assertEquals(1, problems.size());
        ModelSpec.scan(new File(dir, "nope"), problems);
        assertTrue(problems.get(1).contains("does not exist"));
    }

    @Test
    public void wrongOutputShapeIsAClearError() throws Exception {
        QaModel bad = new PointerModel(0) {
            @Override public float[][] run(int[] ids, int[] mask, int[] types) { return new float[2][10]; }
        };
        try {
            new QaEngine(spec()).answer(bad, "q?", "a passage");
            fail("expected an error");
        } catch (QaException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("wrong shape"));
        }
    }

    @Test
    public void benchmarkTimesWarmupThenIterations() throws Exception {
        final long[] now = {0};
        PointerModel model = new PointerModel(0) {
            @Override public float[][] run(int[] ids, int[] mask, int[] types) {
                now[0] += 2_000_000L * (calls + 1); // 2, 4, 6, ... ms
                return super.run(ids, mask, types);
            }
        };
        BenchmarkResults out = new BenchmarkResults("Pixel", "Android 15", "Tensor", 4, "demo", "embedded", "embedded");
        final double[] rss = {100.0};
        PeakMemory.Probe probe = () -> rss[0] += 10.0;  // 110 before loading, then 120, 130, ... 170
        new BenchmarkRunner(2, 3, () -> now[0], probe).run(spec(), s -> { now[0] += 5_000_000L; return model; }, "q?", "p.", out);
        @SuppressWarnings("unchecked")
        java.util.Map<String, Object> e = (java.util.Map<String, Object>) ((List<?>) out.toJson().get("entries")).get(0);
        assertEquals(5.0, (Double) e.get("load_ms"), 1e-9);
        @SuppressWarnings("unchecked")
        java.util.Map<String, Object> st = (java.util.Map<String, Object>) e.get("stats");
        assertEquals(3, st.get("n"));
        assertEquals(6.0, (Double) st.get("min_ms"), 1e-9);  // iterations 3..5 after 2 warm-up runs
        assertEquals(10.0, (Double) st.get("max_ms"), 1e-9);
        assertEquals(16L, e.get("file_bytes"));
        assertEquals(60.0, (Double) e.get("peak_mem_mb"), 1e-9);  // peak 170 minus 110 before loading
        PeakMemory unknown = new PeakMemory(() -> null);
        unknown.sample();
        assertEquals(null, unknown.peakIncreaseMb());
        assertTrue(PeakMemory.procResidentMb() == null || PeakMemory.procResidentMb() > 0);
    }

    @Test
    @SuppressWarnings("unchecked")
    public void benchmarkTimesTheModelCallAloneAndReportsTheStepsAround() throws Exception {
        final long[] now = {0};
        PointerModel model = new PointerModel(0) {
            @Override public Object prepare(int[] ids, int[] mask, int[] types) {
                now[0] += 7_000_000L;  // building the input tensors
                return new int[][]{ids, mask, types};
            }

            @Override public float[][] forward(Object prepared) {
                now[0] += 3_000_000L;  // the model call
                int[][] in = (int[][]) prepared;
                return super.run(in[0], in[1], in[2]);
            }
        };
        BenchmarkResults out = new BenchmarkResults("Pixel", "Android 15", "Tensor", 4, "demo", "embedded", "embedded");
        new BenchmarkRunner(1, 3, () -> now[0], () -> null).run(spec(), s -> model, "q?", "p.", out, null);
        java.util.Map<String, Object> e = (java.util.Map<String, Object>) ((List<?>) out.toJson().get("entries")).get(0);
        java.util.Map<String, Object> st = (java.util.Map<String, Object>) e.get("stats");
        assertEquals(3.0, (Double) st.get("min_ms"), 1e-9);
        assertEquals(3.0, (Double) st.get("max_ms"), 1e-9);
        java.util.Map<String, Object> stages = (java.util.Map<String, Object>) e.get("stages_ms");
        assertEquals(7.0, ((Number) stages.get("tensors")).doubleValue(), 1e-9);
        assertTrue(stages.containsKey("tokenize") && stages.containsKey("decode"));
    }

    @Test
    public void questionTooLongForTheWindowIsAMessageNotACrash() throws Exception {
        File dir = modelDir(false);
        File sidecar = new File(dir, "student.tflite.fp32.384.tflite.json");
        String json = new String(Files.readAllBytes(sidecar.toPath()), StandardCharsets.UTF_8)
                .replace("384", "128");
        Files.write(sidecar.toPath(), json.getBytes(StandardCharsets.UTF_8));
        new File(dir, "student.tflite.fp32.384.tflite").renameTo(new File(dir, "student.tflite.fp32.128.tflite"));
        ModelSpec spec = ModelSpec.load(sidecar);
        StringBuilder q = new StringBuilder();
        for (int i = 0; i < 70; i++) q.append("word ");
        QaEngine.Answer a = new QaEngine(spec).answer(new PointerModel(0), q.toString(), "a passage");
        assertFalse(a.found());
        assertTrue(a.message, a.message.contains("shorten the question"));
    }

    static void expectMessage(File sidecar, String part) {
        try {
            ModelSpec.load(sidecar);
            fail("expected an error containing: " + part);
        } catch (QaException e) {
            assertTrue(e.getMessage(), e.getMessage().contains(part));
        }
    }
}
