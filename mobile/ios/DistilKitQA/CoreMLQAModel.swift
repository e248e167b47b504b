import CoreML
import Foundation
import QACore

/// A Core ML (.mlpackage) QA model, compiled once per staged checksum (CompiledModelCache).
final class CoreMLQAModel: QAModel {
    private let spec: ModelSpec
    private let model: MLModel

    /// Core ML may place each layer on the CPU, GPU or Neural Engine; the results record this choice.
    static var computeUnits: MLComputeUnits { .all }
    static let computeUnitsName = "all"

    static var cache: CompiledModelCache {
        let caches = FileManager.default.urls(for: .cachesDirectory, in: .userDomainMask)[0]
        return CompiledModelCache(folder: caches.appendingPathComponent("distilkit-coreml", isDirectory: true))
    }

    /// Compiles the package unless a copy for its checksum is cached; call before init(spec:).
    static func prepare(_ spec: ModelSpec) async throws {
        try await cache.prepare(spec) { package in
            do {
                return try await MLModel.compileModel(at: package)
            } catch {
                throw QAError("Core ML cannot compile \(package.lastPathComponent): \(error.localizedDescription)")
            }
        }
    }

    init(spec: ModelSpec) throws {
        self.spec = spec
        let config = MLModelConfiguration()
        config.computeUnits = Self.computeUnits
        let compiled = try Self.cache.compiled(spec)
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

    private func array(_ values: [Int32]) throws -> MLMultiArray {
        let a = try MLMultiArray(shape: [1, NSNumber(value: values.count)], dataType: .int32)
        for (i, v) in values.enumerated() { a[i] = NSNumber(value: v) }
        return a
    }

    func run(inputIds: [Int32], attentionMask: [Int32], tokenTypeIds: [Int32]?) throws -> (start: [Float], end: [Float]) {
        try forward(try prepare(inputIds: inputIds, attentionMask: attentionMask, tokenTypeIds: tokenTypeIds))
    }

    /// The window as Core ML's input features (timed apart from the prediction).
    func prepare(inputIds: [Int32], attentionMask: [Int32], tokenTypeIds: [Int32]?) throws -> Any {
        var features: [String: MLFeatureValue] = [
            "input_ids": MLFeatureValue(multiArray: try array(inputIds)),
            "attention_mask": MLFeatureValue(multiArray: try array(attentionMask)),
        ]
        if let tt = tokenTypeIds { features["token_type_ids"] = MLFeatureValue(multiArray: try array(tt)) }
        return try MLDictionaryFeatureProvider(dictionary: features)
    }

    func forward(_ prepared: Any) throws -> (start: [Float], end: [Float]) {
        guard let features = prepared as? MLDictionaryFeatureProvider else {
            throw QAError("forward got inputs that prepare did not make")
        }
        let out = try model.prediction(from: features)
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
