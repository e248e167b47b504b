import Foundation
import XCTest
@testable import QACore

/// Each entry keeps what its runtime was given (Core ML's compute units, ExecuTorch's threads).
final class BenchmarkSettingsTests: XCTestCase {
    func testSettingsAreWrittenBesideTheFiguresAndLeftOutWhenEmpty() throws {
        var results = BenchmarkResults(device: .init(name: "iPhone15,2", os: "iOS 17.5", soc: "iPhone15,2", threads: 2),
                                       scale: .init(preset: "demo", teacher: "t", corpus: "c", device: "iPhone15,2"))
        try results.add(runtime: "coreml", runtimeVersion: "iOS 17.5", model: "student", precision: "fp16", seqLen: 128,
                        loadMs: 1, samplesMs: [2, 3], peakMemMb: nil, fileBytes: 10,
                        settings: .init(computeUnits: "all"))
        try results.add(runtime: "executorch", runtimeVersion: "1.5.0", model: "student", precision: "int8", seqLen: 384,
                        loadMs: 1, samplesMs: [2, 3], peakMemMb: nil, fileBytes: 10,
                        settings: .init(threads: 2, accelerator: "xnnpack (cpu)"))
        try results.add(runtime: "fake", runtimeVersion: "0", model: "student", precision: "fp32", seqLen: 384,
                        loadMs: 1, samplesMs: [2, 3], peakMemMb: nil, fileBytes: 10)
        let json = try JSONSerialization.jsonObject(with: try results.jsonData()) as! [String: Any]
        let entries = json["entries"] as! [[String: Any]]
        XCTAssertEqual(entries[0]["settings"] as? [String: String], ["compute_units": "all"])
        let et = entries[1]["settings"] as! [String: Any]
        XCTAssertEqual(et["threads"] as? Int, 2)
        XCTAssertEqual(et["accelerator"] as? String, "xnnpack (cpu)")
        XCTAssertNil(entries[2]["settings"])
    }
}
