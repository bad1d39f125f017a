import Testing
import WireStateTracker
@testable import WireStateCheck

/// A small made-up capture: connection 1 closes cleanly, 2 leaves the server in CLOSE_WAIT,
/// 3 is aborted by the client with a RST and has two anomalies.
func sampleCapture() -> SeenCapture {
    var a = SeenConnection(
        id: 1, client: "10.0.0.1:40000", server: "10.0.0.2:443",
        clientState: .timeWait, serverState: .closed, firstFrame: 1, lastFrame: 10)
    a.clientTransitions = [
        SeenTransition(from: .closed, to: .synSent, frame: 1, cause: .sentSyn),
        SeenTransition(from: .synSent, to: .established, frame: 2, cause: .receivedSynAck),
        SeenTransition(from: .established, to: .finWait1, frame: 8, cause: .sentFin),
        SeenTransition(from: .finWait1, to: .timeWait, frame: 9, cause: .receivedFin)
    ]
    a.serverTransitions = [
        SeenTransition(from: .closed, to: .listen, frame: 1, cause: .presumedListen),
        SeenTransition(from: .listen, to: .synReceived, frame: 2, cause: .sentSynAck),
        SeenTransition(from: .synReceived, to: .established, frame: 3, cause: .receivedAck),
        SeenTransition(from: .established, to: .closeWait, frame: 8, cause: .receivedFin),
        SeenTransition(from: .closeWait, to: .lastAck, frame: 9, cause: .sentFin),
        SeenTransition(from: .lastAck, to: .closed, frame: 10, cause: .receivedAck)
    ]
    var b = SeenConnection(
        id: 2, client: "10.0.0.1:40001", server: "10.0.0.2:8080",
        clientState: .finWait2, serverState: .closeWait, firstFrame: 11, lastFrame: 17)
    b.clientTransitions = [
        SeenTransition(from: .closed, to: .synSent, frame: 11, cause: .sentSyn),
        SeenTransition(from: .synSent, to: .established, frame: 12, cause: .receivedSynAck),
        SeenTransition(from: .established, to: .finWait1, frame: 15, cause: .sentFin),
        SeenTransition(from: .finWait1, to: .finWait2, frame: 16, cause: .receivedAck)
    ]
    b.serverTransitions = [
        SeenTransition(from: .closed, to: .listen, frame: 11, cause: .presumedListen),
        SeenTransition(from: .listen, to: .synReceived, frame: 12, cause: .sentSynAck),
        SeenTransition(from: .synReceived, to: .established, frame: 13, cause: .receivedAck),
        SeenTransition(from: .established, to: .closeWait, frame: 15, cause: .receivedFin)
    ]
    var c = SeenConnection(
        id: 3, client: "[2001:db8::1]:50000", server: "[2001:db8::2]:443",
        clientState: .closed, serverState: .closed, firstFrame: 18, lastFrame: 24)
    c.reset = true
    c.clientTransitions = [
        SeenTransition(from: .closed, to: .synSent, frame: 18, cause: .sentSyn),
        SeenTransition(from: .synSent, to: .established, frame: 19, cause: .receivedSynAck),
        SeenTransition(from: .established, to: .closed, frame: 24, cause: .sentRst)
    ]
    c.serverTransitions = [
        SeenTransition(from: .closed, to: .listen, frame: 18, cause: .presumedListen),
        SeenTransition(from: .listen, to: .synReceived, frame: 19, cause: .sentSynAck),
        SeenTransition(from: .synReceived, to: .established, frame: 20, cause: .receivedAck),
        SeenTransition(from: .established, to: .closed, frame: 24, cause: .receivedRst)
    ]
    c.anomalies = [
        SeenAnomaly(code: .retransmission, frame: 22, endpoint: .client, message: "client retransmitted data"),
        SeenAnomaly(code: .dataAfterFin, frame: 23, endpoint: .server, message: "server sent data after its FIN")
    ]
    return SeenCapture(connections: [a, b, c])
}

