package org.distilkit.qa;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Reads the golden fixtures pipeline/devices/fixtures.py writes into mobile/fixtures/. */
final class Fixtures {
    private Fixtures() {}

    static File dir() {
        return new File(System.getProperty("fixtures.dir", "../../fixtures"));
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> load(String name) throws IOException {
        File f = new File(dir(), name);
        return (Map<String, Object>) Json.parse(new String(Files.readAllBytes(f.toPath()), StandardCharsets.UTF_8));
    }

    static WordPieceTokenizer tokenizer(boolean lowerCase) throws IOException {
        List<String> lines = Files.readAllLines(new File(dir(), "vocab.txt").toPath(), StandardCharsets.UTF_8);
        return new WordPieceTokenizer(lines, lowerCase, null, true);
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> cases(Map<String, Object> fixture) {
        return (List<Map<String, Object>>) fixture.get("cases");
    }

    static int[] ints(Object list) {
        List<?> l = (List<?>) list;
        int[] out = new int[l.size()];
        for (int i = 0; i < out.length; i++) out[i] = ((Number) l.get(i)).intValue();
        return out;
    }

    static double[] doubles(Object list) {
        List<?> l = (List<?>) list;
        double[] out = new double[l.size()];
        for (int i = 0; i < out.length; i++) out[i] = ((Number) l.get(i)).doubleValue();
        return out;
    }

    static int[][] offsets(Object list) {
        List<?> l = (List<?>) list;
        int[][] out = new int[l.size()][];
        for (int i = 0; i < out.length; i++) out[i] = l.get(i) == null ? null : ints(l.get(i));
        return out;
    }

    static List<Integer> intList(int[] xs) {
        List<Integer> out = new ArrayList<>();
        for (int x : xs) out.add(x);
        return out;
    }
}
