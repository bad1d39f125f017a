import Testing
import WireStateDecoder
@testable import WireStateTracker

/// Timestamps (RFC 7323): PAWS in the synchronized states and the TSecr check of SYN_SENT, as Linux
/// applies them (Captures/paws-old-tsval, Captures/synsent-bad-tsecr show both on the real stack).
@Suite struct TimestampTests {
    /// A handshake with timestamps on both sides: the client's TSvals from 100, the server's from 9000.
    static func handshake() -> Wire {
        var w = Wire()
        w.send(true, .syn, seq: 1000, ts: (100, 0))
        w.send(false, [.syn, .ack], seq: 5000, ack: 1001, ts: (9000, 100))
        w.send(true, .ack, seq: 1001, ack: 5001, ts: (110, 9000))
        w.send(true, [.psh, .ack], seq: 1001, ack: 5001, len: 10, ts: (120, 9000))  // frame 4
        w.send(false, .ack, seq: 5001, ack: 1011, ts: (9010, 120))
        return w
    }

    @Test func aSegmentWithAnOlderTSvalIsDroppedByPAWSAndChangesNothing() {
        var w = Self.handshake()
        w.send(true, [.psh, .ack], seq: 1011, ack: 5001, len: 10, ts: (50, 9010))  // frame 6: TSval 50 < 120
        #expect(w.anomalyCodes == ["paws-old-tsval"])
        let a = w.events.compactMap { e -> Anomaly? in
            if case .anomaly(let a) = e { return a }; return nil
        }.first
        #expect(a?.endpoint == .client)
        #expect(a?.expected == 120 && a?.actual == 50)
        #expect(AnomalyCode.pawsOldTsval.severity == .suspicious)
        // The server never took those bytes: its ACK stays at 1011, and the same bytes with a fresh
        // TSval are a retransmission it then accepts.
        w.send(false, .ack, seq: 5001, ack: 1011, ts: (9020, 120))
        w.send(true, [.psh, .ack], seq: 1011, ack: 5001, len: 10, ts: (130, 9020))
        #expect(w.anomalyCodes.contains("retransmission"))
        // A FIN dropped by PAWS would not close the server; a FIN with a fresh TSval does.
        w.send(true, [.fin, .ack], seq: 1021, ack: 5001, ts: (60, 9020))
        #expect(w.states.1 == .established)
        w.send(true, [.fin, .ack], seq: 1021, ack: 5001, ts: (140, 9020))
        #expect(w.states.1 == .closeWait)
    }

    @Test func aTSvalWithinLinuxsOneTickWindowPasses() {
        var w = Self.handshake()
        w.send(true, [.psh, .ack], seq: 1011, ack: 5001, len: 10, ts: (119, 9010))
        #expect(w.anomalyCodes.isEmpty)
    }

    @Test func timestampsWrapLikeSequenceNumbers() {
        var w = Wire()
        w.send(true, .syn, seq: 1000, ts: (0xFFFF_FFF0, 0))
        w.send(false, [.syn, .ack], seq: 5000, ack: 1001, ts: (9000, 0xFFFF_FFF0))
        w.send(true, .ack, seq: 1001, ack: 5001, ts: (0xFFFF_FFFF, 9000))
        w.send(true, [.psh, .ack], seq: 1001, ack: 5001, len: 10, ts: (5, 9000))  // past the wrap: newer
        #expect(w.anomalyCodes.isEmpty)
        w.send(true, [.psh, .ack], seq: 1011, ack: 5001, len: 10, ts: (0xFFFF_FFF8, 9000))  // before it: older
        #expect(w.anomalyCodes == ["paws-old-tsval"])
    }

    @Test func aResetOrAPureAckIsNotJudgedByPAWS() {
        var w = Self.handshake()
        w.send(true, .ack, seq: 1011, ack: 5001, ts: (50, 9010))
        w.send(true, [.rst, .ack], seq: 1011, ack: 5001, ts: (50, 9010))
        #expect(!w.anomalyCodes.contains("paws-old-tsval"))
        #expect(w.states == (.closed, .closed))
    }

    @Test func aSynAckEchoingATSecrTheClientNeverSentIsNotAccepted() {
        var w = Wire()
        w.send(true, .syn, seq: 1000, ts: (100, 0))
        w.send(false, [.syn, .ack], seq: 5000, ack: 1001, ts: (9000, 5_000_100))
        #expect(w.anomalyCodes == ["tsecr-not-sent"])
        #expect(w.states.0 == .synSent)
        // The client answers it with a RST at its ACK and stays SYN_SENT; its SYN again gets an honest answer.
        w.send(true, .rst, seq: 1001)
        w.send(true, .syn, seq: 1000, ts: (1100, 0), after: 1_000_000_000)
        w.send(false, [.syn, .ack], seq: 5000, ack: 1001, ts: (10000, 1100))
        #expect(w.states.0 == .established)
        #expect(AnomalyCode.tsecrNotSent.severity == .suspicious)
    }

    @Test func aResetEchoingATSecrTheClientNeverSentDoesNotRefuseTheConnection() {
        var w = Wire()
        w.send(true, .syn, seq: 1000, ts: (100, 0))
        w.send(false, [.rst, .ack], seq: 0, ack: 1001, ts: (9000, 5_000_100))
        #expect(w.anomalyCodes == ["tsecr-not-sent"])
        #expect(w.states.0 == .synSent)
        #expect(w.summaries[0].refused == false)
        // The same RST echoing the SYN's TSval is a refusal.
        var r = Wire()
        r.send(true, .syn, seq: 1000, ts: (100, 0))
        r.send(false, [.rst, .ack], seq: 0, ack: 1001, ts: (9000, 100))
        #expect(r.anomalyCodes == ["refused"])
        #expect(r.states.0 == .closed)
    }
}
