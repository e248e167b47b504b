/// Summary of timed iterations, the same definition as pipeline.fixtures.latency_stats.
public struct LatencyStats: Codable, Equatable {
    public let n: Int
    public let meanMs, medianMs, p90Ms, trimmedMeanMs, minMs, maxMs: Double

    enum CodingKeys: String, CodingKey {
        case n, meanMs = "mean_ms", medianMs = "median_ms", p90Ms = "p90_ms"
        case trimmedMeanMs = "trimmed_mean_ms", minMs = "min_ms", maxMs = "max_ms"
    }

    public init(samplesMs: [Double]) throws {
        guard !samplesMs.isEmpty else { throw QAError("no timed iterations") }
        let xs = samplesMs.sorted()
        n = xs.count
        // Linear interpolation between closest ranks (numpy's default).
        func quantile(_ q: Double) -> Double {
            let pos = q * Double(xs.count - 1)
            let lo = Int(pos.rounded(.down))
            let hi = min(lo + 1, xs.count - 1)
            return xs[lo] + (xs[hi] - xs[lo]) * (pos - Double(lo))
        }
        let cut = n / 10  // 10% trimmed at each end, so one stall cannot dominate
        let kept = xs[cut..<(n - cut)]
        meanMs = xs.reduce(0, +) / Double(n)
        medianMs = quantile(0.5)
        p90Ms = quantile(0.9)
        trimmedMeanMs = kept.reduce(0, +) / Double(kept.count)
        minMs = xs[0]
        maxMs = xs[n - 1]
    }
}
