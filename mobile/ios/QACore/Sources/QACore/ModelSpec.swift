import Foundation

/// One exported model as its JSON sidecar (written by pipeline/export/sidecar.py) describes it, checked
/// against the files next to it. Every problem is a QAError naming the file concerned.
public struct ModelSpec: Equatable {
    public let sidecar: URL, file: URL, vocabFile: URL
    public let model: String, format: String, backend: String, precision: String
    public let seqLen: Int, maxQueryLength: Int, docStride: Int, maxAnswerLength: Int
    public let doLowerCase: Bool, stripAccents: Bool?, tokenizeChineseChars: Bool, tokenTypeIds: Bool
    public let inputs: [String], outputs: [String]
    public let bytes: Int64
    /// SHA-256 (hex) of the model as staged (for a .mlpackage folder, of its file listing and file
    /// digests), or nil for a sidecar written before staging recorded it.
    public let sha256: String?

    private struct Raw: Decodable {
        struct IO: Decodable { let name: String }
        let model: String?, format: String?, backend: String?, precision: String?, file: String?
        let seq_len: Int?, max_seq_length: Int?, max_query_length: Int?, doc_stride: Int?, max_answer_length: Int?
        let vocab_file: String?, vocab: String?, do_lower_case: Bool?, strip_accents: Bool?
        let tokenize_chinese_chars: Bool?, uses_token_type_ids: Bool?, bytes: Int64?, sha256: String?
        let inputs: [IO]?, outputs: [IO]?
    }

    public static func load(_ sidecar: URL) throws -> ModelSpec {
        let name = sidecar.lastPathComponent
        guard let data = try? Data(contentsOf: sidecar) else { throw QAError("model sidecar \(name) is missing") }
        let raw: Raw
        do {
            raw = try JSONDecoder().decode(Raw.self, from: data)
        } catch {
            throw QAError("model sidecar \(name) cannot be read: not the expected JSON object")
        }
        return try ModelSpec(sidecar: sidecar, raw: raw)
    }

    private init(sidecar: URL, raw: Raw) throws {
        let name = sidecar.lastPathComponent
        func need<T>(_ v: T?, _ key: String) throws -> T {
            guard let v else { throw QAError("model sidecar \(name) has no '\(key)'") }
            return v
        }
        self.sidecar = sidecar
        model = try need(raw.model, "model")
        format = try need(raw.format, "format")
        backend = raw.backend ?? format
        precision = try need(raw.precision, "precision")
        seqLen = try need(raw.seq_len, "seq_len")
        if let m = raw.max_seq_length, m != seqLen {
            throw QAError("model sidecar \(name) says seq_len \(seqLen) but max_seq_length \(m)")
        }
        maxQueryLength = raw.max_query_length ?? 64
        docStride = raw.doc_stride ?? 128
        maxAnswerLength = raw.max_answer_length ?? 30
        doLowerCase = raw.do_lower_case ?? true
        stripAccents = raw.strip_accents
        tokenizeChineseChars = raw.tokenize_chinese_chars ?? true
        inputs = try need(raw.inputs, "inputs").map(\.name)
        outputs = try need(raw.outputs, "outputs").map(\.name)
        tokenTypeIds = raw.uses_token_type_ids ?? inputs.contains("token_type_ids")
        if tokenTypeIds != inputs.contains("token_type_ids") {
            throw QAError("model sidecar \(name) says uses_token_type_ids=\(tokenTypeIds) but its inputs are \(inputs)")
        }
        if !inputs.contains("input_ids") || outputs.count != 2 {
            throw QAError("model sidecar \(name) must list input_ids among its inputs and exactly two outputs (start, end logits)")
        }
        let dir = sidecar.deletingLastPathComponent()
        file = dir.appendingPathComponent(try need(raw.file, "file"))
        vocabFile = dir.appendingPathComponent(try need(raw.vocab_file ?? raw.vocab, "vocab_file"))
        let fm = FileManager.default
        guard fm.fileExists(atPath: file.path) else {
            throw QAError("model file \(file.lastPathComponent) is missing (named in \(name))")
        }
        guard fm.fileExists(atPath: vocabFile.path) else {
            throw QAError("vocabulary \(vocabFile.lastPathComponent) is missing (named in \(name))")
        }
        let ext: String
        switch format {
        case "tflite": ext = ".tflite"
        case "executorch": ext = ".pte"
        case "onnx": ext = ".onnx"
        case "coreml": ext = file.lastPathComponent.hasSuffix(".mlmodelc") ? ".mlmodelc" : ".mlpackage"
        default: throw QAError("unknown model format '\(format)' in \(name)")
        }
        guard file.lastPathComponent.hasSuffix(ext) else {
            throw QAError("model file \(file.lastPathComponent) does not look like a \(format) model (expected \(ext))")
        }
        if let sha = raw.sha256, sha.count != 64 || !sha.allSatisfy({ "0123456789abcdef".contains($0) }) {
            throw QAError("model sidecar \(name) has a 'sha256' that is not 64 lowercase hex digits")
        }
        sha256 = raw.sha256
        bytes = Self.size(of: file)
        if let want = raw.bytes, want != bytes {
            throw QAError("model file \(file.lastPathComponent) has \(bytes) bytes but \(name) says \(want) (incomplete or different copy)")
        }
    }

    /// Every model sidecar in a folder; broken ones go to problems (one message each), not an error.
    public static func scan(_ dir: URL, problems: inout [String]) -> [ModelSpec] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else {
            problems.append("model folder \(dir.path) does not exist")
            return []
        }
        var out: [ModelSpec] = []
        for n in names.sorted() where n.hasSuffix(".json") && n != QuestionSet.fileName {
            do { out.append(try load(dir.appendingPathComponent(n))) } catch { problems.append("\(error)") }
        }
        return out
    }

    public func loadTokenizer() throws -> WordPieceTokenizer {
        try WordPieceTokenizer(vocabLines: try WordPieceTokenizer.readVocab(vocabFile), lowerCase: doLowerCase,
                               stripAccents: stripAccents, tokenizeChineseChars: tokenizeChineseChars)
    }

    public var featureConfig: Features.Config {
        Features.Config(maxSeqLength: seqLen, docStride: docStride, maxQueryLength: maxQueryLength, tokenTypeIds: tokenTypeIds)
    }

    /// Picker label, e.g. "student (D) · int8 · 384".
    public var label: String {
        let name = model == "student_d" ? "student (D)" : model
        return "\(name) · \(precision) · \(seqLen)" + (backend == format ? "" : " · \(backend)")
    }

    private static func size(of url: URL) -> Int64 {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: url.path, isDirectory: &isDir) else { return 0 }
        if !isDir.boolValue {
            return (try? fm.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.int64Value ?? 0
        }
        let kids = (try? fm.contentsOfDirectory(atPath: url.path)) ?? []
        return kids.reduce(0) { $0 + size(of: url.appendingPathComponent($1)) }
    }
}
