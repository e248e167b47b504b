import SwiftUI
import UIKit

/// Launched normally: the QA screen. Launched with `--benchmark` (xcrun devicectl device process
/// launch ... -- <bundle id> --benchmark --run-id ID [--warmup 5] [--iters 20]): times every
/// bundled model and writes Documents/distilkit/bench-ID.json.
@main
struct DistilKitQAApp: App {
    @State private var benchmarkStatus: String?

    var body: some Scene {
        WindowGroup {
            if let status = benchmarkStatus {
                Text(status).padding()
            } else {
                ContentView()
                    .task {
                        guard let options = BenchmarkOptions(arguments: ProcessInfo.processInfo.arguments),
                              BenchmarkMode.claim(options.runId) else { return }
                        benchmarkStatus = "Benchmark running…"
                        let environment = AppleDevice.benchmarkEnvironment(keepAwake: Self.keepAwake)
                        let file = await Task.detached { await BenchmarkMode.run(options, environment: environment) }.value
                        benchmarkStatus = "Benchmark finished: \(file.lastPathComponent)"
                    }
            }
        }
    }

    /// The idle timer would lock the screen during a long run, and iOS suspends a locked app.
    static func keepAwake(_ on: Bool) async {
        await MainActor.run { UIApplication.shared.isIdleTimerDisabled = on }
    }
}
