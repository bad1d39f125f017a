// swift-tools-version:6.0
// WireState: per-endpoint RFC 9293 TCP state reconstruction from packet captures.
import PackageDescription

let package = Package(
    name: "WireState",
    products: [
        // Embeddable pieces: the pure decoder and tracker, the libpcap capture layer,
        // the shared pipeline and the reporters.
        .library(
            name: "WireState",
            targets: [
                "WireStateDecoder", "WireStateTracker", "WireStateCapture", "WireStatePipeline", "WireStateReport",
                "WireStateCheck", "WireStateDiagnose"
            ]
        ),
        .executable(name: "wirestate", targets: ["WireStateCLI"]),
        .executable(name: "wirestate-bench", targets: ["WireStateBenchmark"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
    ],
    targets: [
        // libpcap, found through pkg-config; Debian/Ubuntu ship it in libpcap-dev.
        .systemLibrary(
            name: "CPcap",
            pkgConfig: "libpcap",
            providers: [.apt(["libpcap-dev"])]
        ),
        // Pure: bytes in, decoded segments out. No I/O, no libpcap.
        .target(name: "WireStateDecoder"),
        // Pure: decoded segments in, state events out. No I/O.
        .target(name: "WireStateTracker", dependencies: ["WireStateDecoder"]),
        // gzip, zstd, xz and bzip2 behind a stdio stream (fopencookie), so libpcap reads compressed
        // captures directly; Debian: zlib1g-dev libzstd-dev liblzma-dev libbz2-dev.
        .target(
            name: "CDecompress",
            linkerSettings: [.linkedLibrary("z"), .linkedLibrary("zstd"), .linkedLibrary("lzma"), .linkedLibrary("bz2")]),
        // The only module that talks to libpcap.
        .target(name: "WireStateCapture", dependencies: ["CPcap", "CDecompress"]),
        // capture → decode → track, shared by every subcommand.
        .target(name: "WireStatePipeline", dependencies: ["WireStateCapture", "WireStateDecoder", "WireStateTracker"]),
        // Turns events and summaries into text / JSON Lines; writes to a sink it is given.
        .target(name: "WireStateReport", dependencies: ["WireStateTracker", "WireStateDecoder", "WireStatePipeline"]),
        // Expectation files and `wirestate check`: CI regression over captures.
        .target(
            name: "WireStateCheck",
            dependencies: ["WireStatePipeline", "WireStateReport", "WireStateTracker", "WireStateCapture"]),
        // `wirestate diagnose`: findings (codes, evidence, causes, next steps) from the tracker's events; no I/O.
        .target(name: "WireStateDiagnose", dependencies: ["WireStateTracker", "WireStateDecoder", "WireStatePipeline", "WireStateReport"]),
        .executableTarget(
            name: "WireStateCLI",
            dependencies: [
                "WireStatePipeline", "WireStateReport", "WireStateCapture", "WireStateCheck", "WireStateDiagnose",
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ]
        ),
        // `swift run -c release wirestate-bench`: throughput and memory figures, with baselines.
        .executableTarget(
            name: "WireStateBenchmark",
            dependencies: [
                "WireStateCapture", "WireStateDecoder", "WireStateTracker",
                "WireStatePipeline", "WireStateReport"
            ]),
        .testTarget(name: "WireStateDecoderTests", dependencies: ["WireStateDecoder", "WireStateCapture"]),
        .testTarget(name: "WireStateTrackerTests", dependencies: ["WireStateTracker", "WireStateDecoder"]),
        .testTarget(
            name: "WireStateEndToEndTests",
            dependencies: ["WireStatePipeline", "WireStateReport", "WireStateCapture", "WireStateTracker", "WireStateDecoder"]),
        .testTarget(
            name: "WireStateCheckTests",
            dependencies: ["WireStateCheck", "WireStatePipeline", "WireStateTracker", "WireStateReport"]),
        .testTarget(
            name: "WireStateDiagnoseTests",
            dependencies: ["WireStateDiagnose", "WireStatePipeline", "WireStateTracker", "WireStateDecoder", "WireStateReport"]),
        .testTarget(
            name: "WireStateLiveTests",
            dependencies: ["CPcap", "WireStateCapture", "WireStatePipeline", "WireStateReport", "WireStateTracker"])
    ]
)
