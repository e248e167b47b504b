package org.distilkit.qa;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/** The Java port against the Python reference, case by case. */
public class GoldenTest {
    @Test
    public void tokenizationMatchesTransformers() throws Exception {
        checkTokenization(Fixtures.tokenizer(true), Fixtures.cases(Fixtures.load("tokenization.json")));
    }

    @Test
    @SuppressWarnings("unchecked")
    public void casedTokenizationMatchesTransformers() throws Exception {
        List<Map<String, Object>> cases = (List<Map<String, Object>>) Fixtures.load("tokenization.json").get("cased_cases");
        checkTokenization(Fixtures.tokenizer(false), cases);
    }

    private static void checkTokenization(WordPieceTokenizer tok, List<Map<String, Object>> cases) {
        assertTrue(cases.size() > 10);
        for (Map<String, Object> c : cases) {
            String text = (String) c.get("text");
            WordPieceTokenizer.Encoding enc = tok.encode(text);
            assertEquals("tokens of " + text, c.get("tokens"), enc.tokens);
            assertEquals("ids of " + text, Fixtures.intList(Fixtures.ints(c.get("ids"))), enc.ids);
            int[][] want = Fixtures.offsets(c.get("offsets"));
            assertEquals(want.length, enc.offsets.size());
            for (int i = 0; i < want.length; i++) assertArrayEquals("offset " + i + " of " + text, want[i], enc.offsets.get(i));
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    public void windowsMatchPipeline() throws Exception {
        WordPieceTokenizer tok = Fixtures.tokenizer(true);
        for (Map<String, Object> c : Fixtures.cases(Fixtures.load("features.json"))) {
            boolean tt = (Boolean) c.get("token_type_ids");
            Features.Config cfg = new Features.Config(((Number) c.get("max_seq_length")).intValue(),
                    ((Number) c.get("doc_stride")).intValue(), ((Number) c.get("max_query_length")).intValue(), tt);
            List<Features.Window> got = Features.prepare(tok, (String) c.get("question"), (String) c.get("context"), cfg);
            List<Map<String, Object>> want = (List<Map<String, Object>>) c.get("windows");
            String what = "question '" + c.get("question") + "' L=" + cfg.maxSeqLength;
            assertEquals("window count for " + what, want.size(), got.size());
            for (int w = 0; w < want.size(); w++) {
                Map<String, Object> ww = want.get(w);
                Features.Window g = got.get(w);
                assertArrayEquals(what + " window " + w, Fixtures.ints(ww.get("input_ids")), g.inputIds);
                assertArrayEquals(Fixtures.ints(ww.get("attention_mask")), g.attentionMask);
                if (tt) assertArrayEquals(Fixtures.ints(ww.get("token_type_ids")), g.tokenTypeIds);
                int[][] offs = Fixtures.offsets(ww.get("offsets"));
                for (int i = 0; i < offs.length; i++) assertArrayEquals(what + " offset " + i, offs[i], g.offsets[i]);
            }
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    public void decodingMatchesPipeline() throws Exception {
        for (Map<String, Object> c : Fixtures.cases(Fixtures.load("decoding.json"))) {
            List<double[]> st = new ArrayList<>(), en = new ArrayList<>();
            List<int[][]> offs = new ArrayList<>();
            for (Object o : (List<?>) c.get("start_logits")) st.add(Fixtures.doubles(o));
            for (Object o : (List<?>) c.get("end_logits")) en.add(Fixtures.doubles(o));
            for (Object o : (List<?>) c.get("offsets")) offs.add(Fixtures.offsets(o));
            List<SpanDecoder.Span> got = SpanDecoder.decode(st, en, offs, (String) c.get("context"),
                    ((Number) c.get("n_best")).intValue(), ((Number) c.get("max_answer_length")).intValue());
            assertEquals(((Number) c.get("count")).intValue(), got.size());
            List<Map<String, Object>> want = (List<Map<String, Object>>) c.get("expected");
            for (int i = 0; i < want.size(); i++) {
                Map<String, Object> w = want.get(i);
                SpanDecoder.Span g = got.get(i);
                assertEquals(w.get("text"), g.text);
                assertEquals(((Number) w.get("start_char")).intValue(), g.startChar);
                assertEquals(((Number) w.get("end_char")).intValue(), g.endChar);
                assertEquals(((Number) w.get("score")).doubleValue(), g.score, 0.0);
            }
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    public void statsMatchPipeline() throws Exception {
        for (Map<String, Object> c : Fixtures.cases(Fixtures.load("stats.json"))) {
            List<Double> xs = new ArrayList<>();
            for (Object o : (List<?>) c.get("samples_ms")) xs.add(((Number) o).doubleValue());
            Map<String, Object> got = new LatencyStats(xs).toJson();
            Map<String, Object> want = (Map<String, Object>) c.get("expected");
            assertEquals(want.keySet(), got.keySet());
            for (String k : want.keySet()) {
                assertEquals(k, ((Number) want.get(k)).doubleValue(), ((Number) got.get(k)).doubleValue(), 1e-9);
            }
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    public void resultsFileMatchesExample() throws Exception {
        Map<String, Object> ex = Fixtures.load("results_example.json");
        Map<String, Object> dev = (Map<String, Object>) ex.get("device");
        Map<String, Object> scale = (Map<String, Object>) ex.get("scale");
        BenchmarkResults r = new BenchmarkResults((String) dev.get("name"), (String) dev.get("os"), (String) dev.get("soc"),
                ((Number) dev.get("threads")).intValue(), (String) scale.get("preset"), (String) scale.get("teacher"),
                (String) scale.get("corpus"));
        for (Map<String, Object> e : (List<Map<String, Object>>) ex.get("entries")) {
            List<Double> xs = new ArrayList<>();
            for (Object o : (List<?>) e.get("samples_ms")) xs.add(((Number) o).doubleValue());
            r.add((String) e.get("runtime"), (String) e.get("runtime_version"), (String) e.get("model"),
                    (String) e.get("precision"), ((Number) e.get("seq_len")).intValue(),
                    ((Number) e.get("load_ms")).doubleValue(), xs, ((Number) e.get("peak_mem_mb")).doubleValue(),
                    ((Number) e.get("file_bytes")).longValue());
        }
        // Written, read back, and compared as JSON values (numbers by value).
        Object written = Json.parse(r.toJsonString());
        assertEquals(normalise(ex.get("expected")), normalise(written));
    }

    /** Numbers compared as doubles, so 1 and 1.0 are equal, as in JSON. */
    @SuppressWarnings("unchecked")
    static Object normalise(Object v) {
        if (v instanceof Number) return ((Number) v).doubleValue();
        if (v instanceof List) {
            List<Object> out = new ArrayList<>();
            for (Object o : (List<Object>) v) out.add(normalise(o));
            return out;
        }
        if (v instanceof Map) {
            Map<String, Object> out = new java.util.TreeMap<>();
            for (Map.Entry<String, Object> e : ((Map<String, Object>) v).entrySet()) out.put(e.getKey(), normalise(e.getValue()));
            return out;
        }
        return v;
    }
}
