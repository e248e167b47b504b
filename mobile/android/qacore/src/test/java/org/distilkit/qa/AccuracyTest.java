package org.distilkit.qa;

import static org.junit.Assert.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/** Device accuracy on recorded logits (accuracy.json): the same answers, EM and F1 as Python's. */
public class AccuracyTest {
    @Test
    @SuppressWarnings("unchecked")
    public void metricsMatchPython() throws Exception {
        for (Map<String, Object> c : (List<Map<String, Object>>) Fixtures.load("accuracy.json").get("metric_cases")) {
            String p = (String) c.get("prediction"), g = (String) c.get("gold");
            assertEquals("normalised '" + p + "'", c.get("normalized"), SquadMetrics.normalize(p));
            assertEquals(p + " / " + g, ((Number) c.get("em")).doubleValue(), SquadMetrics.exactMatch(p, g), 0.0);
            assertEquals(p + " / " + g, ((Number) c.get("f1")).doubleValue(), SquadMetrics.f1(p, g), 1e-12);
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    public void answersEmAndF1OnRecordedLogitsMatchPython() throws Exception {
        Map<String, Object> fixture = Fixtures.load("accuracy.json");
        WordPieceTokenizer tok = Fixtures.tokenizer(true);
        List<Features.Config> configs = new ArrayList<>();
        for (Map<String, Object> s : (List<Map<String, Object>>) fixture.get("settings")) {
            configs.add(new Features.Config(((Number) s.get("seq_len")).intValue(), ((Number) s.get("doc_stride")).intValue(),
                    ((Number) s.get("max_query_length")).intValue(), false));
        }
        double em = 0, f1 = 0;
        List<Map<String, Object>> cases = Fixtures.cases(fixture);
        for (Map<String, Object> c : cases) {
            String q = (String) c.get("question"), ctx = (String) c.get("context");
            Features.Config cfg = configs.get(WindowChoice.choose(tok, q, ctx, configs));
            assertEquals((String) c.get("id"), ((Number) c.get("chosen_seq_len")).intValue(), cfg.maxSeqLength);
            List<double[]> st = new ArrayList<>(), en = new ArrayList<>();
            List<int[][]> offs = new ArrayList<>();
            for (Object o : (List<?>) c.get("start_logits")) st.add(Fixtures.doubles(o));
            for (Object o : (List<?>) c.get("end_logits")) en.add(Fixtures.doubles(o));
            for (Features.Window w : Features.prepare(tok, q, ctx, cfg)) offs.add(w.padded(cfg.maxSeqLength, tok.padId).offsets);
            List<SpanDecoder.Span> spans = SpanDecoder.decode(st, en, offs, ctx, 20, 30);
            String prediction = spans.isEmpty() ? "" : spans.get(0).text;
            assertEquals((String) c.get("id"), c.get("prediction"), prediction);
            double[] score = SquadMetrics.best(prediction, (List<String>) c.get("answers"));
            em += score[0];
            f1 += score[1];
        }
        Map<String, Object> want = (Map<String, Object>) fixture.get("expected");
        assertEquals(((Number) want.get("questions")).intValue(), cases.size());
        assertEquals(((Number) want.get("em")).doubleValue(), 100 * em / cases.size(), 0.01);
        assertEquals(((Number) want.get("f1")).doubleValue(), 100 * f1 / cases.size(), 0.01);
    }
}
