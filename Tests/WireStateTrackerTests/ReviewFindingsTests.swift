import Testing
import WireStateDecoder
@testable import WireStateTracker

/// Second-pair-of-eyes review of the tracker.
///
/// `// FINDING:` tests fail against the tracker as reviewed: each pins a behaviour that is wrong
/// against RFC 9293 / RFC 5961 / the design note, with a realistic (Linux) segment sequence.
/// `// CHECKED:` tests are tricky cases that were checked and found correct; they pass.
@Suite struct ReviewFindingsTests {

    // MARK: - FINDINGS (expected to fail until fixed)

    // FINDING: syn-not-captured + window scaling → false `data-beyond-window` violations.
    // When the SYN is missed, `assumeSynSent` records the client's offered shift as 0 whenever the
    // SYN+ACK carries a window-scale option (it may only appear if the SYN offered one, RFC 7323
    // §1.3/§2.2, but the *shift* is unknown). `setScale` then applies shift 0 to the client's
    // windows, so a Linux client's `win 502` (= 502 << 7 = 64256 bytes) is read as 502 bytes and
    // the server's first full-size segment is reported as a `violation`. The shift is unknowable:
    // window checks for that endpoint must stay off (its WindowScale unknowable), as for midstream (note §4:
    // "skip checks that need handshake facts (ISN, window scale)").
    @Test func missedSynWithWindowScalingDoesNotInventDataBeyondWindow() {
        var w = Wire()
        // First captured segment: the server's SYN+ACK (Linux: win 65160, wscale 7).
        w.send(false, [.syn, .ack], seq: 5000, ack: 1001, window: 65160, wscale: 7)
        w.c(.ack, seq: 1001, ack: 5001, window: 502)                          // 502 << 7 = 64256
        w.c([.psh, .ack], seq: 1001, ack: 5001, len: 100, window: 502)        // request
        w.s([.psh, .ack], seq: 5001, ack: 1101, len: 1448, window: 509)       // response, 2 segments
        w.s([.psh, .ack], seq: 6449, ack: 1101, len: 1448, window: 509)
        #expect(!w.anomalyCodes.contains("data-beyond-window"))
        #expect(w.summaries[0].violationCount == 0)
    }

    // FINDING: a retransmitted SYN+ACK is taken as *proof* of ESTABLISHED.
    // The server is ESTABLISHED only by inference (the client's ACK passed the capture point). If
    // the server then retransmits its SYN+ACK, it evidently never got that ACK (Linux does exactly
    // this when the accept queue is full and the ACK is dropped, tcp_abort_on_overflow=0). Yet
    // `sent()` runs the confirmation check first (confirmAck is nil for a passive opener, so any
    // ACK-bearing segment confirms, SYN+ACK included) and reports ESTABLISHED as `observed`.
    // Right behaviour: like `fin-retransmission` (docs/anomalies.md), the contradicted inference
    // is withdrawn: the server is SYN_RECEIVED (observed) until an ACK is accepted again.
    @Test func synAckRetransmissionWithdrawsInferredEstablishedInsteadOfConfirmingIt() {
        var w = Wire()
        w.handshake()
        w.s([.syn, .ack], seq: 5000, ack: 1001, after: 1_000_000_000)          // SYN+ACK again after 1 s
        let s = w.summaries[0]
        #expect(!(s.serverState == .established && s.serverEvidence == .observed))
        #expect(s.serverState == .synReceived)
        #expect(w.anomalyCodes.contains("synack-retransmission"))
    }

    // FINDING: a retransmitted FIN does not restart TIME_WAIT when windows are known.
    // docs/tracker.md: "TIME_WAIT ends 2·MSL after the endpoint entered it (restarted by a
    // retransmitted FIN)"; RFC 9293 §3.10.7.4 TIME-WAIT: "The only thing that can arrive in this
    // state is a retransmission of the remote FIN. Acknowledge it, and restart the 2 MSL timeout."
    // Linux does so (tcp_timewait_state_process → inet_twsk_reschedule). In the code the restart
    // sits after the sequence-acceptability test, which rejects the old FIN (seq = RCV.NXT-1), so
    // the restart is unreachable whenever the window is known (every normal handshake).
    @Test func retransmittedFinRestartsTimeWait() {
        var w = Wire()
        w.tracker.configuration.msl = 1_000_000_000                            // TIME_WAIT = 2 s
        w.handshake()
        w.c([.fin, .ack], seq: 1001, ack: 5001)
        w.s(.ack, seq: 5001, ack: 1002)
        w.s([.fin, .ack], seq: 5001, ack: 1002)                                // client TIME_WAIT at T
        w.c(.ack, seq: 1002, ack: 5002)                                        // lost after the capture point
        w.s([.fin, .ack], seq: 5001, ack: 1002, after: 1_500_000_000)          // T+1.5 s: FIN again → restart
        w.c(.ack, seq: 1002, ack: 5002)
        #expect(w.anomalyCodes.contains("fin-retransmission"))
        // Another connection moves capture time to ~T+2.7 s: the restarted TIME_WAIT (until T+3.5 s)
        // must still hold.
        w.client.port = 40001
        w.c(.syn, seq: 1, after: 1_200_000_000)
        #expect(w.summaries[0].clientState == .timeWait)
    }

