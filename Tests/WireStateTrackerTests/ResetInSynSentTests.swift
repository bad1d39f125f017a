import Testing
import WireStateDecoder
@testable import WireStateTracker

/// RFC 9293 §3.10.7.3, SYN_SENT: "If the ACK bit is off [and] the RST bit is set, drop the segment
/// and return"; a RST is acceptable only with an ACK that acknowledges the SYN.
@Suite struct ResetInSynSentTests {
    @Test func aResetWithoutAckLeavesTheOpenerInSynSent() throws {
        var w = Wire()
        w.c(.syn, seq: 1000)
        w.s(.rst, seq: 0)
        let client = w.transitions.filter { $0.endpoint == .client }
        #expect(client.map(\.to) == [.synSent], "the RST is dropped: no move to CLOSED")
        #expect(w.states.0 == .synSent)
        #expect(w.anomalyCodes == ["rst-without-ack"], "reported, and not a refusal")
    }

    /// The ACK bit decides, not the field: a RST without it is dropped even when the field happens
    /// to hold ISN + 1, so it is no refusal and closes only its sender.
    @Test func aResetWithoutAckIsDroppedWhateverItsAckFieldHolds() throws {
        var w = Wire()
        w.c(.syn, seq: 1000)
        w.s(.rst, seq: 0, ack: 1001)
        #expect(w.states.0 == .synSent)
        #expect(w.anomalyCodes.contains("rst-without-ack"))
        #expect(!w.anomalyCodes.contains("refused"))
        w.s([.syn, .ack], seq: 5000, ack: 1001)  // the sender was still there
        #expect(w.anomalyCodes.contains("traffic-after-own-reset"))
        #expect(w.states == (.established, .synReceived))
    }

    @Test func aResetWithAnUnacceptableAckLeavesTheOpenerInSynSent() throws {
        var w = Wire()
        w.c(.syn, seq: 1000)
        w.s([.rst, .ack], seq: 0, ack: 77)  // acknowledges nothing the client sent
        #expect(w.states.0 == .synSent)
        #expect(w.anomalyCodes == ["rst-bad-ack"], "reported, and not a refusal")
        let a = w.events.compactMap { e -> Anomaly? in
            if case .anomaly(let a) = e, a.code == .rstBadAck { return a }; return nil
        }.first
        #expect(a?.endpoint == .server && a?.expected == 1001 && a?.actual == 77)
    }

    /// Linux's SYN_SENT drops both RSTs and a SYN+ACK then opens the connection
    /// (Captures/rst-in-syn-sent-dropped): the RSTs closed only their sender, which its SYN+ACK
    /// shows was still there, so the listener comes back and the handshake is an ordinary one.
    @Test func aSynAckAfterDroppedResetsOpensTheConnectionWithoutViolations() throws {
        var w = Wire()
        w.c(.syn, seq: 1000)
        w.s(.rst, seq: 5001)
        w.s([.rst, .ack], seq: 5001, ack: 2001)
        w.s([.syn, .ack], seq: 5000, ack: 1001)
        w.c(.ack, seq: 1001, ack: 5001)
        w.s(.ack, seq: 5001, ack: 1001)
        #expect(w.states == (.established, .established))
        #expect(w.anomalyCodes == ["rst-without-ack", "rst-bad-ack", "traffic-after-own-reset"])
        #expect(w.summaries.isEmpty || w.summaries[0].violationCount == 0)
    }

    @Test func aResetAcknowledgingTheSynClosesTheOpener() throws {
        var w = Wire()
        w.c(.syn, seq: 1000)
        w.s([.rst, .ack], seq: 0, ack: 1001)
        let t = try #require(w.transitions.last { $0.endpoint == .client })
        #expect(t.from == .synSent && t.to == .closed && t.cause == .receivedRst && t.evidence == .inferred)
        #expect(w.anomalyCodes.contains("refused"))
    }
}
