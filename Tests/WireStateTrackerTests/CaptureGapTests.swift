import Testing
import WireStateDecoder
@testable import WireStateTracker

/// What the capture did not see: midstream pickup, missed SYNs and handshake ACKs, sequence jumps, ACKs of unseen (or unsent) data.
/// (`FINDING:` comments record what an independent review found wrong; each was a failing test first.)
@Suite struct CaptureGapTests {
    @Test func midstreamPickupAssumesEstablishedWithUnknownEvidence() {
        var w = Wire()
        w.c([.psh, .ack], seq: 1001, ack: 5001, len: 10)
        let s = w.summaries[0]
        #expect(s.midstream)
        #expect(s.clientState == .established && s.serverState == .established)
        #expect(s.serverEvidence == .unknown)
        #expect(w.anomalyCodes == ["midstream-pickup"])
    }

    @Test func midstreamGuessesTheServerFromTheLowerPort() {
        var w = Wire()
        w.s([.psh, .ack], seq: 5001, ack: 1001, len: 10)  // first segment from port 80 to 40000
        #expect(w.summaries[0].server.port == 80)
        #expect(w.summaries[0].clientGuessed)
    }

    // CHECKED: midstream pickup on an idle connection's keep-alive exchange is never a violation.
    @Test func midstreamKeepAlivesAreNotViolations() {
        var w = Wire()
        w.c(.ack, seq: 1000, ack: 5001)  // keep-alive (SND.NXT-1)
        w.s(.ack, seq: 5001, ack: 1001)
        w.c(.ack, seq: 1000, ack: 5001, after: 75_000_000_000)
        w.s(.ack, seq: 5001, ack: 1001)
        #expect(w.summaries[0].violationCount == 0)
        #expect(w.anomalyCodes.contains("keep-alive"))
        #expect(w.states == (.established, .established))
    }

    // FINDING: midstream pickup can produce a "proven" CLOSE_WAIT leak that is really TIME_WAIT.
    // The capture starts during a server-initiated close: the server's FIN (seq 5001) went by
    // uncaptured, so the first segment is the client's FIN+ACK acking 5002, then the server's final
    // ACK. Real states: client CLOSED (via LAST_ACK), server TIME_WAIT. The tracker assumes both
    // ESTABLISHED (unknown), so the client's FIN makes the server CLOSE_WAIT (inferred) and the
    // server's ACK "confirms" it: CLOSE_WAIT, observed — exactly the "proven leak" the design note
    // §3 says a user must be able to trust. The receipt of the FIN is proven, but *which* state it
    // led to rests on the unknown starting assumption; evidence must not exceed `unknown` (or at
    // most `inferred`) for states derived from a midstream assumption.
    @Test func midstreamCloseDoesNotProveACloseWaitLeak() {
        var w = Wire()
        w.c([.fin, .ack], seq: 1001, ack: 5002)
        w.s(.ack, seq: 5002, ack: 1002)
        let s = w.summaries[0]
        #expect(s.midstream)
        #expect(!(s.serverState == .closeWait && s.serverEvidence == .observed))
    }

    @Test func missingSynIsACaptureGapNotAViolation() {
        var w = Wire()
        w.s([.syn, .ack], seq: 5000, ack: 1001)
        w.c(.ack, seq: 1001, ack: 5001)
        #expect(w.states == (.established, .established))
        #expect(w.anomalyCodes == ["syn-not-captured"])
    }

    // FINDING: server data in SYN_RECEIVED is a `violation` even when a missed ACK explains it.
    // Server-speaks-first protocols (SMTP 220, FTP, SSH banners) send right after accept(). If the
    // capture drops the client's handshake ACK, the server's banner arrives while the tracker still
    // has it in SYN_RECEIVED and `data-before-established` (violation) fires. A Linux server cannot
    // send in SYN_RECEIVED (RFC 9293 §3.10.2 SEND in SYN-RECEIVED: queue until ESTABLISHED), so its
    // data *proves* it accepted an ACK the capture missed: design note §4 ("Where a capture gap could
    // explain something, WireState says capture gap"); the symmetric cases (`.listen`/`.synSent`
    // sending ACKs) are already treated as capture gaps.
    @Test func serverBannerAfterUncapturedHandshakeAckIsACaptureGap() {
        var w = Wire()
        w.c(.syn, seq: 1000)
        w.s([.syn, .ack], seq: 5000, ack: 1001)
        // client ACK (1001/5001) not captured
        w.s([.psh, .ack], seq: 5001, ack: 1001, len: 30)  // "220 mail ESMTP\r\n"
        #expect(!w.anomalyCodes.contains("data-before-established"))
        #expect(w.summaries[0].violationCount == 0)
        #expect(w.states.1 == .established)
        w.c(.ack, seq: 1001, ack: 5031)
        #expect(w.states == (.established, .established))
    }

