// swift-tools-version:5.9
// The QA logic of the iOS app (tokenizer, windows, span decoding, latency statistics, results
// file, sidecar checks). Foundation only, so `swift test` runs on Linux as well as on a Mac.
import PackageDescription

let package = Package(
    name: "QACore",
    platforms: [.iOS(.v17), .macOS(.v14)],
    products: [.library(name: "QACore", targets: ["QACore"])],
    targets: [
        .target(name: "QACore"),
        .testTarget(name: "QACoreTests", dependencies: ["QACore"]),
    ]
)
