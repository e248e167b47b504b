// Signature stub of Apple's Core ML (iOS 17 SDK) for type-checking the DistilKit app on Linux, from
// the published reference https://developer.apple.com/documentation/coreml (MLModel, MLModelConfiguration,
// MLMultiArray, MLFeatureValue, MLDictionaryFeatureProvider). Declares only what the app uses, with the
// overloads of the names it calls; no behaviour. Not shipped.
import Foundation

public enum MLComputeUnits: Int {
    case cpuOnly = 0, cpuAndGPU = 1, all = 2, cpuAndNeuralEngine = 3
}

public class MLModelConfiguration {
    public init() {}
    public var computeUnits: MLComputeUnits = .all
}

public class MLFeatureDescription {}

public class MLModelDescription {
    public var inputDescriptionsByName: [String: MLFeatureDescription] { fatalError("stub") }
}

public protocol MLFeatureProvider {
    var featureNames: Set<String> { get }
    func featureValue(for featureName: String) -> MLFeatureValue?
}

public class MLDictionaryFeatureProvider: MLFeatureProvider {
    public init(dictionary: [String: Any]) throws { fatalError("stub") }
    public var featureNames: Set<String> { fatalError("stub") }
    public func featureValue(for featureName: String) -> MLFeatureValue? { fatalError("stub") }
}

public enum MLMultiArrayDataType: Int {
    case int32 = 131104
}

public class MLMultiArray {
    public init(shape: [NSNumber], dataType: MLMultiArrayDataType) throws { fatalError("stub") }
    public var count: Int { fatalError("stub") }
    public subscript(index: Int) -> NSNumber {
        get { fatalError("stub") }
        set { fatalError("stub") }
    }
}

public class MLFeatureValue {
    public init(multiArray: MLMultiArray) { fatalError("stub") }
    public var multiArrayValue: MLMultiArray? { fatalError("stub") }
}

public class MLPredictionOptions {
    public init() {}
}

public class MLModel {
    public init(contentsOf url: URL, configuration: MLModelConfiguration) throws { fatalError("stub") }
    public var modelDescription: MLModelDescription { fatalError("stub") }
    public func prediction(from input: MLFeatureProvider) throws -> MLFeatureProvider { fatalError("stub") }
    /// iOS 17+.
    public func prediction(from input: MLFeatureProvider, options: MLPredictionOptions = MLPredictionOptions()) async throws
        -> MLFeatureProvider { fatalError("stub") }
    /// iOS 16+.
    public class func compileModel(at url: URL) async throws -> URL { fatalError("stub") }
    /// Deprecated in favour of the asynchronous compileModel(at:) (documented availability iOS 11.0-27.0).
    @available(*, deprecated, message: "use the asynchronous compileModel(at:)")
    public class func compileModel(at modelURL: URL) throws -> URL { fatalError("stub") }
}
