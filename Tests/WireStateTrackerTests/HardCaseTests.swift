import Testing
import WireStateDecoder
@testable import WireStateTracker

@Suite struct HandshakeAndCloseTests {
    @Test func clientCloseEndsInTimeWaitAndClosed() {
        var w = Wire()
        w.handshake()
        w.c([.fin, .ack], seq: 1001, ack: 5001)
        #expect(w.states == (.finWait1, .closeWait))
        w.s(.ack, seq: 5001, ack: 1002)
        #expect(w.states == (.finWait2, .closeWait))
        w.s([.fin, .ack], seq: 5001, ack: 1002)
        #expect(w.states == (.timeWait, .lastAck))
        w.c(.ack, seq: 1002, ack: 5002)
        #expect(w.states == (.timeWait, .closed))
        #expect(w.anomalyCodes.isEmpty)
    }

    @Test func simultaneousCloseGoesThroughClosingOnBothSides() {
        var w = Wire()
        w.handshake()
        w.c([.fin, .ack], seq: 1001, ack: 5001)
        // The server's FIN does not acknowledge the client's: it was sent before that FIN arrived.
        w.s([.fin, .ack], seq: 5001, ack: 1001)
        #expect(w.states == (.closing, .closing))
        // Both read FIN_WAIT_1 → CLOSING: the server's CLOSE_WAIT, inferred from the client's FIN, is
        // withdrawn by its own FIN that does not acknowledge that FIN.
        let server = w.transitions.filter { $0.endpoint == .server }.map { "\($0.from.name)>\($0.to.name)" }
        #expect(server.suffix(3) == ["CLOSE_WAIT>ESTABLISHED", "ESTABLISHED>FIN_WAIT_1", "FIN_WAIT_1>CLOSING"])
        #expect(w.anomalyCodes.filter { $0 == "simultaneous-close" }.count == 2)
        w.c(.ack, seq: 1002, ack: 5002)
        w.s(.ack, seq: 5002, ack: 1002)
        #expect(w.states == (.timeWait, .timeWait))
        #expect(!w.transitions.contains { !TCPState.rfcAllows(from: $0.from, to: $0.to) && $0.frame == nil })
    }

    @Test func simultaneousOpenReachesEstablishedThroughSynReceived() {
        var w = Wire()
        w.c(.syn, seq: 1000)
        w.s(.syn, seq: 5000)
        #expect(w.states == (.synReceived, .synReceived))
        w.c([.syn, .ack], seq: 1000, ack: 5001)
        w.s([.syn, .ack], seq: 5000, ack: 1001)
        #expect(w.states == (.established, .established))
        // One per endpoint: each one's SYN crossed the other's.
        #expect(w.anomalyCodes == ["simultaneous-open", "simultaneous-open"])
        let who: [Role] = w.events.compactMap { if case .anomaly(let a) = $0 { return a.endpoint } else { return nil } }
        #expect(Set(who) == Set([Role.client, Role.server]))
    }

    @Test func refusedConnectionClosesBothAndWithdrawsListen() throws {
        var w = Wire()
        w.c(.syn, seq: 1000)
        w.s([.rst, .ack], seq: 0, ack: 1001)
        let done = w.finish()
        try #require(done.count == 1)
        #expect(done[0].clientState == .closed && done[0].serverState == .closed)
        #expect(done[0].refused)
        #expect(w.anomalyCodes == ["refused"])
    }

    @Test func rstInSynReceivedReturnsAPassiveOpenerToListen() {
        var w = Wire()
        w.c(.syn, seq: 1000)
        w.s([.syn, .ack], seq: 5000, ack: 1001)
        w.c(.rst, seq: 1001)
        #expect(w.states == (.closed, .listen))
    }

    @Test func synRetransmissionIsNotableAndANewIsnIsAViolation() {
        var w = Wire()
        w.c(.syn, seq: 1000)
        w.c(.syn, seq: 1000, after: 1_000_000_000)
        #expect(w.anomalyCodes == ["syn-retransmission"])
        // Nobody answered: a new ISN is the application opening again, a new incarnation.
        w.c(.syn, seq: 7777)
        #expect(w.anomalyCodes.last == "port-reuse")
        // Once the peer answered (here with a SYN+ACK the client cannot accept, so it stays
        // SYN_SENT), a new ISN before the handshake finished is a violation.
        w.s([.syn, .ack], seq: 5000, ack: 4242)
        w.c(.syn, seq: 9999)
        #expect(w.anomalyCodes.last == "syn-isn-changed")
        #expect(w.finish().first?.clientState == .closed, "the abandoned first attempt ends CLOSED")
    }
}

@Suite struct ResetTests {
    @Test func exactRstClosesTheReceiver() {
        var w = Wire()
        w.handshake()
        w.c([.rst, .ack], seq: 1001, ack: 5001)
        #expect(w.states == (.closed, .closed))
    }

