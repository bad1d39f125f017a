// swift-tools-version:6.0
// libFuzzer targets, one per parser plus the whole pipeline (Fuzz/README.md). Build and run all:
//   scripts/fuzz.sh SECONDS [TARGET...]
// or by hand:
//   swift build -c release --package-path Fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
//   Fuzz/.build/release/FuzzDecoder -max_total_time=60 Fuzz/corpus/FuzzDecoder
import PackageDescription

let wirestate = Target.Dependency.product(name: "WireState", package: "WireState")

let package = Package(
    name: "WireStateFuzz",
    dependencies: [.package(name: "WireState", path: "..")],
    targets: [
        // The libFuzzer driver glue, the discarding sink, and the frame-script input format.
        .target(name: "FuzzSupport", dependencies: [wirestate]),
        .executableTarget(name: "FuzzDecoder", dependencies: ["FuzzSupport", wirestate]),
        .executableTarget(name: "FuzzTracker", dependencies: ["FuzzSupport", wirestate]),
        .executableTarget(name: "FuzzCaptureFile", dependencies: ["FuzzSupport", wirestate]),
        .executableTarget(name: "FuzzReporters", dependencies: ["FuzzSupport", wirestate]),
        .executableTarget(name: "FuzzExpectations", dependencies: ["FuzzSupport", wirestate]),
        // A whole pcapng file per input: the pure block reader, then each packet decoded by its
        // interface's link type and tracked.
        .executableTarget(name: "FuzzPcapng", dependencies: ["FuzzSupport", wirestate])
    ]
)
