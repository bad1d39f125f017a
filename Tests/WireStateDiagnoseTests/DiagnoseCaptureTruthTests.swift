import Foundation
import Testing
import WireStatePipeline
import WireStateReport
import WireStateTracker

/// The recordings in Captures/diagnose against the kernel's `ss` at capture time, as
/// KernelTruthTests holds the top-level ones: the tracker's final states must be the kernel's.
@Suite struct DiagnoseCaptureTruthTests {
    struct Truth: Decodable {
        struct Conn: Decodable { var client: String; var server: String; var client_state: String; var server_state: String }
        struct Expected: Decodable { var code: String; var endpoint: String }
        var scenario: String
        var connections: [Conn]
        var expected_anomalies: [Expected]?
    }

    static let folder = Diagnosis.repo.appendingPathComponent("Captures/diagnose")

    static func truthFiles() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".truth.json") }.sorted()
    }

    @Test func everyDiagnoseCaptureHasItsTruth() {
        #expect(Self.truthFiles().count == 12)
    }

    @Test(arguments: truthFiles())
    func finalStatesMatchTheKernel(_ name: String) throws {
        let truth = try JSONDecoder().decode(Truth.self, from: Data(contentsOf: Self.folder.appendingPathComponent(name)))
        var pipeline = Pipeline(sink: AnalysisCollector(keepTimeline: false))
        let path = Self.folder.appendingPathComponent(name.replacingOccurrences(of: ".truth.json", with: ".pcap")).path
        #expect(pipeline.runFile(path) == nil)
        pipeline.finish()
        let seen = pipeline.sink.sortedConnections
        let anomalies = pipeline.sink.anomalies.values.flatMap { $0 }
        for e in truth.expected_anomalies ?? [] {
            #expect(anomalies.contains { $0.code.code == e.code && $0.endpoint.name == e.endpoint }, "\(truth.scenario): no \(e.code)")
        }
        #expect(!anomalies.contains { $0.severity == .violation }, "\(truth.scenario): real stacks on both ends")
        #expect(seen.count == truth.connections.count)
        for e in truth.connections {
            let c = try #require(
                seen.last { $0.client.description == e.client && $0.server.description == e.server },
                "\(truth.scenario): \(e.client) -> \(e.server) not found")
            #expect(c.clientState.name == e.client_state, "\(truth.scenario): client \(e.client)")
            // A server whose SYNs never reached it, or were dropped by its full queue, holds no socket
            // for that client (`ss` lists only the listener: CLOSED in the truth); the tracker says
            // LISTEN, inferred: presumed listening, no connection state of its own.
            let server = c.serverState == .listen && c.serverEvidence == .inferred ? "CLOSED" : c.serverState.name
            #expect(server == e.server_state, "\(truth.scenario): server for \(e.client)")
        }
    }
}
