import Foundation
import Testing
import WireStateCapture
import WireStatePipeline
import WireStateReport
import WireStateTracker

/// Every capture in Captures/ that carries a kernel-truth file: wirestate's final states must equal
/// what `ss` said about both sockets when the recording ended.
@Suite struct KernelTruthTests {
    struct Truth: Decodable {
        struct Conn: Decodable {
            var client: String
            var server: String
            var client_state: String
            var server_state: String
            var incarnation: Int?
            /// The side played by a script (a TUN peer) has no kernel socket: no truth to compare.
            var scripted: String?
        }
        struct Expected: Decodable {
            var code: String
            var endpoint: String
        }
        var scenario: String
        var connections: [Conn]
        var expected_anomalies: [Expected]?
    }

    static let captures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Captures")

    static func truthFiles() -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: captures.path)) ?? []
        return names.filter { $0.hasSuffix(".truth.json") }.sorted().map { captures.appendingPathComponent($0) }
    }

    static func capturePath(for truth: URL) -> String {
        let base = truth.path.replacingOccurrences(of: ".truth.json", with: "")
        for ext in [".pcap", ".pcapng"] where FileManager.default.fileExists(atPath: base + ext) { return base + ext }
        return base + ".pcap"
    }

    /// Runs the same pipeline as `wirestate analyze`.
    static func analyze(_ path: String) throws -> (connections: [ConnectionSummary], anomalies: [Anomaly]) {
        var pipeline = Pipeline(sink: AnalysisCollector(keepTimeline: false))
        let file = try PcapFile(path: path)
        if let error = pipeline.run(file) { throw error }
        pipeline.finish()
        return (pipeline.sink.sortedConnections, pipeline.sink.anomalies.values.flatMap { $0 })
    }

    @Test func thereAreKernelTruthCaptures() {
        #expect(Self.truthFiles().count >= 9, "expected the recorded captures in \(Self.captures.path)")
    }

    @Test(arguments: truthFiles().map(\.lastPathComponent))
    func finalStatesMatchTheKernel(_ name: String) throws {
        let url = Self.captures.appendingPathComponent(name)
        let truth = try JSONDecoder().decode(Truth.self, from: Data(contentsOf: url))
        let (seen, anomalies) = try Self.analyze(Self.capturePath(for: url))
        for expected in truth.expected_anomalies ?? [] {
            #expect(
                anomalies.contains { $0.code.code == expected.code && $0.endpoint.name == expected.endpoint },
                "\(truth.scenario): expected anomaly \(expected.code) about the \(expected.endpoint) was not reported")
        }
        // What the recordings prove the kernel never did must not be called a violation.
        if truth.connections.allSatisfy({ $0.scripted == nil }) {
            let violations = anomalies.filter { $0.severity == .violation }.map { "\($0.code.code)@\($0.frame?.number ?? 0)" }
            #expect(violations.isEmpty, "\(truth.scenario): a real stack on both ends, yet violations \(violations)")
        }
        for expected in truth.connections {
            let matches = seen.filter {
                $0.client.description == expected.client && $0.server.description == expected.server
                    && (expected.incarnation == nil || Int($0.ref.incarnation) == expected.incarnation)
            }
            // The last incarnation on a tuple is the one the kernel's final view describes.
            guard let c = matches.last else {
                let saw = seen.map { "\($0.client) -> \($0.server)" }.joined(separator: ", ")
                Issue.record("\(truth.scenario): connection \(expected.client) -> \(expected.server) not found; saw \(saw)")
                continue
            }
            if expected.scripted != "client" {
                #expect(
                    c.clientState.name == expected.client_state,
                    "\(truth.scenario): client \(expected.client) is \(c.clientState.name), kernel says \(expected.client_state)")
            }
            if expected.scripted != "server" {
                #expect(
                    c.serverState.name == expected.server_state,
                    "\(truth.scenario): server \(expected.server) is \(c.serverState.name), kernel says \(expected.server_state)")
            }
        }
    }
}
