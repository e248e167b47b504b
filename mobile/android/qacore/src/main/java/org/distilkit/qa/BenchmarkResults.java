package org.distilkit.qa;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Builds a results file of kind "benchmark", source "device" (the schema the host benchmark shares). */
public final class BenchmarkResults {
    private final Map<String, Object> device = new LinkedHashMap<>();
    private final Map<String, Object> scale = new LinkedHashMap<>();
    private final List<Object> entries = new ArrayList<>();
    private final List<Object> failures = new ArrayList<>();
    /** The "accuracy" block; null while no question set is answered. */
    private Map<String, Object> accuracy;
    private final List<Object> accuracyEntries = new ArrayList<>();

    /** @param soc system on chip, e.g. Build.SOC_MODEL; threads: CPU threads the runtimes were given */
    public BenchmarkResults(String deviceName, String os, String soc, int threads,
                            String preset, String teacher, String corpus) {
        device.put("name", nonEmpty(deviceName));
        device.put("os", nonEmpty(os));
        device.put("soc", nonEmpty(soc));
        device.put("threads", threads);
        scale.put("preset", nonEmpty(preset));
        scale.put("teacher", nonEmpty(teacher));
        scale.put("corpus", nonEmpty(corpus));
        scale.put("device", nonEmpty(deviceName));
    }

    private static String nonEmpty(String s) { return s == null || s.isEmpty() ? "unknown" : s; }

    public void add(String runtime, String runtimeVersion, String model, String precision, int seqLen,
                    double loadMs, List<Double> samplesMs, Double peakMemMb, Long fileBytes) {
        add(runtime, runtimeVersion, model, precision, seqLen, loadMs, samplesMs, peakMemMb, fileBytes, null, null);
    }

    /**
     * @param settings what the runtime was given (threads, accelerator, ...), kept beside its figures; null: none
     * @param stagesMs the ms of the steps around the timed model call (tokenize, tensors, decode); null: none
     */
    public void add(String runtime, String runtimeVersion, String model, String precision, int seqLen,
                    double loadMs, List<Double> samplesMs, Double peakMemMb, Long fileBytes, Map<String, Object> settings,
                    Map<String, Object> stagesMs) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("runtime", runtime);
        e.put("runtime_version", runtimeVersion == null ? "" : runtimeVersion);
        e.put("model", model);
        e.put("precision", precision);
        e.put("seq_len", seqLen);
        e.put("load_ms", loadMs);
        e.put("stats", new LatencyStats(samplesMs).toJson());
        e.put("peak_mem_mb", peakMemMb);
        e.put("file_bytes", fileBytes);
        if (settings != null && !settings.isEmpty()) e.put("settings", new LinkedHashMap<>(settings));
        if (stagesMs != null && !stagesMs.isEmpty()) e.put("stages_ms", new LinkedHashMap<>(stagesMs));
        entries.add(e);
    }

    /** The staged question set this run answers: the results file gains an "accuracy" block. */
    public void questionSet(String name, int questions) {
        accuracy = new LinkedHashMap<>();
        accuracy.put("question_set", name);
        accuracy.put("questions", questions);
        accuracy.put("entries", accuracyEntries);
    }

    /** One model group's EM / F1 (AccuracyRunner's entry). */
    public void addAccuracy(Map<String, Object> entry) {
        if (accuracy == null) throw new QaException("accuracy entry without a question set");
        accuracyEntries.add(entry);
    }

    /** A model that could not be timed: kept in the file ("failures") so a short table is explained. */
    public void fail(String message) { failures.add(message); }

    public int size() { return entries.size(); }

    public Map<String, Object> toJson() {
        if (entries.isEmpty()) {
            throw new QaException("no benchmark entries: no model could be run" + (failures.isEmpty() ? "" : ": " + failures));
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("kind", "benchmark");
        m.put("schema_version", 1);
        m.put("scale", scale);
        m.put("source", "device");
        m.put("device", device);
        m.put("entries", entries);
        if (accuracy != null) m.put("accuracy", accuracy);
        if (!failures.isEmpty()) m.put("failures", failures);
        return m;
    }

    public String toJsonString() { return Json.write(toJson()); }
}
