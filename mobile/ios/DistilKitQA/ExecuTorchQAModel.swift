import ExecuTorch
import Foundation
import QACore

/// The ExecuTorch package branch in the Xcode project is swiftpm-<this> (generate_xcodeproj.py);
/// tests/test_mobile_pins.py keeps both in step with the exporter's version in pyproject.toml.
let execuTorchVersion = "1.5.0"

/// An ExecuTorch (.pte) QA model; inputs in the order the sidecar lists them.
final class ExecuTorchQAModel: QAModel {
    private let spec: ModelSpec
    private let module: Module

    init(spec: ModelSpec) throws {
        self.spec = spec
        module = Module(filePath: spec.file.path)
        do {
            try module.load("forward")
        } catch {
            throw QAError("ExecuTorch cannot load \(spec.file.lastPathComponent): \(error.localizedDescription)")
        }
    }

    func run(inputIds: [Int32], attentionMask: [Int32], tokenTypeIds: [Int32]?) throws -> (start: [Float], end: [Float]) {
        try forward(try prepare(inputIds: inputIds, attentionMask: attentionMask, tokenTypeIds: tokenTypeIds))
    }

    /// The input tensors in the sidecar's order (timed apart from the model call).
    func prepare(inputIds: [Int32], attentionMask: [Int32], tokenTypeIds: [Int32]?) throws -> Any {
        let shape = [1, spec.seqLen]
        let inputs: [Tensor<Int32>] = try spec.inputs.map { name in
            switch name {
            case "input_ids": return Tensor<Int32>(inputIds, shape: shape)
            case "attention_mask": return Tensor<Int32>(attentionMask, shape: shape)
            case "token_type_ids":
                // Tensor's initialiser traps on a count that does not fill the shape: fail as an error instead.
                guard let tt = tokenTypeIds else {
                    throw QAError("\(spec.sidecar.lastPathComponent) lists token_type_ids but none were given")
                }
                return Tensor<Int32>(tt, shape: shape)
            default: throw QAError("\(spec.sidecar.lastPathComponent) lists an unknown input '\(name)'")
            }
        }
        return inputs
    }

    func forward(_ prepared: Any) throws -> (start: [Float], end: [Float]) {
        guard let inputs = prepared as? [Tensor<Int32>] else { throw QAError("forward got inputs that prepare did not make") }
        let outputs = try module.forward(inputs)
        guard outputs.count >= 2, let start: Tensor<Float> = outputs[0].tensor(), let end: Tensor<Float> = outputs[1].tensor() else {
            throw QAError("\(spec.file.lastPathComponent) did not return two float tensors")
        }
        return (start.scalars(), end.scalars())
    }

    var runtime: String { "executorch" }
    var runtimeVersion: String { execuTorchVersion }
}