@Suite struct RuleTests {
    @Test func patternsHaveAlternativesGlobsAndNegation() {
        let p = Pattern(parsing: "TIME_WAIT|CLOSED")!
        #expect(p.matches("CLOSED") && p.matches("TIME_WAIT") && !p.matches("CLOSE_WAIT"))
        let notp = Pattern(parsing: "!TIME_WAIT|CLOSED")!
        #expect(!notp.matches("CLOSED") && notp.matches("CLOSE_WAIT"))
        #expect(Pattern(parsing: "*")!.matches("anything") && Pattern(parsing: "*")!.isAny)
        #expect(Pattern(parsing: "*:443")!.matches("10.0.0.2:443"))
        #expect(Pattern(parsing: "*:443")!.matches("[::1]:443"))
        #expect(!Pattern(parsing: "*:443")!.matches("10.0.0.2:4430"))
        #expect(Pattern(parsing: "10.0.*.2:*")!.matches("10.0.0.2:8080"))
        #expect(Pattern(parsing: "FIN_WAIT_*")!.matches("FIN_WAIT_2"))
        #expect(Pattern(parsing: "rst-*")!.matches("rst-out-of-window"))
        #expect(!Pattern(parsing: "rst-*")!.matches("refused"))
        #expect(Pattern(parsing: "a*b*c")!.matches("aXXbYYc") && !Pattern(parsing: "a*b*c")!.matches("aXXbYY"))
        #expect(Pattern(parsing: "") == nil && Pattern(parsing: "A||B") == nil)
    }

    func violations(_ rules: String) throws -> [Mismatch] {
        let file = try ExpectationParser.parse(rules, path: "rules.expect")
        return Evaluator.evaluate(file, sampleCapture())
    }

    @Test func noConnectionFindsTheServerLeftInCloseWait() throws {
        let v = try violations("rule no-connection server=CLOSE_WAIT")
        try #require(v.count == 1)
        #expect(v[0].connection == "connection 2 (10.0.0.1:40001 -> 10.0.0.2:8080)")
        #expect(
            v[0].message == "rule no-connection server=CLOSE_WAIT (line 1): expected no such connection, "
                + "seen server ends in CLOSE_WAIT (frame 15)")
        #expect(v[0].line == 1 && v[0].frame == 15)
    }

    @Test func everyConnectionWithAlternativesAndWildcardScope() throws {
        #expect(try violations("rule every-connection client=TIME_WAIT|CLOSED|FIN_WAIT_*").isEmpty)
        let all = try violations("rule every-connection client=TIME_WAIT|CLOSED")
        try #require(all.map(\.connection) == ["connection 2 (10.0.0.1:40001 -> 10.0.0.2:8080)"])
        #expect(all[0].message.contains("expected client=TIME_WAIT|CLOSED, seen client ends in FIN_WAIT_2 (frame 16)"))
        // Only connections to port 443 are in scope: connection 2 (port 8080) is not judged.
        #expect(try violations("rule every-connection client=TIME_WAIT|CLOSED where server-addr=*:443").isEmpty)
        let v6 = try violations("rule every-connection server=TIME_WAIT where server-addr=[2001:db8::*]:*")
        #expect(v6.count == 1 && v6[0].connection?.hasPrefix("connection 3 ") == true)
        #expect(try violations("rule every-connection server=* client=*").isEmpty)
    }

    @Test func noAnomalyBySeverityAndCodeGlob() throws {
        let v = try violations("rule no-anomaly severity=violation")
        try #require(v.count == 1)
        #expect(v[0].message.contains("seen data-after-fin@23 (violation, server: server sent data after its FIN; frame 23)"))
        #expect(v[0].frame == 23)
        #expect(try violations("rule no-anomaly code=retrans*|data-*").count == 2)
        #expect(try violations("rule no-anomaly code=* endpoint=client").count == 1)
        #expect(try violations("rule no-anomaly severity=violation where server-addr=*:8080").isEmpty)
        #expect(try violations("rule no-anomaly severity=!notable").count == 1)
    }

    @Test func noTransitionCatchesAClientAbortingWithRst() throws {
        let v = try violations("rule no-transition endpoint=client cause=sent-rst")
        try #require(v.count == 1)
        #expect(v[0].connection == "connection 3 ([2001:db8::1]:50000 -> [2001:db8::2]:443)")
        #expect(v[0].message.contains("seen client ESTABLISHED>CLOSED@24 (sent-rst; frame 24)"))
        #expect(try violations("rule no-transition to=CLOSED from=ESTABLISHED").count == 2)
        #expect(try violations("rule no-connection reset=yes").count == 1)
        #expect(try violations("rule no-connection refused=yes").isEmpty)
    }

    @Test func rulesWithoutConnectionFactsDoNotRequireTheConnectionList() throws {
        // No `connections` line: a rules-only file does not complain about undescribed connections.
        #expect(try violations("# only a comment").isEmpty)
    }
}
