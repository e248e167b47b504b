import SwiftUI

/// Launched normally: the QA screen. Launched with `--benchmark` (xcrun devicectl device process
/// launch ... org.distilkit.qa --benchmark --run-id ID [--warmup 5] [--iters 20]): times every
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
                        guard let options = BenchmarkOptions(arguments: ProcessInfo.processInfo.arguments) else { return }
                        benchmarkStatus = "Benchmark running…"
                        let file = await Task.detached { BenchmarkMode.run(options) }.value
                        benchmarkStatus = "Benchmark finished: \(file.lastPathComponent)"
                    }
            }
        }
    }
}
