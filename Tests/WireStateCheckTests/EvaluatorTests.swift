import Testing
import WireStateTracker
@testable import WireStateCheck

@Suite struct EvaluatorTests {
    /// The expectation text for the sample capture, as --update writes it.
    func generated() -> String { ExpectationWriter.updated(nil, seen: sampleCapture(), captureName: "sample.pcap") }

    func evaluate(_ text: String) throws -> [Mismatch] {
        Evaluator.evaluate(try ExpectationParser.parse(text, path: "sample.expect"), sampleCapture())
    }

    func lineNumber(of fragment: String, in text: String) -> Int {
        text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains(fragment) }! + 1
    }

    @Test func generatedExpectationsMatch() throws {
        #expect(try evaluate(generated()).isEmpty)
    }

    @Test func changedFinalStateNamesConnectionExpectedSeenAndFrame() throws {
        let text = generated().replacingOccurrences(
            of: "final client=FIN_WAIT_2 server=CLOSE_WAIT",
            with: "final client=FIN_WAIT_2 server=CLOSED")
        let m = try evaluate(text)
        try #require(m.count == 1)
        #expect(
            m[0].text(capture: "Captures/sample.pcap") == "Captures/sample.pcap: connection 2 "
                + "(10.0.0.1:40001 -> 10.0.0.2:8080): server final state: expected CLOSED, seen CLOSE_WAIT (frame 15)")
        #expect(m[0].line == lineNumber(of: "final client=FIN_WAIT_2 server=CLOSED", in: text))
        #expect(m[0].frame == 15)
    }

    @Test func changedTransitionShowsFirstDifferenceAndBothSequences() throws {
        let text = generated().replacingOccurrences(
            of: "SYN_SENT>ESTABLISHED@19 ESTABLISHED>CLOSED@24",
            with: "SYN_SENT>ESTABLISHED@19 ESTABLISHED>FIN_WAIT_1@24")
        let m = try evaluate(text)
        try #require(m.count == 1)
        #expect(m[0].message == "client transition 3: expected ESTABLISHED>FIN_WAIT_1@24, seen ESTABLISHED>CLOSED@24 (frame 24)")
        #expect(
            m[0].detail == [
                "expected: client CLOSED>SYN_SENT@18 SYN_SENT>ESTABLISHED@19 ESTABLISHED>FIN_WAIT_1@24",
                "seen:     client CLOSED>SYN_SENT@18 SYN_SENT>ESTABLISHED@19 ESTABLISHED>CLOSED@24"
            ])
    }

    @Test func shorterAndLongerSequences() throws {
        let longer = generated().replacingOccurrences(
            of: "FIN_WAIT_1>FIN_WAIT_2@16",
            with: "FIN_WAIT_1>FIN_WAIT_2@16 FIN_WAIT_2>TIME_WAIT@17")
        let m1 = try evaluate(longer)
        try #require(m1.count == 1)
        #expect(m1[0].message.hasPrefix("client transition 5: expected FIN_WAIT_2>TIME_WAIT@17, seen none"))
        let shorter = generated().replacingOccurrences(of: " FIN_WAIT_1>FIN_WAIT_2@16", with: "")
        let m2 = try evaluate(shorter)
        try #require(m2.count == 1)
        #expect(m2[0].message == "client transition 4: expected none, seen FIN_WAIT_1>FIN_WAIT_2@16 (frame 16)")
    }

    @Test func anomaliesMissingNewAndMoved() throws {
        let base = generated()
        let moved = try evaluate(base.replacingOccurrences(of: "anomaly retransmission@22", with: "anomaly retransmission@21"))
        try #require(moved.count == 1)
        #expect(moved[0].message.hasPrefix("anomaly retransmission: expected retransmission@21, seen retransmission@22"))
        #expect(moved[0].frame == 22)

        let missing = try evaluate(base.replacingOccurrences(of: "  anomaly data-after-fin@23", with: "  # removed"))
        try #require(missing.count == 1)
        #expect(missing[0].message.hasPrefix("anomaly: expected none, seen data-after-fin@23 (violation, server:"))

        let extra = base.replacingOccurrences(of: "  anomaly data-after-fin@23", with: "  anomaly refused@5\n  anomaly data-after-fin@23")
        let m = try evaluate(extra)
        #expect(m.map(\.message) == ["anomaly: expected refused@5, seen none"])

        let anyFrame = try evaluate(base.replacingOccurrences(of: "anomaly retransmission@22", with: "anomaly retransmission"))
        #expect(anyFrame.isEmpty)
    }

    @Test func connectionsMissingAndUnexpected() throws {
        // Drop connection 2's block (header, final, client, server): it is reported as unexpected.
        var lines = generated().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = lines.firstIndex { $0.hasPrefix("connection 2 ") }!
        lines.removeSubrange(start..<(start + 4))
        let text = lines.joined(separator: "\n")
        let m = try evaluate(text)
        try #require(m.count == 1)
        #expect(m[0].connection == "connection 2 (10.0.0.1:40001 -> 10.0.0.2:8080)")
        #expect(
            m[0].message == "expected no such connection, seen one in frames 11-17 ending "
                + "client=FIN_WAIT_2 server=CLOSE_WAIT (frame 11)")
        #expect(m[0].line == lineNumber(of: "connections 3", in: text))

        // And a wrong count is reported on its own line.
        let count = try evaluate(generated().replacingOccurrences(of: "connections 3", with: "connections 4"))
        #expect(count.map(\.message) == ["connections: expected 4, seen 3"])

        // Pinned ports (`--pin-ports`) match exactly: another client port is another connection.
        let pinned = ExpectationWriter.updated(nil, seen: sampleCapture(), captureName: "sample.pcap", pinPorts: true)
        #expect(try evaluate(pinned).isEmpty)
        let renamed = pinned.replacingOccurrences(of: "10.0.0.1:40001", with: "10.0.0.1:40999")
        let r = try evaluate(renamed)
        #expect(
            r.contains {
                $0.connection == "connection 2 (10.0.0.1:40999 -> 10.0.0.2:8080)"
                    && $0.message.hasPrefix("expected this connection, seen none")
            })
        #expect(r.contains { $0.message.hasPrefix("expected no such connection") })
    }

    @Test func wildcardConnectionHeadersAndLooseFinals() throws {
        let text = """
            connection 7 10.0.0.1:* -> *:8080
              final client=FIN_WAIT_* server=!CLOSED
            """
        #expect(try evaluate(text).isEmpty)
        let wrong = try evaluate("connection 7 10.0.0.1:* -> *:8080\n  final server=CLOSED|TIME_WAIT")
        try #require(wrong.map(\.message) == ["server final state: expected CLOSED|TIME_WAIT, seen CLOSE_WAIT (frame 15)"])
        // The file's number names the connection; the capture's own number is added when it differs.
        #expect(wrong[0].connection == "connection 7 (10.0.0.1:40001 -> 10.0.0.2:8080; connection 2 in the capture)")
    }
}
