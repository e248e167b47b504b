import Foundation

/// A results file of kind "benchmark", source "device" (the schema the host benchmark shares).
public struct BenchmarkResults: Encodable {
    public struct Device: Codable, Equatable {
        public var name: String, os: String, soc: String, threads: Int
        public init(name: String, os: String, soc: String, threads: Int) {
            self.name = name; self.os = os; self.soc = soc; self.threads = threads
        }
    }

    public struct Scale: Codable, Equatable {
        public var preset: String, teacher: String, corpus: String, device: String
        public init(preset: String, teacher: String, corpus: String, device: String) {
            self.preset = preset; self.teacher = teacher; self.corpus = corpus; self.device = device
        }
    }

    /// What a runtime was given, kept beside its figures ("settings" of an entry; nil fields are left out).
    public struct Settings: Encodable, Equatable {
        public var threads: Int?, computeUnits: String?, accelerator: String?
        public init(threads: Int? = nil, computeUnits: String? = nil, accelerator: String? = nil) {
            self.threads = threads; self.computeUnits = computeUnits; self.accelerator = accelerator
        }
        public var isEmpty: Bool { self == Settings() }
        enum CodingKeys: String, CodingKey { case threads, computeUnits = "compute_units", accelerator }
    }

    public struct Entry: Encodable {
        public var runtime: String, runtimeVersion: String, model: String, precision: String
        public var seqLen: Int, loadMs: Double, stats: LatencyStats
        public var peakMemMb: Double?, fileBytes: Int64?
        public var settings = Settings()
        /// ms of the steps around the timed model call (tokenize, tensors, decode); empty: not measured.
        public var stagesMs: [String: Double] = [:]

        enum CodingKeys: String, CodingKey {
            case runtime, runtimeVersion = "runtime_version", model, precision, seqLen = "seq_len"
            case loadMs = "load_ms", stats, peakMemMb = "peak_mem_mb", fileBytes = "file_bytes", settings
            case stagesMs = "stages_ms"
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(runtime, forKey: .runtime)
            try c.encode(runtimeVersion, forKey: .runtimeVersion)
            try c.encode(model, forKey: .model)
            try c.encode(precision, forKey: .precision)
            try c.encode(seqLen, forKey: .seqLen)
            try c.encode(loadMs, forKey: .loadMs)
            try c.encode(stats, forKey: .stats)
            try c.encode(peakMemMb, forKey: .peakMemMb)  // null, not absent: the schema requires the key
            try c.encode(fileBytes, forKey: .fileBytes)
            if !settings.isEmpty { try c.encode(settings, forKey: .settings) }
            if !stagesMs.isEmpty { try c.encode(stagesMs, forKey: .stagesMs) }
        }
    }

    /// One model group's EM / F1 on the staged question set (AccuracyRunner), percent.
    public struct AccuracyEntry: Encodable, Equatable {
        public struct Length: Encodable, Equatable {
            public var seqLen: Int, exactMatch: Double, f1: Double
            /// Questions the app's window choice answers at this length.
            public var chosen: Int
            enum CodingKeys: String, CodingKey { case seqLen = "seq_len", exactMatch = "exact_match", f1, chosen }
        }
        public struct Score: Encodable, Equatable {
            public var exactMatch: Double, f1: Double
            enum CodingKeys: String, CodingKey { case exactMatch = "exact_match", f1 }
        }
        public var runtime: String, runtimeVersion: String, model: String, format: String, backend: String
        public var precision: String, lengths: [Length], windowChoice: Score
        enum CodingKeys: String, CodingKey {
            case runtime, runtimeVersion = "runtime_version", model, format, backend, precision, lengths
            case windowChoice = "window_choice"
        }
    }

    /// The results file's "accuracy" block.
    public struct Accuracy: Encodable, Equatable {
        public var questionSet: String, questions: Int, entries: [AccuracyEntry] = []
        enum CodingKeys: String, CodingKey { case questionSet = "question_set", questions, entries }
    }

    public var device: Device
    public var scale: Scale
    /// nil while no question set is answered.
    public private(set) var accuracy: Accuracy?
    public private(set) var entries: [Entry] = []
    /// Models that could not be timed: kept in the file ("failures") so a short table is explained.
    public private(set) var failures: [String] = []

    public init(device: Device, scale: Scale) {
        self.device = device
        self.scale = scale
    }

    public mutating func add(runtime: String, runtimeVersion: String, model: String, precision: String, seqLen: Int,
                             loadMs: Double, samplesMs: [Double], peakMemMb: Double?, fileBytes: Int64?,
                             settings: Settings = Settings(), stagesMs: [String: Double] = [:]) throws {
        entries.append(Entry(runtime: runtime, runtimeVersion: runtimeVersion, model: model, precision: precision,
                             seqLen: seqLen, loadMs: loadMs, stats: try LatencyStats(samplesMs: samplesMs),
                             peakMemMb: peakMemMb, fileBytes: fileBytes, settings: settings, stagesMs: stagesMs))
    }

    public mutating func fail(_ message: String) { failures.append(message) }

    /// The staged question set this run answers: the results file gains an "accuracy" block.
    public mutating func questionSet(_ name: String, questions: Int) {
        accuracy = Accuracy(questionSet: name, questions: questions)
    }

    public mutating func addAccuracy(_ entry: AccuracyEntry) throws {
        guard accuracy != nil else { throw QAError("accuracy entry without a question set") }
        accuracy!.entries.append(entry)
    }

    enum CodingKeys: String, CodingKey {
        case kind, schemaVersion = "schema_version", scale, source, device, entries, accuracy, failures
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode("benchmark", forKey: .kind)
        try c.encode(1, forKey: .schemaVersion)
        try c.encode(scale, forKey: .scale)
        try c.encode("device", forKey: .source)
        try c.encode(device, forKey: .device)
        try c.encode(entries, forKey: .entries)
        if let accuracy { try c.encode(accuracy, forKey: .accuracy) }
        if !failures.isEmpty { try c.encode(failures, forKey: .failures) }
    }

    public func jsonData() throws -> Data {
        guard !entries.isEmpty else {
            throw QAError("no benchmark entries: no model could be run" + (failures.isEmpty ? "" : ": \(failures)"))
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try enc.encode(self)
    }
}
