package org.distilkit.qa;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The question set the apps stage puts beside the models (questions.json, pipeline/devices/accuracy.py
 * staged_questions): the benchmark answers it with every staged model and scores EM / F1 on the phone.
 */
public final class QuestionSet {
    /** Its name in the model folder; ModelSpec.scan skips it, it is no sidecar. */
    public static final String FILE_NAME = "questions.json";

    public static final class Question {
        public final String id, question, context;
        public final List<String> answers;

        public Question(String id, String question, String context, List<String> answers) {
            this.id = id;
            this.question = question;
            this.context = context;
            this.answers = Collections.unmodifiableList(new ArrayList<>(answers));
        }
    }

    /** The qa_data set it came from: natural_dev or handwritten. */
    public final String name;
    public final List<Question> questions;

    public QuestionSet(String name, List<Question> questions) {
        if (questions.isEmpty()) throw new QaException("question set " + name + " has no questions");
        this.name = name;
        this.questions = Collections.unmodifiableList(new ArrayList<>(questions));
    }

    /** The set staged in dir, or null when none was staged (apps.questions none). */
    public static QuestionSet find(File dir) {
        File f = new File(dir, FILE_NAME);
        return f.isFile() ? load(f) : null;
    }

    public static QuestionSet load(File f) {
        Object parsed;
        try {
            parsed = Json.parse(new String(Files.readAllBytes(f.toPath()), StandardCharsets.UTF_8));
        } catch (IOException | IllegalArgumentException e) {
            throw new QaException("question set " + f.getName() + " cannot be read: " + e.getMessage());
        }
        if (!(parsed instanceof Map)) throw bad(f, "is not a JSON object");
        Map<?, ?> m = (Map<?, ?>) parsed;
        if (!(m.get("question_set") instanceof String) || !(m.get("questions") instanceof List)) {
            throw bad(f, "needs 'question_set' and a 'questions' list");
        }
        List<Question> out = new ArrayList<>();
        for (Object o : (List<?>) m.get("questions")) {
            Map<?, ?> q = o instanceof Map ? (Map<?, ?>) o : Collections.emptyMap();
            List<String> answers = new ArrayList<>();
            if (q.get("answers") instanceof List) {
                for (Object a : (List<?>) q.get("answers")) if (a instanceof String) answers.add((String) a);
            }
            if (!(q.get("id") instanceof String) || !(q.get("question") instanceof String)
                    || !(q.get("context") instanceof String) || answers.isEmpty()) {
                throw bad(f, "has a question without id, question, context or gold answers (entry " + out.size() + ")");
            }
            out.add(new Question((String) q.get("id"), (String) q.get("question"), (String) q.get("context"), answers));
        }
        return new QuestionSet((String) m.get("question_set"), out);
    }

    private static QaException bad(File f, String what) {
        return new QaException("question set " + f.getName() + " " + what);
    }
}
