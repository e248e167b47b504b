import Foundation
import XCTest
@testable import QACore

/// The Core ML compile cache is keyed on the sidecar's checksum, not on name and size.
final class CompiledModelCacheTests: XCTestCase {
    var tmp: URL!
    var compiles = 0

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("qacore-cache-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        compiles = 0
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    let package = "student.coreml.fp32.384.mlpackage"

    /// A staged Core ML package (weights of 16 bytes of `fill`) and its sidecar with `sha256`.
    func stage(fill: UInt8, sha256: String?) throws -> ModelSpec {
        let dir = tmp.appendingPathComponent("Models")
        try? FileManager.default.removeItem(at: dir)
        let weights = dir.appendingPathComponent(package).appendingPathComponent("Data")
        try FileManager.default.createDirectory(at: weights, withIntermediateDirectories: true)
        try Data(repeating: fill, count: 16).write(to: weights.appendingPathComponent("weight.bin"))
        try FileManager.default.copyItem(at: Fixtures.dir.appendingPathComponent("vocab.txt"),
                                         to: dir.appendingPathComponent("student.vocab.txt"))
        var json = try String(contentsOf: Fixtures.dir.appendingPathComponent("sidecar_example.json"), encoding: .utf8)
            .replacingOccurrences(of: "\"format\": \"tflite\"", with: "\"format\": \"coreml\"")
            .replacingOccurrences(of: "\"backend\": \"tflite\"", with: "\"backend\": \"coreml\"")
            .replacingOccurrences(of: "student.tflite.fp32.384.tflite", with: package)
        let old = try XCTUnwrap(json.range(of: #""sha256": "[0-9a-f]{64}","#, options: .regularExpression))
        json.replaceSubrange(old, with: sha256.map { "\"sha256\": \"\($0)\"," } ?? "")
        let sidecar = dir.appendingPathComponent(package + ".json")
        try json.write(to: sidecar, atomically: true, encoding: .utf8)
        return try ModelSpec.load(sidecar)
    }

    /// Stands in for MLModel.compileModel(at:): a temporary .mlmodelc holding what it was compiled from.
    func compile(_ package: URL) async throws -> URL {
        compiles += 1
        let out = tmp.appendingPathComponent("tmp-\(UUID().uuidString).mlmodelc")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let weights = try Data(contentsOf: package.appendingPathComponent("Data/weight.bin"))
        try weights.write(to: out.appendingPathComponent("model.bin"))
        return out
    }

    func compiledWeights(_ url: URL) throws -> Data { try Data(contentsOf: url.appendingPathComponent("model.bin")) }

    func testSameChecksumCompilesOnceAndANewChecksumOfTheSameSizeRecompiles() async throws {
        let cache = CompiledModelCache(folder: tmp.appendingPathComponent("Caches"))
        let a = String(repeating: "a", count: 64), b = String(repeating: "b", count: 64)
        let student = try stage(fill: 1, sha256: a)
        XCTAssertEqual(student.sha256, a)
        let first = try await cache.prepare(student, compile: compile)
        try await cache.prepare(student, compile: compile)
        XCTAssertEqual(compiles, 1)
        XCTAssertEqual(try cache.compiled(student), first)

        let studentD = try stage(fill: 2, sha256: b)  // same name, same size, other weights
        XCTAssertEqual(studentD.bytes, student.bytes)
        let second = try await cache.prepare(studentD, compile: compile)
        XCTAssertEqual(compiles, 2)
        XCTAssertNotEqual(first, second)
        XCTAssertEqual(try compiledWeights(second), Data(repeating: 2, count: 16))
        XCTAssertFalse(FileManager.default.fileExists(atPath: first.path), "the stale copy is removed")
    }

    func testWithoutAChecksumEveryPrepareCompiles() async throws {
        let cache = CompiledModelCache(folder: tmp.appendingPathComponent("Caches"))
        let spec = try stage(fill: 3, sha256: nil)
        XCTAssertNil(spec.sha256)
        try await cache.prepare(spec, compile: compile)
        let url = try await cache.prepare(spec, compile: compile)
        XCTAssertEqual(compiles, 2)
        XCTAssertEqual(try compiledWeights(url), Data(repeating: 3, count: 16))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cache.folder.path).count, 1)
    }

    func testAnUncompiledModelIsAClearError() throws {
        let cache = CompiledModelCache(folder: tmp.appendingPathComponent("Caches"))
        let spec = try stage(fill: 4, sha256: String(repeating: "c", count: 64))
        XCTAssertThrowsError(try cache.compiled(spec)) { error in
            XCTAssertTrue("\(error)".contains(package), "\(error)")
        }
    }

    func testABadChecksumInTheSidecarIsRefused() throws {
        XCTAssertThrowsError(try stage(fill: 5, sha256: "ABC")) { error in
            XCTAssertTrue("\(error)".contains("sha256"), "\(error)")
        }
    }
}
