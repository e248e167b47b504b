package org.distilkit.qa;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** The copy of the APK's models into app storage is keyed on the sidecar's checksum, not on the size. */
public class ModelCopierTest {
    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    static final String MODEL = "student.tflite.fp32.384.tflite";

    /** An in-memory asset folder that counts how often each file is opened. */
    static class Assets implements ModelCopier.Source {
        final Map<String, byte[]> files = new TreeMap<>();
        final Map<String, Integer> opened = new TreeMap<>();

        @Override public String[] list() { return files.keySet().toArray(new String[0]); }

        @Override public InputStream open(String name) throws IOException {
            byte[] b = files.get(name);
            if (b == null) throw new FileNotFoundException(name);
            opened.merge(name, 1, Integer::sum);
            return new ByteArrayInputStream(b);
        }

        int opens(String name) { return opened.getOrDefault(name, 0); }
    }

    static String sidecar(String sha) throws IOException {
        String json = new String(Files.readAllBytes(new File(Fixtures.dir(), "sidecar_example.json").toPath()),
                StandardCharsets.UTF_8);
        @SuppressWarnings("unchecked") Map<String, Object> m = (Map<String, Object>) Json.parse(json);
        if (sha == null) m.remove("sha256"); else m.put("sha256", sha);
        return Json.write(m);
    }

    static String sha(byte[] b) throws IOException {
        File f = File.createTempFile("sha", ".bin");
        Files.write(f.toPath(), b);
        try {
            return ModelCopier.sha256(f);
        } finally {
            f.delete();
        }
    }

    Assets staged(byte[] model, boolean withChecksum) throws IOException {
        Assets a = new Assets();
        a.files.put("README.md", "note".getBytes(StandardCharsets.UTF_8));
        a.files.put(MODEL, model);
        a.files.put(MODEL + ".json", sidecar(withChecksum ? sha(model) : null).getBytes(StandardCharsets.UTF_8));
        a.files.put("student.vocab.txt", Files.readAllBytes(new File(Fixtures.dir(), "vocab.txt").toPath()));
        return a;
    }

    @Test
    public void copiesOnceThenOnlyWhenTheChecksumChangesEvenAtTheSameSize() throws Exception {
        File dir = new File(tmp.getRoot(), "models");
        byte[] first = new byte[16], second = new byte[16];
        Arrays.fill(second, (byte) 7);  // student vs student (D): same size, other weights
        List<String> problems = new ArrayList<>();
        Assets a = staged(first, true);
        List<ModelSpec> specs = ModelCopier.sync(a, dir, problems);
        assertEquals(problems.toString(), 1, specs.size());
        assertEquals(sha(first), specs.get(0).sha256);
        assertEquals(1, a.opens(MODEL));

        Assets again = staged(first, true);
        ModelCopier.sync(again, dir, problems);
        assertEquals("an unchanged model is not copied again", 0, again.opens(MODEL));

        Assets restaged = staged(second, true);  // adb install -r: the old copy is still in app storage
        specs = ModelCopier.sync(restaged, dir, problems);
        assertEquals(1, restaged.opens(MODEL));
        assertArrayEquals(second, Files.readAllBytes(new File(dir, MODEL).toPath()));
        assertEquals(sha(second), specs.get(0).sha256);
        assertEquals(new ArrayList<String>(), problems);
        assertFalse(new File(dir, "README.md").exists());
    }

    @Test
    public void withoutAChecksumTheModelIsAlwaysCopied() throws Exception {
        File dir = new File(tmp.getRoot(), "models");
        List<String> problems = new ArrayList<>();
        ModelCopier.sync(staged(new byte[16], false), dir, problems);
        Assets again = staged(new byte[16], false);
        ModelCopier.sync(again, dir, problems);
        assertEquals(1, again.opens(MODEL));
        assertFalse(new File(dir, MODEL + ModelCopier.STAMP).exists());
        assertEquals(new ArrayList<String>(), problems);
    }

    @Test
    public void aCorruptCopyIsReportedAndNotKept() throws Exception {
        File dir = new File(tmp.getRoot(), "models");
        Assets a = staged(new byte[16], true);
        a.files.put(MODEL, new byte[]{1, 2, 3});  // not what the sidecar's checksum describes
        List<String> problems = new ArrayList<>();
        List<ModelSpec> specs = ModelCopier.sync(a, dir, problems);
        assertTrue(specs.isEmpty());
        assertTrue(problems.toString(), problems.get(0).contains(MODEL) && problems.get(0).contains("SHA-256"));
        assertFalse(new File(dir, MODEL + ModelCopier.STAMP).exists());
    }

    @Test
    public void modelsNoLongerInTheApkAreRemovedWithTheirStamps() throws Exception {
        File dir = new File(tmp.getRoot(), "models");
        List<String> problems = new ArrayList<>();
        ModelCopier.sync(staged(new byte[16], true), dir, problems);
        assertTrue(new File(dir, MODEL + ModelCopier.STAMP).isFile());
        Files.write(new File(dir, "old.pte.part").toPath(), new byte[3]);
        Assets empty = new Assets();
        List<ModelSpec> specs = ModelCopier.sync(empty, dir, problems);
        assertTrue(specs.isEmpty());
        assertArrayEquals(new String[0], dir.list());
    }

    @Test
    public void anInterruptedCopyIsRedone() throws Exception {
        File dir = new File(tmp.getRoot(), "models");
        List<String> problems = new ArrayList<>();
        ModelCopier.sync(staged(new byte[16], true), dir, problems);
        new File(dir, MODEL + ModelCopier.STAMP).delete();  // the app died before the stamp was written
        Assets again = staged(new byte[16], true);
        ModelCopier.sync(again, dir, problems);
        assertEquals(1, again.opens(MODEL));
        assertTrue(new File(dir, MODEL + ModelCopier.STAMP).isFile());
    }
}
