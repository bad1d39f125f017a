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
        }
        var scenario: String
        var connections: [Conn]
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
    static func analyze(_ path: String) throws -> [ConnectionSummary] {
        var pipeline = Pipeline(sink: AnalysisCollector(keepTimeline: false))
        let file = try PcapFile(path: path)
        if let error = pipeline.run(file) { throw error }
        pipeline.finish()
        return pipeline.sink.sortedConnections
    }

    @Test func thereAreKernelTruthCaptures() {
        #expect(Self.truthFiles().count >= 9, "expected the recorded captures in \(Self.captures.path)")
    }

    @Test(arguments: truthFiles().map(\.lastPathComponent))
    func finalStatesMatchTheKernel(_ name: String) throws {
        let url = Self.captures.appendingPathComponent(name)
        let truth = try JSONDecoder().decode(Truth.self, from: Data(contentsOf: url))
        let seen = try Self.analyze(Self.capturePath(for: url))
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
            #expect(c.clientState.name == expected.client_state,
                    "\(truth.scenario): client \(expected.client) is \(c.clientState.name), kernel says \(expected.client_state)")
            #expect(c.serverState.name == expected.server_state,
                    "\(truth.scenario): server \(expected.server) is \(c.serverState.name), kernel says \(expected.server_state)")
        }
    }
}
