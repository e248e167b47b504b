// Signature stub of ExecuTorch's Swift package 1.5.0 (branch swiftpm-1.5.0) for type-checking the
// DistilKit app on Linux, from its sources extension/apple/ExecuTorch/Exported/ExecuTorchModule.h,
// ExecuTorch+Module.swift, ExecuTorch+Tensor.swift and ExecuTorch+Value.swift
// (https://github.com/pytorch/executorch, read at v1.4.1 and at main, where they are the same).
// Declares only what the app uses, with the overloads of the names it calls; no behaviour. Not shipped.
import Foundation

public protocol Scalar {
    func asNSNumber() -> NSNumber
}

extension Int32: Scalar {
    public func asNSNumber() -> NSNumber { NSNumber(value: self) }
}

extension Float: Scalar {
    public func asNSNumber() -> NSNumber { NSNumber(value: self) }
}

public enum ShapeDynamism {
    case `static`, dynamicBound, dynamicUnbound
}

public protocol ValueConvertible {
    func asValue() -> Value
}

public protocol ValueConstructible {
    static func from(_ value: Value) throws -> Self
}

public protocol ValueSequenceConstructible {
    static func from(_ values: [Value]) throws -> Self
}

/// ExecuTorchValue (NS_SWIFT_NAME(Value)).
public class Value {
    public func tensor<T: Scalar>() -> Tensor<T>? { fatalError("stub") }
}

extension Value: ValueConvertible, ValueConstructible, ValueSequenceConstructible {
    public func asValue() -> Value { self }
    public static func from(_ value: Value) throws -> Self { fatalError("stub") }
    public static func from(_ values: [Value]) throws -> Self { fatalError("stub") }
}

public final class Tensor<T: Scalar> {
    public init(_ scalars: [T], shape: [Int] = [], strides: [Int] = [], dimensionOrder: [Int] = [],
                shapeDynamism: ShapeDynamism = .dynamicBound) { fatalError("stub") }
    public func scalars() -> [T] { fatalError("stub") }
}

extension Tensor: ValueConvertible, ValueConstructible, ValueSequenceConstructible {
    public func asValue() -> Value { fatalError("stub") }
    public static func from(_ value: Value) throws -> Self { fatalError("stub") }
    public static func from(_ values: [Value]) throws -> Self { fatalError("stub") }
}

extension Array: ValueSequenceConstructible where Element: ValueConstructible {
    public static func from(_ values: [Value]) throws -> Self { fatalError("stub") }
}

/// ExecuTorchModule (NS_SWIFT_NAME(Module)).
public class Module {
    /// -initWithFilePath:
    public init(filePath: String) { fatalError("stub") }
    /// -loadMethod:error: (NS_SWIFT_NAME(load(_:))).
    public func load(_ methodName: String) throws { fatalError("stub") }

    public func forward(_ inputs: [ValueConvertible]) throws -> [Value] { fatalError("stub") }
    public func forward(_ inputs: ValueConvertible...) throws -> [Value] { fatalError("stub") }
    public func forward<Output: ValueSequenceConstructible>(_ inputs: [ValueConvertible]) throws -> Output { fatalError("stub") }
    public func forward<Output: ValueSequenceConstructible>(_ inputs: ValueConvertible...) throws -> Output { fatalError("stub") }
    public func forward<Output: ValueSequenceConstructible>(_ input: ValueConvertible) throws -> Output { fatalError("stub") }
}
