import UIKit
import XCTest
@testable import DistilKitQA

/// The benchmark as an XCTest, for `xcodebuild test` (pipeline/devices/device_ios.py --xctest).
/// Settings come from the environment: xcodebuild passes TEST_RUNNER_DISTILKIT_* as DISTILKIT_*.
final class BenchmarkTests: XCTestCase {
    func testBenchmarkWritesResults() async throws {
        let env = ProcessInfo.processInfo.environment
        var args = ["--benchmark"]
        for (flag, key) in [("--run-id", "DISTILKIT_RUN_ID"), ("--warmup", "DISTILKIT_WARMUP"), ("--iters", "DISTILKIT_ITERS"),
                            ("--preset", "DISTILKIT_PRESET"), ("--teacher", "DISTILKIT_TEACHER"), ("--corpus", "DISTILKIT_CORPUS")] {
            if let v = env[key] { args += [flag, v] }
        }
        let options = try XCTUnwrap(BenchmarkOptions(arguments: args))
        let environment = AppleDevice.benchmarkEnvironment(keepAwake: DistilKitQAApp.keepAwake)
        let file = await BenchmarkMode.run(options, environment: environment)
        let attachment = XCTAttachment(contentsOfFile: file)
        attachment.lifetime = .keepAlways
        add(attachment)
        XCTAssertEqual(file.pathExtension, "json", (try? String(contentsOf: file, encoding: .utf8)) ?? "no results")
    }
}
