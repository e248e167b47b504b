package org.distilkit.qa;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One exported model as its JSON sidecar (written by pipeline/export/sidecar.py) describes it, checked
 * against the files next to it. Every problem is a QaException naming the file concerned.
 */
public final class ModelSpec {
    public final File sidecar, file, vocabFile;
    public final String model, format, backend, precision;
    public final int seqLen, maxQueryLength, docStride, maxAnswerLength;
    public final boolean doLowerCase, tokenizeChineseChars, tokenTypeIds;
    public final Boolean stripAccents;
    public final List<String> inputs = new ArrayList<>();
    public final List<String> outputs = new ArrayList<>();
    public final long bytes;
    /** SHA-256 (hex) of the model file as staged, or null for a sidecar written before staging recorded it. */
    public final String sha256;

    private ModelSpec(File sidecar, Map<String, Object> m) {
        this.sidecar = sidecar;
        File dir = sidecar.getAbsoluteFile().getParentFile();
        model = str(m, "model");
        format = str(m, "format");
        backend = m.containsKey("backend") ? str(m, "backend") : format;
        precision = str(m, "precision");
        seqLen = num(m, "seq_len", null);
        if (m.containsKey("max_seq_length") && num(m, "max_seq_length", null) != seqLen) {
            throw bad("says seq_len " + seqLen + " but max_seq_length " + m.get("max_seq_length"));
        }
        maxQueryLength = num(m, "max_query_length", 64);
        docStride = num(m, "doc_stride", 128);
        maxAnswerLength = num(m, "max_answer_length", 30);
        doLowerCase = !Boolean.FALSE.equals(m.get("do_lower_case"));
        stripAccents = m.get("strip_accents") instanceof Boolean ? (Boolean) m.get("strip_accents") : null;
        tokenizeChineseChars = !Boolean.FALSE.equals(m.get("tokenize_chinese_chars"));
        for (String key : new String[]{"inputs", "outputs"}) {
            Object v = m.get(key);
            if (!(v instanceof List)) throw bad("has no '" + key + "' list");
            for (Object o : (List<?>) v) {
                Object name = o instanceof Map ? ((Map<?, ?>) o).get("name") : o;
                if (!(name instanceof String)) throw bad("has an unnamed entry in '" + key + "'");
                (key.equals("inputs") ? inputs : outputs).add((String) name);
            }
        }
        tokenTypeIds = m.containsKey("uses_token_type_ids") ? Boolean.TRUE.equals(m.get("uses_token_type_ids"))
                : inputs.contains("token_type_ids");
        if (tokenTypeIds != inputs.contains("token_type_ids")) {
            throw bad("says uses_token_type_ids=" + tokenTypeIds + " but its inputs are " + inputs);
        }
        if (!inputs.contains("input_ids") || outputs.size() != 2) {
            throw bad("must list input_ids among its inputs and exactly two outputs (start, end logits)");
        }
        file = new File(dir, str(m, "file"));
        String vocab = m.containsKey("vocab_file") ? str(m, "vocab_file") : str(m, "vocab");
        vocabFile = new File(dir, vocab);
        if (!file.exists()) throw new QaException("model file " + file.getName() + " is missing (named in " + sidecar.getName() + ")");
        if (!vocabFile.isFile()) throw new QaException("vocabulary " + vocabFile.getName() + " is missing (named in " + sidecar.getName() + ")");
        String ext = extensionFor(format, file.getName());
        if (!file.getName().endsWith(ext)) {
            throw new QaException("model file " + file.getName() + " does not look like a " + format + " model (expected " + ext + ")");
        }
        Object sha = m.get("sha256");
        if (sha != null && !(sha instanceof String && isSha256((String) sha))) {
            throw bad("has a 'sha256' that is not 64 lowercase hex digits");
        }
        sha256 = (String) sha;
        bytes = sizeOf(file);
        if (m.get("bytes") instanceof Number && ((Number) m.get("bytes")).longValue() != bytes) {
            throw new QaException("model file " + file.getName() + " has " + bytes + " bytes but " + sidecar.getName()
                    + " says " + m.get("bytes") + " (incomplete or different copy)");
        }
    }

