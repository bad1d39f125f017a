// swift-tools-version:6.0
// libFuzzer harness for the pure core: random bytes → decoder (every link type) → tracker.
// Build and run (see README.md here):
//   swift build -c release --package-path Fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
//   Fuzz/.build/release/FuzzDecoderTracker -max_total_time=60 Fuzz/corpus
import PackageDescription

let package = Package(
    name: "WireStateFuzz",
    dependencies: [.package(name: "WireState", path: "..")],
    targets: [
        .executableTarget(
            name: "FuzzDecoderTracker",
            dependencies: [.product(name: "WireState", package: "WireState")]
        ),
        // A whole pcapng file per input: the pure block reader, then each packet decoded by its
        // interface's link type and tracked.
        .executableTarget(
            name: "FuzzPcapng",
            dependencies: [.product(name: "WireState", package: "WireState")]
        ),
    ]
)
