import Testing
import WireStateDecoder
@testable import WireStateTracker

/// Anomalies are built whole (issue 8 §1): a rule records a `Finding`, and `Connection.finishStep`
/// builds each anomaly once, with both endpoints' states before and after its step, in its place
/// among the step's transitions.
@Suite struct AnomalyBuildTests {
    /// The server's FIN crossing the client's (Captures/simultaneous-close frame 9): two findings
    /// in one step, each before the transitions that followed it, each with the states around the
    /// whole step.
    @Test func findingsBecomeAnomaliesInPlaceWithTheStatesAroundTheirStep() {
        var w = Wire()
        w.handshake()
        w.c([.fin, .ack], seq: 1001, ack: 5001)
        let mark = w.events.count
        w.s([.fin, .ack], seq: 5001, ack: 1001)
        let step = w.events[mark...].map { e -> String in
            switch e {
            case .anomaly(let a): return "\(a.code.code)@\(a.endpoint.name)"
            case .transition(let t): return "\(t.endpoint.name):\(t.to.name)"
            default: return "other"
            }
        }
        #expect(
            step == [
                "simultaneous-close@server", "server:ESTABLISHED", "server:FIN_WAIT_1", "server:CLOSING",
                "simultaneous-close@client", "client:CLOSING"
            ])
        let anomalies = w.events[mark...].compactMap { if case .anomaly(let a) = $0 { return a } else { return nil } }
        #expect(anomalies.count == 2)
        for a in anomalies {
            #expect((a.clientBefore, a.serverBefore) == (.finWait1, .closeWait))
            #expect((a.clientAfter, a.serverAfter) == (.closing, .closing))
            #expect(a.frame == FrameRef(number: 5))
        }
        #expect(w.tracker.output.findings.isEmpty)
    }

    /// A finding at the end of a connection (no frame) is built the same way, with the states as
    /// the connection ends on both sides, and counted once in the summary.
    @Test func anEndOfConnectionFindingIsBuiltWithTheFinalStates() {
        var w = Wire()
        // Picked up midstream, and only the client is ever seen: a one-sided capture.
        w.c(.ack, seq: 1001, ack: 5001, len: 10)
        w.c(.ack, seq: 1011, ack: 5001, len: 10)
        let summary = w.finish().last!
        let oneSided = w.events.compactMap { e -> Anomaly? in
            if case .anomaly(let a) = e, a.code == .oneSidedCapture { return a } else { return nil }
        }
        #expect(oneSided.count == 1)
        let a = oneSided[0]
        #expect(a.frame == nil)
        #expect((a.clientBefore, a.serverBefore) == (.established, .established))
        #expect((a.clientAfter, a.serverAfter) == (summary.clientState, summary.serverState))
        #expect(w.anomalyCodes == ["midstream-pickup", "one-sided-capture"])
        #expect(summary.anomalyCount == 2)
        #expect(w.tracker.output.findings.isEmpty)
    }
}