    // FINDING: a connection whose passive opener went back to LISTEN never leaves the table.
    // SYN, SYN+ACK, RST (a Linux client whose connect() was abandoned answers the SYN+ACK with a
    // RST from no socket; `nmap -sS` does the same) ends with client CLOSED and server back in
    // LISTEN (RFC 9293 §3.10.7.4, correct). But LISTEN has no TCB for this 4-tuple: the connection is
    // over. `closedAt` is only set when both endpoints are CLOSED, so the entry lingers until
    // `finish()` (or the live idle timeout), breaking docs/tracker.md's "Memory is bounded by
    // connection rate × (TIME_WAIT + linger)" and reporting it as `end-of-capture`, not `closed`.
    @Test func resetHandshakeLeavesTheTableAfterLinger() {
        var w = Wire()
        w.c(.syn, seq: 1000)
        w.s([.syn, .ack], seq: 5000, ack: 1001)
        w.c(.rst, seq: 1001)
        #expect(w.states == (.closed, .listen))
        w.client.port = 40001
        w.c(.syn, seq: 1, after: 100_000_000_000)                              // 100 s later, another flow
        #expect(w.tracker.connectionCount == 1)
        let done = w.finish()
        #expect(done.first?.endReason == .closed)
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
        w.s([.psh, .ack], seq: 5001, ack: 1001, len: 30)                       // "220 mail ESMTP\r\n"
        #expect(!w.anomalyCodes.contains("data-before-established"))
        #expect(w.summaries[0].violationCount == 0)
        #expect(w.states.1 == .established)
        w.c(.ack, seq: 1001, ack: 5031)
        #expect(w.states == (.established, .established))
    }

    // FINDING: after `ack-of-unseen-data`, the acknowledger's RCV.NXT is not advanced, so a
    // legitimate RST at the true RCV.NXT is rejected.
    // docs/tracker.md: after a capture gap "the tracker then assumes the missed bytes were sent and
    // received". The code advances the data sender's SND.NXT but not the acknowledger's RCV.NXT,
    // although the acknowledgment field *is* the acknowledger's RCV.NXT (RFC 9293 §3.4). A server
    // abort (Linux tcp_send_active_reset: RST+ACK at SND.NXT) then looks like a RST at 6101 against a
    // stale RCV.NXT of 5101: `rst-challenged` (suspicious), and — since a rejected RST "closes
    // nobody" — both endpoints stay ESTABLISHED. RFC 5961 §3.2: SEG.SEQ == RCV.NXT → reset.
    @Test func rstAtTheRealRcvNxtAfterACaptureGapCloses() {
        var w = Wire()
        w.handshake()
        w.s([.psh, .ack], seq: 5001, ack: 1001, len: 100)
        // 5101..6100 not captured
        w.c(.ack, seq: 1001, ack: 6101)                                         // ack-of-unseen-data
        w.s([.rst, .ack], seq: 6101, ack: 1001)                                 // server aborts
        #expect(w.anomalyCodes.contains("ack-of-unseen-data"))
        #expect(!w.anomalyCodes.contains("rst-challenged"))
        #expect(w.states == (.closed, .closed))
    }