    static boolean isSha256(String s) {
        if (s.length() != 64) return false;
        for (int i = 0; i < 64; i++) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) return false;
        }
        return true;
    }

    private static String extensionFor(String format, String name) {
        switch (format) {
            case "tflite": return ".tflite";
            case "executorch": return ".pte";
            case "onnx": return ".onnx";
            case "coreml": return name.endsWith(".mlmodelc") ? ".mlmodelc" : ".mlpackage";
            default: throw new QaException("unknown model format '" + format + "' in " + name);
        }
    }

    public static ModelSpec load(File sidecar) {
        if (!sidecar.isFile()) throw new QaException("model sidecar " + sidecar.getName() + " is missing");
        Object parsed;
        try {
            parsed = Json.parse(new String(Files.readAllBytes(sidecar.toPath()), StandardCharsets.UTF_8));
        } catch (IOException | IllegalArgumentException e) {
            throw new QaException("model sidecar " + sidecar.getName() + " cannot be read: " + e.getMessage());
        }
        if (!(parsed instanceof Map)) throw new QaException("model sidecar " + sidecar.getName() + " is not a JSON object");
        @SuppressWarnings("unchecked") Map<String, Object> m = (Map<String, Object>) parsed;
        return new ModelSpec(sidecar, m);
    }

    /** Every model sidecar in a folder; broken ones go to problems (one message each), not an exception. */
    public static List<ModelSpec> scan(File dir, List<String> problems) {
        List<ModelSpec> out = new ArrayList<>();
        File[] files = dir.listFiles();
        if (files == null) {
            problems.add("model folder " + dir + " does not exist");
            return out;
        }
        java.util.Arrays.sort(files);
        for (File f : files) {
            if (!f.getName().endsWith(".json") || f.getName().equals(QuestionSet.FILE_NAME)) continue;
            try {
                out.add(load(f));
            } catch (QaException e) {
                problems.add(e.getMessage());
            }
        }
        return out;
    }

    public WordPieceTokenizer loadTokenizer() {
        try {
            List<String> lines = Files.readAllLines(vocabFile.toPath(), StandardCharsets.UTF_8);
            return new WordPieceTokenizer(lines, doLowerCase, stripAccents, tokenizeChineseChars);
        } catch (IOException e) {
            throw new QaException("vocabulary " + vocabFile.getName() + " cannot be read: " + e.getMessage());
        }
    }

    public Features.Config featureConfig() {
        return new Features.Config(seqLen, docStride, maxQueryLength, tokenTypeIds);
    }

    /** Picker label, e.g. "student (D) · int8 · 384". */
    public String label() {
        String name = model.equals("student_d") ? "student (D)" : model;
        return name + " · " + precision + " · " + seqLen + (backend.equals(format) ? "" : " · " + backend);
    }

    private static long sizeOf(File f) {
        if (!f.isDirectory()) return f.length();
        long total = 0;
        File[] kids = f.listFiles();
        if (kids != null) for (File k : kids) total += sizeOf(k);
        return total;
    }

    private QaException bad(String what) {
        return new QaException("model sidecar " + sidecar.getName() + " " + what);
    }

    private String str(Map<String, Object> m, String key) {
        Object v = m.get(key);
        if (!(v instanceof String) || ((String) v).isEmpty()) throw bad("has no '" + key + "'");
        return (String) v;
    }

    private int num(Map<String, Object> m, String key, Integer dflt) {
        Object v = m.get(key);
        if (v == null && dflt != null) return dflt;
        if (!(v instanceof Number) || ((Number) v).intValue() <= 0) throw bad("has no positive '" + key + "'");
        return ((Number) v).intValue();
    }
}
