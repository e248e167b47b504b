import Foundation
import QACore

/// The two runtimes behind one protocol (QAModel): which bundled files each opens, and how.
enum Backend: String, CaseIterable, Identifiable {
    case coreML = "Core ML"
    case execuTorch = "ExecuTorch"

    var id: String { rawValue }

    var format: String { self == .coreML ? "coreml" : "executorch" }

    func usable(_ specs: [ModelSpec]) -> [ModelSpec] { specs.filter { $0.format == format } }

    /// Work before a model can be opened that the benchmark does not time (compiling a Core ML package).
    func prepare(_ spec: ModelSpec) async throws {
        if self == .coreML { try await CoreMLQAModel.prepare(spec) }
    }

    /// What this runtime is given, recorded with every entry it times. ExecuTorch's default threadpool has one
    /// thread per performance core (extension/threadpool/threadpool.cpp); Core ML chooses its own units.
    func settings(performanceCores: Int?) -> BenchmarkResults.Settings {
        self == .coreML ? .init(computeUnits: CoreMLQAModel.computeUnitsName)
            : .init(threads: performanceCores, accelerator: "xnnpack (cpu)")
    }

    func open(_ spec: ModelSpec) throws -> QAModel {
        guard spec.format == format else {
            throw QAError("\(spec.file.lastPathComponent) is a \(spec.format) model; \(rawValue) needs \(format)")
        }
        return self == .coreML ? try CoreMLQAModel(spec: spec) : try ExecuTorchQAModel(spec: spec)
    }
}

/// The models staged into the app bundle's Models folder by `build_all.py --stages apps`.
enum ModelStore {
    static var folder: URL? { Bundle.main.url(forResource: "Models", withExtension: nil) }

    static func load(problems: inout [String]) -> [ModelSpec] {
        guard let dir = folder else {
            problems.append("the app bundle has no Models folder; run: python pipeline/build_all.py --stages apps")
            return []
        }
        return ModelSpec.scan(dir, problems: &problems)
    }

    /// The question set staged beside the models, or nil when none was staged.
    static func questions() throws -> QuestionSet? {
        try folder.flatMap { try QuestionSet.find(in: $0) }
    }
}
