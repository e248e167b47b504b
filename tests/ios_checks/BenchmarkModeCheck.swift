// Runs the iOS app's BenchmarkMode on Linux (with the CoreML/ExecuTorch stub modules linked in, but
// no model staged): prints "ok" or the first failed check. Driven by tests/test_mobile_ios_build.py.
import Foundation

final class Switches: @unchecked Sendable {
    var seen: [Bool] = []
}

@main
struct BenchmarkModeCheck {
    static func check(_ ok: Bool, _ what: String) {
        if !ok {
            print("FAILED: \(what)")
            exit(1)
        }
    }

    static func main() async {
        let switches = Switches()
        let env = BenchmarkEnvironment(residentMb: { nil }, keepAwake: { switches.seen.append($0) })
        guard let options = BenchmarkOptions(arguments: ["--benchmark", "--run-id", "r1", "--iters", "3"]) else {
            return check(false, "--benchmark parsed")
        }
        check(options.runId == "r1" && options.iters == 3, "options \(options)")
        let folder = BenchmarkMode.outputFolder
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let stale = folder.appendingPathComponent("bench-r1.json")
        try? Data("{}".utf8).write(to: stale)
        let file = await BenchmarkMode.run(options, environment: env)
        check(switches.seen == [true, false], "idle timer off during the run, back on after: \(switches.seen)")
        check(file.lastPathComponent == "bench-r1.error.txt", "nothing staged: an error file, got \(file.lastPathComponent)")
        check(!FileManager.default.fileExists(atPath: stale.path), "an earlier run's results file is removed first")
        let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        check(text.contains("Models folder"), "the error says what is missing: \(text)")
        check(BenchmarkMode.claim("x") && !BenchmarkMode.claim("x"), "a run id is claimed once")
        print("ok")
    }
}