    @Test func sequenceJumpIsACaptureGap() {
        var w = Wire()
        w.handshake()
        w.c([.psh, .ack], seq: 1001, ack: 5001, len: 100)
        w.c([.psh, .ack], seq: 1201, ack: 5001, len: 100)  // 1101..1200 not captured
        #expect(w.anomalyCodes == ["previous-segment-not-captured"])
        #expect(AnomalyCode(code: "previous-segment-not-captured")!.severity == .captureGap)
    }

    @Test func ackOfUnseenDataIsACaptureGap() {
        var w = Wire()
        w.handshake()
        w.c(.ack, seq: 1001, ack: 5501)
        #expect(w.anomalyCodes == ["ack-of-unseen-data"])
    }

    static func anomaly(_ w: Wire, _ code: AnomalyCode) -> Anomaly? {
        w.events.lazy.compactMap { e -> Anomaly? in
            if case .anomaly(let a) = e, a.code == code { return a }; return nil
        }.first
    }

    @Test func ackOfDataNeverSentIsProvenWhenThePeerStopsShortOfIt() {
        var w = Wire()
        w.handshake()
        w.c(.ack, seq: 1001, ack: 6001)  // acknowledges 1000 bytes the server never sent
        #expect(w.anomalyCodes == ["ack-of-unseen-data"])  // at first a capture gap is the kinder reading
        // The server goes on from 5001: the bytes the ACK covered, captured late, or bytes never sent.
        // 10 bytes do not reach the ACK: more of a reordered burst may follow, so nothing is certain yet.
        w.s([.psh, .ack], seq: 5001, ack: 1001, len: 10)
        #expect(w.anomalyCodes == ["ack-of-unseen-data"])
        // Its FIN at 5011 ends its data short of 6001: those bytes were never sent, proved at the data (5).
        w.s([.fin, .ack], seq: 5011, ack: 1001)
        #expect(w.anomalyCodes == ["ack-of-unseen-data", "ack-of-unsent-data"])
        let proof = Self.anomaly(w, .ackOfUnsentData)
        #expect(proof?.endpoint == .client)
        #expect(proof?.frame?.number == 5)
        #expect(proof?.relatedFrame?.number == 4)
        #expect(w.states == (.closeWait, .finWait1))  // and its FIN is accepted at the real sequence
    }

    // Issue 8 §2 (Captures/reorder-ack-before-data): a mirror port wrote the server's ACK before the
    // client's data it acknowledges. When that data arrives it was reordering, never a violation.
    @Test func anAckCapturedBeforeItsDataIsReorderingNotAViolation() {
        var w = Wire()
        w.handshake()
        w.s(.ack, seq: 5001, ack: 1101)  // the client's 100 bytes are not in the file yet
        w.c([.psh, .ack], seq: 1001, ack: 5001, len: 100)  // here they are
        #expect(w.anomalyCodes == ["ack-of-unseen-data", "capture-reordered"])
        let late = Self.anomaly(w, .captureReordered)
        #expect(late?.endpoint == .client)
        #expect(late?.frame?.number == 5)
        #expect(late?.relatedFrame?.number == 4)
        #expect(AnomalyCode.captureReordered.severity == .captureGap)
        // They were new data, not a retransmission, and the client goes on from their end.
        w.c([.psh, .ack], seq: 1101, ack: 5001, len: 10)
        w.s(.ack, seq: 5001, ack: 1111)
        #expect(w.anomalyCodes == ["ack-of-unseen-data", "capture-reordered"])
        #expect(w.finish().first?.violationCount == 0)
    }

    @Test func aReorderedBurstArrivesInPiecesAndIsReorderingOnceItReachesTheAck() {
        var w = Wire()
        w.handshake()
        w.s(.ack, seq: 5001, ack: 1201)
        w.c([.psh, .ack], seq: 1001, ack: 5001, len: 100)
        #expect(w.anomalyCodes == ["ack-of-unseen-data"])
        w.c([.psh, .ack], seq: 1101, ack: 5001, len: 100)
        #expect(w.anomalyCodes == ["ack-of-unseen-data", "capture-reordered"])
        #expect(Self.anomaly(w, .captureReordered)?.frame?.number == 6)
    }

