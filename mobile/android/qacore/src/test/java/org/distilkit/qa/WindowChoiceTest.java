package org.distilkit.qa;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/** The window length and the answer, case by case against pipeline/devices/windows.py (window_choice.json). */
public class WindowChoiceTest {
    @Test
    @SuppressWarnings("unchecked")
    public void sameLengthAndAnswerAsPython() throws Exception {
        WordPieceTokenizer tok = Fixtures.tokenizer(true);
        List<Map<String, Object>> cases = Fixtures.cases(Fixtures.load("window_choice.json"));
        int shortChosen = 0, longChosen = 0;
        for (Map<String, Object> c : cases) {
            String q = (String) c.get("question"), ctx = (String) c.get("context");
            List<Features.Config> configs = new ArrayList<>();
            for (Map<String, Object> s : (List<Map<String, Object>>) c.get("settings")) {
                configs.add(new Features.Config(((Number) s.get("seq_len")).intValue(), ((Number) s.get("doc_stride")).intValue(),
                        ((Number) s.get("max_query_length")).intValue(), false));
            }
            Features.Config cfg = configs.get(WindowChoice.choose(tok, q, ctx, configs));
            int want = ((Number) c.get("chosen_seq_len")).intValue();
            assertEquals("length for '" + q + "'", want, cfg.maxSeqLength);
            if (want == 128) shortChosen++; else longChosen++;
            List<double[]> st = new ArrayList<>(), en = new ArrayList<>();
            List<int[][]> offs = new ArrayList<>();
            for (Object o : (List<?>) c.get("start_logits")) st.add(Fixtures.doubles(o));
            for (Object o : (List<?>) c.get("end_logits")) en.add(Fixtures.doubles(o));
            for (Features.Window w : Features.prepare(tok, q, ctx, cfg)) offs.add(w.padded(cfg.maxSeqLength, tok.padId).offsets);
            assertEquals(st.size(), offs.size());
            List<SpanDecoder.Span> got = SpanDecoder.decode(st, en, offs, ctx, 20, 30);
            Map<String, Object> expected = (Map<String, Object>) c.get("expected");
            if (expected == null) {
                assertTrue(got.isEmpty());
                continue;
            }
            SpanDecoder.Span best = got.get(0);
            assertEquals(expected.get("text"), best.text);
            assertEquals(((Number) expected.get("start_char")).intValue(), best.startChar);
            assertEquals(((Number) expected.get("end_char")).intValue(), best.endChar);
            assertEquals(((Number) expected.get("score")).doubleValue(), best.score, 0.0);
        }
        assertTrue("both lengths are chosen somewhere", shortChosen > 0 && longChosen > 0);
    }

    @Test
    public void aQuestionWithNoRoomInTheShortLengthFallsToTheLongOne() throws Exception {
        WordPieceTokenizer tok = Fixtures.tokenizer(true);
        List<Features.Config> configs = new ArrayList<>();
        configs.add(new Features.Config(384, 128, 64, false));
        configs.add(new Features.Config(48, 16, 64, false));  // 48 - 40 - 3 leaves no room beyond the overlap
        StringBuilder q = new StringBuilder("Why");
        for (int i = 0; i < 40; i++) q.append(" very");
        assertEquals(0, WindowChoice.choose(tok, q.toString(), "Short passage.", configs));
        assertEquals(1, WindowChoice.choose(tok, "Why?", "Short passage.", configs));
    }
}
