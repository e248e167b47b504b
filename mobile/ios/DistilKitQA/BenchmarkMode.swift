import Foundation
import QACore

/// Benchmark settings from launch arguments (or from the XCTest's environment).
struct BenchmarkOptions {
    var runId = "latest", warmup = 5, iters = 20
    var preset = "unknown", teacher = "unknown", corpus = "unknown"

    /// nil unless `--benchmark` is among the arguments.
    init?(arguments: [String]) {
        guard arguments.contains("--benchmark") else { return nil }
        func value(_ flag: String) -> String? {
            guard let i = arguments.firstIndex(of: flag), i + 1 < arguments.count else { return nil }
            return arguments[i + 1]
        }
        runId = value("--run-id") ?? runId
        warmup = value("--warmup").flatMap(Int.init) ?? warmup
        iters = value("--iters").flatMap(Int.init) ?? iters
        preset = value("--preset") ?? preset
        teacher = value("--teacher") ?? teacher
        corpus = value("--corpus") ?? corpus
    }
}

/// What the benchmark needs from the platform, passed in so that this file needs neither UIKit
/// nor Mach (AppleDevice.swift and the app supply them on the phone).
struct BenchmarkEnvironment {
    /// The app's current memory in MB (nil if unknown).
    var residentMb: () -> Double?
    /// true while the benchmark runs: a long run must not stall when the screen would lock.
    var keepAwake: (Bool) async -> Void
    /// Performance cores (nil if unknown): the size of ExecuTorch's default threadpool.
    var performanceCores: () -> Int? = { nil }
}

/// Times every bundled model on every runtime that opens it, then answers the staged question set with each;
/// writes Documents/distilkit/bench-ID.json (or bench-ID.error.txt when nothing could be run). Returns the file written.
enum BenchmarkMode {
    static let question = "Where does the river flow?"
    static let passage = String(repeating: "The river rises in the mountains and flows past the old town to the sea. ", count: 40)

    private static let lock = NSLock()
    // Guarded by lock, which Swift 6's checker cannot see: hence nonisolated(unsafe).
    private nonisolated(unsafe) static var claimed: Set<String> = []

    /// True only the first time a run id is claimed in this process: a view that SwiftUI builds
    /// again must not start a second benchmark beside the first.
    static func claim(_ runId: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return claimed.insert(runId).inserted
    }

    static var outputFolder: URL {
        FileManager.default.urls(for: .documentDirectory, in: .userDomainMask)[0].appendingPathComponent("distilkit")
    }

    static func run(_ o: BenchmarkOptions, environment env: BenchmarkEnvironment) async -> URL {
        await env.keepAwake(true)
        let file = await timeAll(o, env)
        await env.keepAwake(false)
        return file
    }

    private static func timeAll(_ o: BenchmarkOptions, _ env: BenchmarkEnvironment) async -> URL {
        let fm = FileManager.default
        let json = outputFolder.appendingPathComponent("bench-\(o.runId).json")
        let errorFile = outputFolder.appendingPathComponent("bench-\(o.runId).error.txt")
        try? fm.createDirectory(at: outputFolder, withIntermediateDirectories: true)
        // A file left by an earlier run with the same id must not be taken for this run's.
        for old in [json, errorFile] { try? fm.removeItem(at: old) }
        var problems: [String] = []
        let specs = ModelStore.load(problems: &problems)
        let name = deviceModel()
        let cores = env.performanceCores()
        // device.threads: ExecuTorch's threads; Core ML's entries say compute_units instead (schema: 0 = the runtime's).
        var results = BenchmarkResults(
            device: .init(name: name, os: osVersion, soc: name, threads: cores ?? 0),
            scale: .init(preset: o.preset, teacher: o.teacher, corpus: o.corpus, device: name))
        let runner = BenchmarkRunner(warmup: o.warmup, iters: o.iters)
        for backend in Backend.allCases {
            for spec in backend.usable(specs) {
                do {
                    // Compiling a Core ML package is not loading it: done before the clock starts.
                    try await backend.prepare(spec)
                    try runner.run(spec: spec, load: backend.open, question: question, context: passage,
                                   residentMb: env.residentMb, settings: backend.settings(performanceCores: cores),
                                   into: &results)
                } catch {
                    problems.append("\(spec.file.lastPathComponent) on \(backend.rawValue): \(error)")
                }
            }
        }
        await answer(specs, &results, &problems)
        for p in problems { results.fail(p) }
        do {
            try results.jsonData().write(to: json, options: .atomic)
            return json
        } catch {
            try? ("\(error)\n" + problems.joined(separator: "\n")).write(to: errorFile, atomically: true, encoding: .utf8)
            return errorFile
        }
    }

    /// Answers the staged question set with every model group on every runtime (AccuracyRunner, EM / F1 in the
    /// results' accuracy block); a failure is one problem line.
    private static func answer(_ specs: [ModelSpec], _ results: inout BenchmarkResults, _ problems: inout [String]) async {
        let set: QuestionSet?
        do { set = try ModelStore.questions() } catch {
            problems.append("accuracy not measured: \(error)")
            return
        }
        guard let set else { return }
        results.questionSet(set.name, questions: set.questions.count)
        for backend in Backend.allCases {
            for group in WindowChoice.group(backend.usable(specs)) {
                do {
                    for spec in group.lengths { try await backend.prepare(spec) }
                    try AccuracyRunner().run(group: group, load: backend.open, questions: set, into: &results)
                } catch {
                    problems.append("accuracy of \(group.label) on \(backend.rawValue): \(error)")
                }
            }
        }
    }

    /// e.g. "iOS 17.5.1"; ProcessInfo, unlike UIDevice, may be read off the main thread.
    static var osVersion: String {
        let v = ProcessInfo.processInfo.operatingSystemVersion
        return "iOS \(v.majorVersion).\(v.minorVersion).\(v.patchVersion)"
    }

    /// Hardware identifier, e.g. "iPhone15,2" (the SoC follows from it; iOS does not name it).
    static func deviceModel() -> String {
        var info = utsname()
        uname(&info)
        return withUnsafeBytes(of: &info.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
