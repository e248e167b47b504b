import Foundation

/// The question set the apps stage puts beside the models (questions.json, pipeline/devices/accuracy.py
/// staged_questions): the benchmark answers it with every staged model and scores EM / F1 on the phone.
public struct QuestionSet: Equatable {
    /// Its name in the model folder; ModelSpec.scan skips it, it is no sidecar.
    public static let fileName = "questions.json"

    public struct Question: Equatable {
        public let id: String, question: String, context: String, answers: [String]
        public init(id: String, question: String, context: String, answers: [String]) {
            self.id = id; self.question = question; self.context = context; self.answers = answers
        }
    }

    /// The qa_data set it came from: natural_dev or handwritten.
    public let name: String
    public let questions: [Question]

    public init(name: String, questions: [Question]) throws {
        guard !questions.isEmpty else { throw QAError("question set \(name) has no questions") }
        self.name = name
        self.questions = questions
    }

    private struct Raw: Decodable {
        struct Q: Decodable { let id: String?, question: String?, context: String?, answers: [String]? }
        let question_set: String?, questions: [Q]?
    }

    /// The set staged in dir, or nil when none was staged (apps.questions none).
    public static func find(in dir: URL) throws -> QuestionSet? {
        let url = dir.appendingPathComponent(fileName)
        return FileManager.default.fileExists(atPath: url.path) ? try load(url) : nil
    }

    public static func load(_ url: URL) throws -> QuestionSet {
        let name = url.lastPathComponent
        let raw: Raw
        do { raw = try JSONDecoder().decode(Raw.self, from: Data(contentsOf: url)) } catch {
            throw QAError("question set \(name) cannot be read: not the expected JSON object")
        }
        guard let set = raw.question_set, let qs = raw.questions else {
            throw QAError("question set \(name) needs 'question_set' and a 'questions' list")
        }
        let questions = try qs.enumerated().map { i, q -> Question in
            guard let id = q.id, let question = q.question, let context = q.context, let answers = q.answers,
                  !answers.isEmpty else {
                throw QAError("question set \(name) has a question without id, question, context or gold answers (entry \(i))")
            }
            return Question(id: id, question: question, context: context, answers: answers)
        }
        return try QuestionSet(name: set, questions: questions)
    }
}