    @Test func inWindowRstDrawsAChallengeAndDoesNotClose() {
        var w = Wire()
        w.handshake()
        w.c([.rst], seq: 1500)
        // Rejected by the receiver, so it closes nobody: a stale or injected RST (RFC 5961).
        #expect(w.states == (.established, .established))
        #expect(w.anomalyCodes.contains("rst-challenged"))
    }

    @Test func unansweredRetransmissionsPresumeThePeerGoneAndItsSegmentRevivesIt() {
        var w = Wire()
        w.handshake()
        w.s([.psh, .ack], seq: 5001, ack: 1001, len: 20)
        for i in 0..<4 { w.s([.psh, .ack], seq: 5001, ack: 1001, len: 20, after: Int64(400_000_000) << i) }
        #expect(w.states == (.closed, .established))
        #expect(w.anomalyCodes.contains("peer-unresponsive"))
        #expect(w.summaries[0].clientEvidence == .unknown)
        w.c(.ack, seq: 1001, ack: 5021)
        #expect(w.states == (.established, .established))
        #expect(w.anomalyCodes.last == "peer-returned")
    }

    @Test func outOfWindowRstIsIgnored() {
        var w = Wire()
        w.handshake()
        w.c([.rst], seq: 1001 &+ 3_000_000)
        #expect(w.states.1 == .established)
        #expect(w.anomalyCodes.contains("rst-out-of-window"))
    }

    @Test func trafficAfterThePeerResetIsReportedOnce() {
        var w = Wire()
        w.handshake()
        w.c([.rst, .ack], seq: 1001, ack: 5001)
        w.s([.psh, .ack], seq: 5001, ack: 1001, len: 10)
        w.s([.psh, .ack], seq: 5011, ack: 1001, len: 10)
        #expect(w.anomalyCodes.filter { $0 == "traffic-after-peer-reset" }.count == 1)
    }
}

@Suite struct IllegalSegmentTests {
    @Test func dataAfterFinIsAViolation() {
        var w = Wire()
        w.handshake()
        w.c([.fin, .ack], seq: 1001, ack: 5001)
        w.c([.psh, .ack], seq: 1002, ack: 5001, len: 5)
        #expect(w.anomalyCodes.contains("data-after-fin"))
    }

    @Test func synFinIsAnImpossibleFlagCombination() {
        var w = Wire()
        w.handshake()
        w.c([.syn, .fin], seq: 1001)
        #expect(w.anomalyCodes.contains("invalid-flag-combination"))
        #expect(w.states == (.established, .established))
    }

    @Test func missingAckFlagInASynchronizedState() {
        var w = Wire()
        w.handshake()
        w.c([.psh], seq: 1001, len: 4)
        #expect(w.anomalyCodes.contains("missing-ack-flag"))
    }

    @Test func synWithANewIsnInsideAConnection() {
        var w = Wire()
        w.handshake()
        w.c(.syn, seq: 99999)
        #expect(w.anomalyCodes.contains("syn-in-synchronized-state"))
        #expect(w.states == (.established, .established))
    }

    @Test func synAckWithWrongAck() {
        var w = Wire()
        w.c(.syn, seq: 1000)
        w.s([.syn, .ack], seq: 5000, ack: 4242)
        #expect(w.anomalyCodes.contains("synack-bad-ack"))
        #expect(w.states.0 == .synSent)
    }

    @Test func segmentAfterCloseIsAViolation() {
        var w = Wire()
        w.handshake()
        w.c([.rst, .ack], seq: 1001, ack: 5001)
        w.c([.psh, .ack], seq: 1001, ack: 5001, len: 3)
        #expect(w.anomalyCodes.contains("segment-after-close"))
    }
}

