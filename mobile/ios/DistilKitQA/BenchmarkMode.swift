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

/// Times every bundled model on every runtime that opens it; writes Documents/distilkit/bench-ID.json
/// (or bench-ID.error.txt when nothing could be run). Returns the file written.
enum BenchmarkMode {
    static let question = "Where does the river flow?"
    static let passage = String(repeating: "The river rises in the mountains and flows past the old town to the sea. ", count: 40)

    static var outputFolder: URL {
        FileManager.default.urls(for: .documentDirectory, in: .userDomainMask)[0].appendingPathComponent("distilkit")
    }

    static func run(_ o: BenchmarkOptions) -> URL {
        try? FileManager.default.createDirectory(at: outputFolder, withIntermediateDirectories: true)
        var problems: [String] = []
        let specs = ModelStore.load(problems: &problems)
        let name = deviceModel()
        var results = BenchmarkResults(
            device: .init(name: name, os: osVersion, soc: name, threads: 0),
            scale: .init(preset: o.preset, teacher: o.teacher, corpus: o.corpus, device: name))
        let runner = BenchmarkRunner(warmup: o.warmup, iters: o.iters)
        for backend in Backend.allCases {
            for spec in backend.usable(specs) {
                do {
                    try runner.run(spec: spec, load: backend.open, question: question, context: passage,
                                   residentMb: footprintMb, into: &results)
                } catch {
                    problems.append("\(spec.file.lastPathComponent) on \(backend.rawValue): \(error)")
                }
            }
        }
        for p in problems { results.fail(p) }
        do {
            let file = outputFolder.appendingPathComponent("bench-\(o.runId).json")
            try results.jsonData().write(to: file, options: .atomic)
            return file
        } catch {
            let file = outputFolder.appendingPathComponent("bench-\(o.runId).error.txt")
            try? ("\(error)\n" + problems.joined(separator: "\n")).write(to: file, atomically: true, encoding: .utf8)
            return file
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

    /// The app's current physical footprint (what iOS counts against its memory limit).
    static func footprintMb() -> Double? {
        var info = task_vm_info_data_t()
        var count = mach_msg_type_number_t(MemoryLayout<task_vm_info_data_t>.size / MemoryLayout<natural_t>.size)
        let kr = withUnsafeMutablePointer(to: &info) {
            $0.withMemoryRebound(to: integer_t.self, capacity: Int(count)) {
                task_info(mach_task_self_, task_flavor_t(TASK_VM_INFO), $0, &count)
            }
        }
        return kr == KERN_SUCCESS ? Double(info.phys_footprint) / 1_048_576 : nil
    }
}
