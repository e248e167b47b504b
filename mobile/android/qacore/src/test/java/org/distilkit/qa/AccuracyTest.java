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
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * Device accuracy on recorded logits: AccuracyRunner answers questions.json through QaEngine with fake models
 * that return accuracy.json's logits for each window, and must write accuracy_results.json's block (Python's).
 */
public class AccuracyTest {
    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    /** Returns the logits recorded for a window, found by its token ids; an unrecorded window fails the test. */
    static final class RecordedModel implements QaModel {
        final Map<String, float[][]> byWindow;

        RecordedModel(Map<String, float[][]> byWindow) { this.byWindow = byWindow; }

        @Override public float[][] run(int[] inputIds, int[] attentionMask, int[] tokenTypeIds) {
            float[][] logits = byWindow.get(Arrays.toString(inputIds));
            if (logits == null) throw new IllegalStateException("no recorded logits for this window");
            return logits;
        }

        @Override public String runtime() { return "litert"; }

        @Override public String runtimeVersion() { return "2.3.0"; }

        @Override public void close() {}
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> list(Object o) { return (List<Map<String, Object>>) o; }

    static int num(Map<String, Object> m, String key) { return ((Number) m.get(key)).intValue(); }

    /** The fixture's model staged at each of its lengths, as the apps stage leaves it: one group. */
    WindowChoice.Group group(List<Map<String, Object>> settings) throws Exception {
        File dir = tmp.newFolder();
        Files.copy(new File(Fixtures.dir(), "vocab.txt").toPath(), new File(dir, "student.vocab.txt").toPath());
        List<ModelSpec> specs = new ArrayList<>();
        for (Map<String, Object> s : settings) {
            Map<String, Object> sidecar = Fixtures.load("sidecar_example.json");
            String file = "student.tflite.fp32." + s.get("seq_len") + ".tflite";
            sidecar.put("file", file);
            for (String key : new String[]{"seq_len", "doc_stride", "max_query_length"}) sidecar.put(key, s.get(key));
            sidecar.put("max_seq_length", s.get("seq_len"));
            Files.write(new File(dir, file).toPath(), new byte[16]);
            File json = new File(dir, file + ".json");
            Files.write(json.toPath(), Json.write(sidecar).getBytes(StandardCharsets.UTF_8));
            specs.add(ModelSpec.load(json));
        }
        return WindowChoice.group(specs).get(0);
    }

    /** seq_len -> the model that answers with the fixture's logits at that length. */
    static Map<Integer, QaModel> recordedModels(WindowChoice.Group group, List<Map<String, Object>> cases) throws Exception {
        WordPieceTokenizer tok = Fixtures.tokenizer(true);
        Map<Integer, QaModel> out = new HashMap<>();
        for (ModelSpec spec : group.lengths) {
            Map<String, float[][]> byWindow = new HashMap<>();
            for (Map<String, Object> c : cases) {
                Map<String, Object> at = atLength(c, spec.seqLen);
                List<?> st = (List<?>) at.get("start_logits"), en = (List<?>) at.get("end_logits");
                List<Features.Window> ws = new QaEngine(spec, tok).windows((String) c.get("question"), (String) c.get("context"));
                assertEquals(c.get("id") + " windows at " + spec.seqLen, st.size(), ws.size());
                for (int w = 0; w < ws.size(); w++) {
                    byWindow.put(Arrays.toString(ws.get(w).inputIds), new float[][]{floats(st.get(w)), floats(en.get(w))});
                }
            }
            out.put(spec.seqLen, new RecordedModel(byWindow));
        }
        return out;
    }

    static Map<String, Object> atLength(Map<String, Object> c, int seqLen) {
        for (Map<String, Object> at : list(c.get("lengths"))) if (num(at, "seq_len") == seqLen) return at;
        throw new AssertionError(c.get("id") + " has no logits at " + seqLen);
    }

    static float[] floats(Object xs) {
        double[] d = Fixtures.doubles(xs);
        float[] out = new float[d.length];
        for (int i = 0; i < d.length; i++) out[i] = (float) d[i];  // a 1/8 grid: exact in float
        return out;
    }

    static BenchmarkResults results() {
        return new BenchmarkResults("Pixel 8", "Android 15", "Tensor G3", 4, "demo", "embedded", "embedded");
    }

    @Test
    public void metricsMatchPython() throws Exception {
        for (Map<String, Object> c : list(Fixtures.load("accuracy.json").get("metric_cases"))) {
            String p = (String) c.get("prediction"), g = (String) c.get("gold");
            assertEquals("normalised '" + p + "'", c.get("normalized"), SquadMetrics.normalize(p));
            assertEquals(p + " / " + g, ((Number) c.get("em")).doubleValue(), SquadMetrics.exactMatch(p, g), 0.0);
            assertEquals(p + " / " + g, ((Number) c.get("f1")).doubleValue(), SquadMetrics.f1(p, g), 1e-12);
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    public void theRunnersAnswersAndFiguresOnRecordedLogitsArePythons() throws Exception {
        Map<String, Object> fixture = Fixtures.load("accuracy.json");
        List<Map<String, Object>> cases = Fixtures.cases(fixture);
        WindowChoice.Group group = group(list(fixture.get("settings")));
        Map<Integer, QaModel> models = recordedModels(group, cases);
        QuestionSet set = QuestionSet.load(new File(Fixtures.dir(), QuestionSet.FILE_NAME));
        BenchmarkResults out = results();
        out.questionSet(set.name, set.questions.size());
        AccuracyRunner.Outcome o = new AccuracyRunner().run(group, spec -> models.get(spec.seqLen), set, out);

        for (int i = 0; i < cases.size(); i++) {
            Map<String, Object> c = cases.get(i);
            assertEquals((String) c.get("id"), num(c, "chosen_seq_len"), group.lengths.get(o.chosen[i]).seqLen);
            for (int k = 0; k < group.lengths.size(); k++) {
                assertEquals(c.get("id") + " at " + group.lengths.get(k).seqLen,
                        atLength(c, group.lengths.get(k).seqLen).get("prediction"), o.predictions.get(k)[i]);
            }
        }
        Map<String, Object> want = (Map<String, Object>) Fixtures.load("accuracy_results.json").get("accuracy");
        out.add("litert", "2.3.0", "student", "fp32", 384, 1, Arrays.asList(11.0, 12.0), null, 16L);
        assertSameBlock(want, (Map<String, Object>) Json.parse(Json.write(out.toJson().get("accuracy"))));
    }

    /** Strings and counts exactly, percentages to 0.01 (the sums run in another order than Python's). */
    static void assertSameBlock(Object want, Object got) {
        if (want instanceof Map) {
            Map<?, ?> w = (Map<?, ?>) want, g = (Map<?, ?>) got;
            assertEquals(w.keySet(), g.keySet());
            for (Object k : w.keySet()) assertSameBlock(w.get(k), g.get(k));
        } else if (want instanceof List) {
            assertEquals(((List<?>) want).size(), ((List<?>) got).size());
            for (int i = 0; i < ((List<?>) want).size(); i++) assertSameBlock(((List<?>) want).get(i), ((List<?>) got).get(i));
        } else if (want instanceof Double) {
            assertEquals((Double) want, ((Number) got).doubleValue(), 0.01);
        } else if (want instanceof Number) {
            assertEquals(((Number) want).longValue(), ((Number) got).longValue());
        } else {
            assertEquals(want, got);
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    public void theSessionAnswersTheStagedSetAndAFailingGroupIsAFailureLine() throws Exception {
        Map<String, Object> fixture = Fixtures.load("accuracy.json");
        WindowChoice.Group group = group(list(fixture.get("settings")));
        List<Map<String, Object>> cases = Fixtures.cases(fixture);
        Map<Integer, QaModel> models = recordedModels(group, cases);
        QuestionSet set = QuestionSet.load(new File(Fixtures.dir(), QuestionSet.FILE_NAME));
        BenchmarkSession.Setup setup = new BenchmarkSession.Setup() {
            @Override public List<ModelSpec> models(List<String> problems) { return group.lengths; }
            @Override public BenchmarkResults results() { return AccuracyTest.results(); }
            @Override public QuestionSet questions() { return set; }
        };
        File out = BenchmarkSession.run(new File(tmp.getRoot(), "distilkit"), "r1", setup, Arrays.asList(
                BenchmarkSessionTest.backend("LiteRT", spec -> models.get(spec.seqLen)),
                BenchmarkSessionTest.backend("Broken", spec -> { throw new UnsatisfiedLinkError("no libbroken.so"); })),
                // Timed on a fixture question, whose windows have recorded logits.
                new BenchmarkRunner(0, 1, System::nanoTime, () -> null), (String) cases.get(0).get("question"),
                (String) cases.get(0).get("context"), BenchmarkSessionTest.QUIET);
        Map<String, Object> json = (Map<String, Object>) Json.parse(BenchmarkSessionTest.text(out));
        Map<String, Object> accuracy = (Map<String, Object>) json.get("accuracy");
        assertEquals(2, ((List<?>) json.get("entries")).size());
        assertEquals("handwritten", accuracy.get("question_set"));
        assertEquals(1, ((List<?>) accuracy.get("entries")).size());
        List<String> failures = (List<String>) json.get("failures");
        assertTrue(failures.toString(), failures.contains("accuracy of " + group.label() + " on Broken: UnsatisfiedLinkError: no libbroken.so"));
    }

    @Test
    public void noStagedSetMeansNoAccuracyBlockAndTheScanSkipsTheSet() throws Exception {
        File dir = tmp.newFolder();
        assertEquals(null, QuestionSet.find(dir));
        Files.copy(new File(Fixtures.dir(), QuestionSet.FILE_NAME).toPath(), new File(dir, QuestionSet.FILE_NAME).toPath());
        List<String> problems = new ArrayList<>();
        assertTrue(ModelSpec.scan(dir, problems).isEmpty());
        assertTrue(problems.toString(), problems.isEmpty());
        assertEquals(50, QuestionSet.find(dir).questions.size());
        BenchmarkResults r = results();
        r.add("litert", "2.3.0", "student", "fp32", 384, 1, Arrays.asList(11.0, 12.0), null, 16L);
        assertFalse(r.toJson().containsKey("accuracy"));
    }

    @Test
    public void aQuestionWithoutGoldAnswersIsRefusedNamingTheFile() throws Exception {
        File f = tmp.newFile(QuestionSet.FILE_NAME);
        Map<String, Object> q = new LinkedHashMap<>();
        q.put("id", "q1");
        q.put("question", "Where?");
        q.put("context", "Here.");
        q.put("answers", new ArrayList<>());
        Map<String, Object> set = new LinkedHashMap<>();
        set.put("question_set", "natural_dev");
        set.put("questions", Arrays.asList(q));
        Files.write(f.toPath(), Json.write(set).getBytes(StandardCharsets.UTF_8));
        try {
            QuestionSet.load(f);
            fail("a question without gold answers was accepted");
        } catch (QaException e) {
            assertTrue(e.getMessage(), e.getMessage().startsWith("question set questions.json has a question without"));
        }
    }
}