@Suite struct CaptureLimitsTests {
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
        w.s([.psh, .ack], seq: 5001, ack: 1001, len: 10) // first segment from port 80 to 40000
        #expect(w.summaries[0].server.port == 80)
        #expect(w.summaries[0].clientGuessed)
    }

    @Test func missingSynIsACaptureGapNotAViolation() {
        var w = Wire()
        w.s([.syn, .ack], seq: 5000, ack: 1001)
        w.c(.ack, seq: 1001, ack: 5001)
        #expect(w.states == (.established, .established))
        #expect(w.anomalyCodes == ["syn-not-captured"])
    }

    @Test func sequenceJumpIsACaptureGap() {
        var w = Wire()
        w.handshake()
        w.c([.psh, .ack], seq: 1001, ack: 5001, len: 100)
        w.c([.psh, .ack], seq: 1201, ack: 5001, len: 100) // 1101..1200 not captured
        #expect(w.anomalyCodes == ["previous-segment-not-captured"])
        #expect(AnomalyCode(code: "previous-segment-not-captured")!.severity == .captureGap)
    }

    @Test func ackOfUnseenDataIsACaptureGap() {
        var w = Wire()
        w.handshake()
        w.c(.ack, seq: 1001, ack: 5501)
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

    @Test func ackOfDataNeverSentIsProvenWhenThePeerContinuesBelowIt() {
        var w = Wire()
        w.handshake()
        w.c(.ack, seq: 1001, ack: 6001)                        // acknowledges 1000 bytes the server never sent
        #expect(w.anomalyCodes == ["ack-of-unseen-data"])      // at first a capture gap is the kinder reading
        w.s([.psh, .ack], seq: 5001, ack: 1001, len: 10)       // the server goes on from 5001: they were never sent
        #expect(w.anomalyCodes == ["ack-of-unseen-data", "ack-of-unsent-data"])
        let proof = w.events.compactMap { e -> Anomaly? in if case .anomaly(let a) = e, a.code == .ackOfUnsentData { return a }; return nil }
        #expect(proof.first?.endpoint == .client)
        #expect(proof.first?.relatedFrame?.number == 4)
        w.s([.fin, .ack], seq: 5011, ack: 1001)                // and its FIN is accepted at the real sequence
        #expect(w.states == (.closeWait, .finWait1))
    }

    @Test func retransmissionsKeepAlivesAndWindowEventsAreNeverViolations() {
        var w = Wire()
        w.handshake()
        w.c([.psh, .ack], seq: 1001, ack: 5001, len: 100)
        w.c([.psh, .ack], seq: 1001, ack: 5001, len: 100)          // retransmission
        w.s(.ack, seq: 5001, ack: 1101, window: 0)                  // zero window
        w.c(.ack, seq: 1100, ack: 5001)                              // zero-window probe shape
        w.s(.ack, seq: 5001, ack: 1101, window: 65535)
        w.c(.ack, seq: 1100, ack: 5001, after: 60_000_000_000)      // keep-alive
        #expect(w.anomalyCodes == ["retransmission", "zero-window", "zero-window-probe", "keep-alive"])
        let summary = w.finish()[0]
        #expect(summary.violationCount == 0)
    }

    @Test func finRetransmissionWithdrawsAnInferredClose() {
        var w = Wire()
        w.handshake()
        w.s([.fin, .ack], seq: 5001, ack: 1001)
        w.c([.fin, .ack], seq: 1001, ack: 5002)
        w.s(.ack, seq: 5002, ack: 1002)               // client inferred CLOSED …
        #expect(w.states.0 == .closed)
        w.c([.fin, .ack], seq: 1001, ack: 5002)       // … but it retransmits its FIN: the ACK never reached it
        #expect(w.states.0 == .lastAck)
        #expect(w.anomalyCodes.contains("fin-retransmission"))
    }
}

@Suite struct IncarnationAndTimeTests {
    @Test func newIsnAfterTimeWaitStartsANewIncarnation() throws {
        var w = Wire()
        w.handshake()
        w.s([.fin, .ack], seq: 5001, ack: 1001)
        w.c([.fin, .ack], seq: 1001, ack: 5002)
        w.s(.ack, seq: 5002, ack: 1002)
        w.c(.syn, seq: 900_000, after: 2_000_000_000)  // server still in TIME_WAIT
        let done = w.finish()
        try #require(done.count == 2)
        #expect(done[0].ref.incarnation == 1 && done[0].endReason == .reused)
        #expect(done[1].ref.incarnation == 2 && done[1].ref.id != done[0].ref.id)
        #expect(w.anomalyCodes.suffix(2) == ["port-reuse", "reuse-in-time-wait"])
    }

    @Test func sameIsnAfterCloseIsARetransmissionNotAReuse() {
        var w = Wire()
        w.c(.syn, seq: 1000)
        w.s([.rst, .ack], seq: 0, ack: 1001)
        w.c(.syn, seq: 1000, after: 1_000_000_000)
        let done = w.finish()
        #expect(done.count == 1)
        #expect(w.anomalyCodes.last == "syn-retransmission")
    }

    @Test func timeWaitExpiresAfterTwoMSLOfCaptureTime() {
        var w = Wire()
        w.tracker.configuration.msl = 1_000_000_000
        w.handshake()
        w.c([.fin, .ack], seq: 1001, ack: 5001)
        w.s([.fin, .ack], seq: 5001, ack: 1002)
        w.c(.ack, seq: 1002, ack: 5002)
        #expect(w.states.0 == .timeWait)
        // An unrelated connection moves capture time 3 s on: the sweep expires TIME_WAIT.
        w.client.port = 40001
        w.c(.syn, seq: 1, after: 3_000_000_000)
        let expiry = w.transitions.first { $0.cause == .timeWaitExpired }
        #expect(expiry?.from == .timeWait && expiry?.to == .closed)
        #expect(expiry?.frame == nil)
    }
}