    // FINDING: FIN_WAIT_2 is "confirmed" by an ACK that predates the ACK of the FIN.
    // FIN_WAIT_1 → FIN_WAIT_2 sets `confirmAck = nil`, so *any* later ACK from the endpoint upgrades
    // FIN_WAIT_2 to `observed`. docs/tracker.md: observed needs "an ACK at or beyond the sequence
    // number that put it there". Here the server's ACK of the FIN has seq 5201, but the client's next
    // segment acknowledges only 5101 — it had not even received the data sent before the ACK of its
    // FIN (realistic for a capture near the server: the client's ACK of the first segment crosses
    // the server's later segments). FIN_WAIT_2 must stay `inferred`.
    @Test func finWait2IsNotConfirmedByAnOlderAck() {
        var w = Wire()
        w.handshake()
        w.c([.fin, .ack], seq: 1001, ack: 5001)                                 // client closes
        w.s([.psh, .ack], seq: 5001, ack: 1001, len: 100)                       // sent before the FIN arrived
        w.s([.psh, .ack], seq: 5101, ack: 1001, len: 100)
        w.s(.ack, seq: 5201, ack: 1002)                                         // server got the FIN
        #expect(w.states.0 == .finWait2)
        w.c(.ack, seq: 1002, ack: 5101)                                         // acks only the first segment
        let s = w.summaries[0]
        #expect(s.clientState == .finWait2)
        #expect(s.clientEvidence != .observed)
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

    // MARK: - CHECKED (expected to pass)

    // CHECKED: ISNs at the top of sequence space (both wrap during the connection). Modulo-2³²
    // comparisons in handshake, data, ACK-of-FIN and TIME_WAIT are right; no anomalies.
    @Test func isnsNear2To32WrapCleanly() {
        var w = Wire()
        let ci: UInt32 = 0xFFFF_FFF0, si: UInt32 = 0xFFFF_FFFF
        w.c(.syn, seq: ci)
        w.s([.syn, .ack], seq: si, ack: ci &+ 1)                               // ack = 0xFFFFFFF1
        w.c(.ack, seq: ci &+ 1, ack: si &+ 1)                                  // ack wraps to 0
        #expect(w.states == (.established, .established))
        w.c([.psh, .ack], seq: ci &+ 1, ack: 0, len: 100)                      // crosses 2³²
        w.s([.psh, .ack], seq: 0, ack: ci &+ 101, len: 200)
        w.c(.ack, seq: ci &+ 101, ack: 200)
        w.c([.fin, .ack], seq: ci &+ 101, ack: 200)
        #expect(w.states == (.finWait1, .closeWait))
        w.s([.fin, .ack], seq: 200, ack: ci &+ 102)
        #expect(w.states == (.timeWait, .lastAck))
        w.c(.ack, seq: ci &+ 102, ack: 201)
        #expect(w.states == (.timeWait, .closed))
        #expect(w.anomalyCodes.isEmpty)
    }

    // CHECKED: RSTs judged against an RCV.NXT just past the wrap: one just *before* the wrap is
    // outside the window, one in the window but not exact is challenged, the exact one closes.
    @Test func rstAcrossTheWrapIsJudgedModulo2To32() {
        var w = Wire()
        w.c(.syn, seq: 0xFFFF_FFFE)
        w.s([.syn, .ack], seq: 5000, ack: 0xFFFF_FFFF)
        w.c(.ack, seq: 0xFFFF_FFFF, ack: 5001)
        w.c([.psh, .ack], seq: 0xFFFF_FFFF, ack: 5001, len: 10)                // RCV.NXT → 9
        w.s(.ack, seq: 5001, ack: 9)
        w.c([.rst], seq: 0xFFFF_FFFF)                                         // old: below RCV.NXT
        #expect(w.anomalyCodes.last == "rst-out-of-window")
        w.c([.rst], seq: 100)                                                 // in window, not exact
        #expect(w.anomalyCodes.last == "rst-challenged")
        #expect(w.states == (.established, .established))
        w.c([.rst, .ack], seq: 9, ack: 5001)
        #expect(w.states == (.closed, .closed))
    }

    // CHECKED: window scaling from a full handshake (Linux: 64240/wscale 7 and 65160/wscale 7):
    // back-to-back full segments inside the scaled window are fine, data past the scaled right edge
    // is flagged, and the SYN's own window is read unscaled (RFC 7323 §2.2).
    @Test func scaledWindowsFromAFullHandshake() {
        var w = Wire()
        w.send(true, .syn, seq: 1000, window: 64240, wscale: 7)
        w.send(false, [.syn, .ack], seq: 5000, ack: 1001, window: 65160, wscale: 7)
        w.c(.ack, seq: 1001, ack: 5001, window: 502)                           // 64256 bytes
        w.c([.psh, .ack], seq: 1001, ack: 5001, len: 100, window: 502)
        var seq: UInt32 = 5001
        for _ in 0..<10 {                                                     // IW10: 14480 bytes
            w.s([.ack], seq: seq, ack: 1101, len: 1448, window: 509)
            seq &+= 1448
        }
        #expect(!w.anomalyCodes.contains("data-beyond-window"))
        // Client shrinks nothing, but now the server sends past 5001 + 64256 (misbehaving peer).
        w.s([.ack], seq: 5001 &+ 64256 &- 100, ack: 1101, len: 1448, window: 509)
        #expect(w.anomalyCodes.contains("data-beyond-window"))
    }

    // CHECKED: scaled window right edge that wraps past 2³².
    @Test func scaledWindowEdgeAcrossTheWrap() {
        var w = Wire()
        let si: UInt32 = 0xFFFF_0000
        w.send(true, .syn, seq: 1000, window: 64240, wscale: 7)
        w.send(false, [.syn, .ack], seq: si, ack: 1001, window: 65160, wscale: 7)
        w.c(.ack, seq: 1001, ack: si &+ 1, window: 1000)                       // edge = si+1+128000, wrapped
        for i in 0..<40 {
            w.s([.ack], seq: si &+ 1 &+ UInt32(i) &* 1448, ack: 1001, len: 1448, window: 509)
        }
        #expect(!w.anomalyCodes.contains("data-beyond-window"))
        #expect(!w.anomalyCodes.contains("previous-segment-not-captured"))
    }

    // CHECKED: the server closes first (HTTP/1.0 style) and the client reuses the port while the
    // server is in TIME_WAIT: new incarnation, reuse-in-time-wait, old server TIME_WAIT → CLOSED.
    @Test func portReuseAgainstServerTimeWait() throws {
        var w = Wire()
        w.handshake()
        w.s([.fin, .ack], seq: 5001, ack: 1001)
        w.c([.fin, .ack], seq: 1001, ack: 5002)
        w.s(.ack, seq: 5002, ack: 1002)
        #expect(w.states == (.closed, .timeWait))
        w.c(.syn, seq: 777_777, after: 5_000_000_000)
        w.s([.syn, .ack], seq: 888_888, ack: 777_778)
        w.c(.ack, seq: 777_778, ack: 888_889)
        #expect(w.states == (.established, .established))
        let done = w.finish()
        try #require(done.count == 2)
        #expect(done[0].endReason == .reused && done[0].serverState == .closed)
        #expect(w.anomalyCodes.contains("reuse-in-time-wait"))
        #expect(done.allSatisfy { $0.violationCount == 0 })
    }

    // CHECKED: TIME_WAIT with the default MSL (60 s) is still TIME_WAIT at 59 s and CLOSED at 61 s;
    // the finished connection then leaves the table after the linger.
    @Test func defaultTimeWaitIsSixtySecondsAndThenTheConnectionLeaves() {
        var w = Wire()
        w.handshake()
        w.c([.fin, .ack], seq: 1001, ack: 5001)
        w.s([.fin, .ack], seq: 5001, ack: 1002)
        w.c(.ack, seq: 1002, ack: 5002)
        #expect(w.states == (.timeWait, .closed))
        w.client.port = 40001
        w.c(.syn, seq: 1, after: 59_000_000_000)
        #expect(w.summaries[0].clientState == .timeWait)
        w.c(.syn, seq: 1, after: 2_000_000_000)
        #expect(w.summaries[0].clientState == .closed)
        w.c(.syn, seq: 1, after: 11_000_000_000)
        #expect(w.tracker.connectionCount == 1)
    }

    // CHECKED: a refused connection (both CLOSED) leaves the table after the linger.
    @Test func refusedConnectionLeavesTheTable() {
        var w = Wire()
        w.c(.syn, seq: 1000)
        w.s([.rst, .ack], seq: 0, ack: 1001)
        w.client.port = 40001
        w.c(.syn, seq: 1, after: 11_000_000_000)
        #expect(w.tracker.connectionCount == 1)
    }

    // CHECKED: midstream pickup on an idle connection's keep-alive exchange is never a violation.
    @Test func midstreamKeepAlivesAreNotViolations() {
        var w = Wire()
        w.c(.ack, seq: 1000, ack: 5001)                                        // keep-alive (SND.NXT-1)
        w.s(.ack, seq: 5001, ack: 1001)
        w.c(.ack, seq: 1000, ack: 5001, after: 75_000_000_000)
        w.s(.ack, seq: 5001, ack: 1001)
        #expect(w.summaries[0].violationCount == 0)
        #expect(w.anomalyCodes.contains("keep-alive"))
        #expect(w.states == (.established, .established))
    }

    // CHECKED: the client's ACK of the SYN+ACK lost after the capture point, then the client's
    // data (with ACK) completes the server's handshake; no violation.
    @Test func clientDataCompletesServerHandshake() {
        var w = Wire()
        w.c(.syn, seq: 1000)
        w.s([.syn, .ack], seq: 5000, ack: 1001)
        w.c([.psh, .ack], seq: 1001, ack: 5001, len: 50)
        #expect(w.states == (.established, .established))
        #expect(w.summaries[0].violationCount == 0)
    }

    // CHECKED: the ordinary close with the FIN piggybacked on the last data segment, and the peer's
    // FIN+ACK acknowledging both: FIN_WAIT_1 → TIME_WAIT directly (RFC 9293 §3.10.7.4, FIN bit).
    @Test func finAckThatAcksOurFinGoesStraightToTimeWait() {
        var w = Wire()
        w.handshake()
        w.c([.fin, .psh, .ack], seq: 1001, ack: 5001, len: 20)
        w.s([.fin, .ack], seq: 5001, ack: 1022)
        #expect(w.states == (.timeWait, .lastAck))
        w.c(.ack, seq: 1022, ack: 5002)
        #expect(w.states == (.timeWait, .closed))
        #expect(w.anomalyCodes.isEmpty)
    }
}
