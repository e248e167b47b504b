import Foundation

/// Compiled copies of Core ML packages (.mlpackage -> .mlmodelc), one per model file, named by the
/// SHA-256 its staged sidecar records. Name and byte count cannot tell a re-staged model from the
/// old one (student and student (D) have identical sizes), a checksum can; the copy of an older
/// checksum is removed when the new one is made. Without a checksum the model is compiled every time.
public struct CompiledModelCache {
    public let folder: URL

    public init(folder: URL) { self.folder = folder }

    /// Where the compiled copy of spec's model lives (an already compiled .mlmodelc stays where it is).
    public func location(for spec: ModelSpec) -> URL {
        if spec.file.pathExtension == "mlmodelc" { return spec.file }
        return folder.appendingPathComponent("\(Self.stem(spec))-\(Self.key(spec.sha256)).mlmodelc", isDirectory: true)
    }

    /// The compiled copy: the cached one for this checksum, else what `compile` returns (a temporary
    /// .mlmodelc, as MLModel.compileModel(at:) gives), moved into the cache.
    @discardableResult
    public func prepare(_ spec: ModelSpec, compile: (URL) async throws -> URL) async throws -> URL {
        let target = location(for: spec)
        if target == spec.file { return target }
        let fm = FileManager.default
        if spec.sha256 != nil, fm.fileExists(atPath: target.path) { return target }
        try fm.createDirectory(at: folder, withIntermediateDirectories: true)
        let fresh = try await compile(spec.file)
        removeCopies(of: spec)
        try fm.moveItem(at: fresh, to: target)
        return target
    }

    /// The copy prepare(_:compile:) made; an error naming the model when there is none.
    public func compiled(_ spec: ModelSpec) throws -> URL {
        let target = location(for: spec)
        guard FileManager.default.fileExists(atPath: target.path) else {
            throw QAError("\(spec.file.lastPathComponent) has not been compiled for this device yet")
        }
        return target
    }

    /// Every cached copy of spec's model, whatever its key: stale checksums and unverified copies.
    private func removeCopies(of spec: ModelSpec) {
        let fm = FileManager.default
        let prefix = Self.stem(spec) + "-", suffix = ".mlmodelc"
        for name in (try? fm.contentsOfDirectory(atPath: folder.path)) ?? []
        where name.hasPrefix(prefix) && name.hasSuffix(suffix) {
            let key = name.dropFirst(prefix.count).dropLast(suffix.count)
            if key == "unverified" || (key.count == 16 && key.allSatisfy({ "0123456789abcdef".contains($0) })) {
                try? fm.removeItem(at: folder.appendingPathComponent(name))
            }
        }
    }

    private static func stem(_ spec: ModelSpec) -> String { spec.file.deletingPathExtension().lastPathComponent }

    private static func key(_ sha256: String?) -> String { sha256.map { String($0.prefix(16)) } ?? "unverified" }
}
