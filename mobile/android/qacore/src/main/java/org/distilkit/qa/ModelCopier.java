package org.distilkit.qa;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Brings the models packaged with the app (on Android, the APK's assets) into a folder of real
 * files, which the runtimes need. A model file is copied again only when the checksum its sidecar
 * records differs from the one stamped beside the earlier copy: sizes cannot tell a re-staged model
 * from the old one (student and student (D) have identical sizes), and `adb install -r` keeps the
 * app's files from the previous install. Sidecars and vocabularies are small and always copied.
 */
public final class ModelCopier {
    /** The packaged model folder. */
    public interface Source {
        /** File names in the folder (null or empty when there is none). */
        String[] list() throws IOException;

        InputStream open(String name) throws IOException;
    }

    /** Suffix of the file next to a copied model holding the SHA-256 of that copy. */
    public static final String STAMP = ".sha256";
    private static final String PART = ".part";

    private ModelCopier() {}

    /**
     * Makes dir hold exactly the packaged models, then reads their sidecars. Problems (a file that
     * cannot be copied, a copy whose checksum differs from its sidecar's) go to problems, one message each.
     */
    public static List<ModelSpec> sync(Source src, File dir, List<String> problems) {
        String[] listed;
        try {
            listed = src.list();
        } catch (IOException e) {
            problems.add("cannot list the bundled models: " + e.getMessage());
            listed = null;
        }
        Set<String> names = new HashSet<>();
        if (listed != null) {
            for (String n : listed) {
                if (!n.equals("README.md") && !n.endsWith(PART) && !n.endsWith(STAMP)) names.add(n);
            }
        }
        if (!dir.isDirectory() && !dir.mkdirs()) {
            problems.add("cannot create the model folder " + dir);
            return new ArrayList<>();
        }
        Map<String, String> wanted = checksums(src, names, problems);
        File[] present = dir.listFiles();
        if (present != null) {
            for (File f : present) {
                String n = f.getName();
                boolean keep = names.contains(n) || (n.endsWith(STAMP)
                        && wanted.containsKey(n.substring(0, n.length() - STAMP.length())));
                if (!keep) delete(f);
            }
        }
        List<String> sorted = new ArrayList<>(names);
        Collections.sort(sorted);
        for (String n : sorted) {
            File target = new File(dir, n);
            File stamp = new File(dir, n + STAMP);
            try {
                if (!wanted.containsKey(n)) {
                    copy(src, n, target);
                    continue;
                }
                String want = wanted.get(n);
                if (want != null && target.isFile() && want.equals(read(stamp))) continue;
                // No stamp while the copy is under way: an interrupted copy is redone next time.
                Files.deleteIfExists(stamp.toPath());
                String got = copy(src, n, target);
                if (want != null && !want.equals(got)) {
                    Files.deleteIfExists(target.toPath());
                    problems.add("model file " + n + " in the app has SHA-256 " + got.substring(0, 12)
                            + "… but its sidecar says " + want.substring(0, 12) + "… (re-stage the models and rebuild)");
                    continue;
                }
                if (want != null) Files.write(stamp.toPath(), want.getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                problems.add("cannot copy the bundled " + n + ": " + e.getMessage());
            }
        }
        return ModelSpec.scan(dir, problems);
    }

    /** Model file name -> the SHA-256 its sidecar records (null when it records none). */
    private static Map<String, String> checksums(Source src, Set<String> names, List<String> problems) {
        Map<String, String> out = new HashMap<>();
        for (String n : names) {
            if (!n.endsWith(".json")) continue;
            Object parsed;
            try (InputStream in = src.open(n)) {
                parsed = Json.parse(new String(readAll(in), StandardCharsets.UTF_8));
            } catch (IOException | IllegalArgumentException e) {
                continue;  // ModelSpec.scan reports the broken sidecar once it is copied
            }
            if (!(parsed instanceof Map)) continue;
            Map<?, ?> m = (Map<?, ?>) parsed;
            Object file = m.get("file"), sha = m.get("sha256");
            if (!(file instanceof String)) continue;
            out.put((String) file, sha instanceof String && ModelSpec.isSha256((String) sha) ? (String) sha : null);
        }
        return out;
    }

    /** Copies through a temporary file, then renames it into place; returns the SHA-256 of what was copied. */
    private static String copy(Source src, String name, File target) throws IOException {
        MessageDigest digest = sha256();
        File tmp = new File(target.getPath() + PART);
        try (InputStream in = src.open(name); OutputStream out = Files.newOutputStream(tmp.toPath())) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                out.write(buf, 0, n);
                digest.update(buf, 0, n);
            }
        } catch (IOException e) {
            Files.deleteIfExists(tmp.toPath());
            throw e;
        }
        Files.move(tmp.toPath(), target.toPath(), StandardCopyOption.REPLACE_EXISTING);
        return hex(digest.digest());
    }

    /** SHA-256 of a file, as the apps stage records it (lowercase hex). */
    public static String sha256(File f) throws IOException {
        MessageDigest digest = sha256();
        try (InputStream in = Files.newInputStream(f.toPath())) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) digest.update(buf, 0, n);
        }
        return hex(digest.digest());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {  // every Java platform must provide SHA-256
            throw new IllegalStateException(e);
        }
    }

    private static String hex(byte[] bytes) {
        StringBuilder b = new StringBuilder(bytes.length * 2);
        for (byte x : bytes) b.append(Character.forDigit((x >> 4) & 15, 16)).append(Character.forDigit(x & 15, 16));
        return b.toString();
    }

    private static String read(File f) {
        try {
            return new String(Files.readAllBytes(f.toPath()), StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            return null;
        }
    }

    private static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        for (int n; (n = in.read(buf)) > 0; ) out.write(buf, 0, n);
        return out.toByteArray();
    }

    private static void delete(File f) {
        File[] kids = f.listFiles();
        if (kids != null) for (File k : kids) delete(k);
        f.delete();
    }
}
