import Foundation
import Testing
import WireStateTracker
@testable import WireStateCheck

/// Evidence (observed/inferred/unknown) is a fact of its own in expectation files: `--update`
/// writes it, `check` compares it, and files written before it existed still parse and pass.
@Suite struct EvidenceExpectationTests {
    func capture(client: Evidence = .observed, server: Evidence = .inferred) throws -> SeenCapture {
        var c = sampleCapture()
        try #require(c.connections.count >= 2)
        for i in c.connections.indices { c.connections[i].clientEvidence = client; c.connections[i].serverEvidence = server }
        return c
    }

    @Test func updateWritesEvidenceAndCheckCompares() throws {
        let seen = try capture()
        let text = ExpectationWriter.updated(nil, seen: seen, captureName: "sample.pcap")
        #expect(text.contains("  evidence client=observed server=inferred\n"))
        #expect(Evaluator.evaluate(try ExpectationParser.parse(text, path: "s.expect"), seen).isEmpty)
        // The same file against a tracker that claims more than it knows: every connection mismatches.
        let claims = try capture(server: .observed)
        let m = Evaluator.evaluate(try ExpectationParser.parse(text, path: "s.expect"), claims)
        try #require(m.count == seen.connections.count)
        #expect(m[0].message.hasPrefix("server final state evidence: expected inferred, seen observed"))
    }

    @Test func oldFilesWithoutEvidenceStillPass() throws {
        let seen = try capture()
        let old = ExpectationWriter.updated(nil, seen: sampleCapture(), captureName: "sample.pcap")
        #expect(!old.contains("evidence "))
        #expect(Evaluator.evaluate(try ExpectationParser.parse(old, path: "s.expect"), seen).isEmpty)
    }

    @Test func patternsAndBadValues() throws {
        let seen = try capture()
        let text = ExpectationWriter.updated(nil, seen: seen, captureName: "sample.pcap")
            .replacingOccurrences(of: "evidence client=observed server=inferred", with: "evidence server=inferred|unknown")
        #expect(Evaluator.evaluate(try ExpectationParser.parse(text, path: "s.expect"), seen).isEmpty)
        let bad = text.replacingOccurrences(of: "evidence server=inferred|unknown", with: "evidence server=certain")
        #expect(throws: ExpectationSyntaxErrors.self) { try ExpectationParser.parse(bad, path: "s.expect") }
    }

    /// The real captures: every generated block records evidence, and a midstream pickup is never
    /// `observed` on both sides (its handshake was not seen).
    @Test func capturesRecordEvidence() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Captures")
        for f in try FileManager.default.contentsOfDirectory(atPath: dir.path) where f.hasSuffix(".expect") {
            let text = try String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8)
            let finals = text.components(separatedBy: "\n  final ").count - 1
            let evidence = text.components(separatedBy: "\n  evidence ").count - 1
            #expect(finals == evidence, "\(f): \(finals) final lines, \(evidence) evidence lines")
        }
        let mid = try String(contentsOf: dir.appendingPathComponent("midstream.expect"), encoding: .utf8)
        #expect(mid.contains("evidence client=inferred server=inferred"))
    }
}
