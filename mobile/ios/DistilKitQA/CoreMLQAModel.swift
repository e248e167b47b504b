import CoreML
import Foundation
import QACore

/// A Core ML (.mlpackage) QA model; compiled on first use and the compiled copy cached.
final class CoreMLQAModel: QAModel {
    private let spec: ModelSpec
    private let model: MLModel

    init(spec: ModelSpec) throws {
        self.spec = spec
        let config = MLModelConfiguration()
        config.computeUnits = .all
        let compiled = try Self.compiled(spec.file, bytes: spec.bytes)
        do {
            model = try MLModel(contentsOf: compiled, configuration: config)
        } catch {
            throw QAError("Core ML cannot load \(spec.file.lastPathComponent): \(error.localizedDescription)")
        }
        let names = Set(model.modelDescription.inputDescriptionsByName.keys)
        guard names == Set(spec.inputs) else {
            throw QAError("\(spec.file.lastPathComponent) takes inputs \(names.sorted()) but \(spec.sidecar.lastPathComponent) lists \(spec.inputs) (mismatched sidecar)")
        }
    }

    /// Compiled once per staged file: the cache name carries the size, so a restaged model recompiles.
    private static func compiled(_ package: URL, bytes: Int64) throws -> URL {
        if package.pathExtension == "mlmodelc" { return package }
        let cache = try FileManager.default.url(for: .cachesDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
            .appendingPathComponent("\(package.deletingPathExtension().lastPathComponent)-\(bytes).mlmodelc")
        if FileManager.default.fileExists(atPath: cache.path) { return cache }
        let tmp = try MLModel.compileModel(at: package)
        try FileManager.default.moveItem(at: tmp, to: cache)
        return cache
    }

    private func array(_ values: [Int32]) throws -> MLMultiArray {
        let a = try MLMultiArray(shape: [1, NSNumber(value: values.count)], dataType: .int32)
        for (i, v) in values.enumerated() { a[i] = NSNumber(value: v) }
        return a
    }

    func run(inputIds: [Int32], attentionMask: [Int32], tokenTypeIds: [Int32]?) throws -> (start: [Float], end: [Float]) {
        var features: [String: MLFeatureValue] = [
            "input_ids": MLFeatureValue(multiArray: try array(inputIds)),
            "attention_mask": MLFeatureValue(multiArray: try array(attentionMask)),
        ]
        if let tt = tokenTypeIds { features["token_type_ids"] = MLFeatureValue(multiArray: try array(tt)) }
        let out = try model.prediction(from: try MLDictionaryFeatureProvider(dictionary: features))
        func floats(_ name: String) throws -> [Float] {
            guard let a = out.featureValue(for: name)?.multiArrayValue else {
                throw QAError("\(spec.file.lastPathComponent) has no output '\(name)'")
            }
            return (0..<a.count).map { a[$0].floatValue }  // fp16 or fp32 models alike
        }
        return (try floats(spec.outputs[0]), try floats(spec.outputs[1]))
    }

    var runtime: String { "coreml" }
    var runtimeVersion: String { BenchmarkMode.osVersion }  // Core ML ships with the OS
}