    @Test func anAckThatGoesBackBelowItsUnseenDataProvesItUnsent() {
        var w = Wire()
        w.handshake()
        w.c(.ack, seq: 1001, ack: 6001)
        w.s([.psh, .ack], seq: 5001, ack: 1001, len: 10)
        // The client's own ACK goes back to 5011: an acknowledgment never moves back.
        w.c(.ack, seq: 1001, ack: 5011)
        #expect(w.anomalyCodes == ["ack-of-unseen-data", "ack-of-unsent-data"])
        #expect(Self.anomaly(w, .ackOfUnsentData)?.frame?.number == 5)
        // The client's RCV.NXT is where the server really got to: its next data is in order.
        w.s([.psh, .ack], seq: 5011, ack: 1001, len: 10)
        #expect(w.anomalyCodes == ["ack-of-unseen-data", "ack-of-unsent-data"])
    }

    @Test func dataThatNeverReachesTheAckByTheEndWasNeverSent() {
        var w = Wire()
        w.handshake()
        w.c(.ack, seq: 1001, ack: 6001)
        w.s([.psh, .ack], seq: 5001, ack: 1001, len: 10)
        let summaries = w.finish()
        #expect(w.anomalyCodes == ["ack-of-unseen-data", "ack-of-unsent-data"])
        #expect(Self.anomaly(w, .ackOfUnsentData)?.frame?.number == 5)
        #expect(summaries.first?.violationCount == 1)
    }

    @Test func anAckOfUnseenDataThatNoDataFollowsStaysACaptureGap() {
        var w = Wire()
        w.handshake()
        w.c(.ack, seq: 1001, ack: 6001)
        w.s([.psh, .ack], seq: 6001, ack: 1001, len: 10)  // the server goes on past it: the capture missed them
        _ = w.finish()
        #expect(w.anomalyCodes == ["ack-of-unseen-data"])
    }

    @Test func aRetransmissionEndingAtRcvNxtStillDeliversItsAck() {
        var w = Wire()
        w.handshake()
        w.s([.psh, .ack], seq: 5001, ack: 1001, len: 100)
        w.c(.ack, seq: 1001, ack: 5101)
        w.c([.fin, .ack], seq: 1001, ack: 5101)
        // The server retransmits its data (ending at the client's RCV.NXT) and acknowledges the FIN
        // on it: Linux processes that ACK (tcp_sequence), so the client is in FIN_WAIT_2 now.
        w.s([.psh, .ack], seq: 5001, ack: 1002, len: 100)
        #expect(w.states.0 == .finWait2)
        #expect(w.anomalyCodes == ["retransmission"])
    }

    // Issue 8 §2: picked up during a half-close (Captures/midstream-half-close: the client's FIN and
    // its ACK went before the capture). The server sends data and a FIN, the client only ACKs: the
    // client may have closed first, so neither reading is better than unknown.
    @Test func midstreamPickupDuringAHalfCloseIsUnknownOnBothSides() {
        var w = Wire()
        w.s([.psh, .ack], seq: 5001, ack: 1001, len: 10)
        w.c(.ack, seq: 1001, ack: 5011)
        w.s([.fin, .ack], seq: 5011, ack: 1001)
        w.c(.ack, seq: 1001, ack: 5012)
        let s = w.summaries[0]
        #expect(s.clientState == .closeWait && s.clientEvidence == .unknown)
        #expect(s.serverState == .finWait2 && s.serverEvidence == .unknown)
    }

    // The side that sent data after the pickup had not closed before it: the reading is inferred.
    @Test func midstreamCloseAfterDataFromBothSidesIsInferred() {
        var w = Wire()
        w.s([.psh, .ack], seq: 5001, ack: 1001, len: 10)
        w.c([.psh, .ack], seq: 1001, ack: 5011, len: 5)
        w.s([.fin, .ack], seq: 5011, ack: 1006)
        w.c(.ack, seq: 1006, ack: 5012)
        let s = w.summaries[0]
        #expect(s.clientState == .closeWait && s.clientEvidence == .inferred)
        #expect(s.serverState == .finWait2 && s.serverEvidence == .inferred)
    }
}
