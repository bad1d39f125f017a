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
    }

    @Test func aResetWithAnUnacceptableAckLeavesTheOpenerInSynSent() throws {
        var w = Wire()
        w.c(.syn, seq: 1000)
        w.s([.rst, .ack], seq: 0, ack: 77)  // acknowledges nothing the client sent
        #expect(w.states.0 == .synSent)
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
