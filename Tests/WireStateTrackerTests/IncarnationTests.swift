import Testing
import WireStateDecoder
@testable import WireStateTracker

/// Port reuse and time: a new ISN on a finished 4-tuple is a new incarnation (RFC 6191), the same ISN a retransmission; TIME_WAIT lasts 2·MSL of capture time.
@Suite struct IncarnationTests {
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

    // Issue 8 §2: a refused SYN is never retransmitted, so the same SYN again (same port and ISN,
    // as Windows retries a refused connect) is a new connect(): a new incarnation, not a
    // retransmission of the old one (Captures/syn-after-refusal-same-isn).
    @Test func sameIsnAfterARefusalIsANewIncarnation() throws {
        var w = Wire()
        w.c(.syn, seq: 1000)
        w.s([.rst, .ack], seq: 0, ack: 1001)
        w.c(.syn, seq: 1000, after: 500_000_000)
        w.s([.syn, .ack], seq: 7000, ack: 1001)
        w.c(.ack, seq: 1001, ack: 7001)
        let done = w.finish()
        try #require(done.count == 2)
        #expect(done[0].ref.incarnation == 1 && done[0].endReason == .reused && done[0].refused)
        #expect(done[0].clientState == .closed && done[0].serverState == .closed)
        #expect(done[1].ref.incarnation == 2 && done[1].clientState == .established)
        #expect(w.anomalyCodes.contains("port-reuse"))
        #expect(!w.anomalyCodes.contains("syn-retransmission"))
        #expect(!w.anomalyCodes.contains("synack-without-syn"))
    }

    // The same ISN with no reset in between is the old SYN again, unanswered.
    @Test func sameIsnWithoutAResetIsARetransmission() {
        var w = Wire()
        w.c(.syn, seq: 1000)
        w.c(.syn, seq: 1000, after: 1_000_000_000)
        let done = w.finish()
        #expect(done.count == 1)
        #expect(w.anomalyCodes.last == "syn-retransmission")
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
}
