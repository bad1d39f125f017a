import Testing
import WireStateDecoder
@testable import WireStateTracker

/// `ConnectionFacts`' idle bookkeeping, one rule at a time (the captures in Captures/diagnose show
/// it end to end): what counts as activity before a RST, and each side's last segment.
@Suite struct ConnectionFactsTests {
    /// A 1-byte keep-alive (seq one below the highest sent, as Windows sends them) is not activity;
    /// a 1-byte segment of new data is.
    @Test func oneByteKeepAliveIsNotActivityButNewDataIs() throws {
        var w = Wire()
        w.handshake()
        w.c([.ack, .psh], seq: 1001, ack: 5001, len: 10)  // data: activity, at t0
        w.s(.ack, seq: 5001, ack: 1011)
        let t0 = w.time - 1_000_000
        w.c(.ack, seq: 1010, ack: 5001, len: 1, after: 3_000_000_000)  // keep-alive with one byte
        w.s(.ack, seq: 5001, ack: 1011)
        w.s(.rst, seq: 5001, after: 2_000_000_000)
        let f = try #require(w.finish().first?.facts)
        #expect(f.resetBy == .server)
        #expect(f.idleBeforeReset == CaptureTime.elapsed(from: t0, to: w.time))
        #expect(f.silenceBeforeReset == 2_000_000_000, "the keep-alive's ACK is the last segment")
        #expect(f.lastClientTime == t0 + 1_000_000 + 3_000_000_000)
        #expect(f.lastServerTime == w.time)

        var v = Wire()
        v.handshake()
        v.c([.ack, .psh], seq: 1001, ack: 5001, len: 10)
        v.c([.ack, .psh], seq: 1011, ack: 5001, len: 1, after: 3_000_000_000)  // one new byte
        let t1 = v.time
        v.s(.rst, seq: 5001, after: 2_000_000_000)
        #expect(v.finish().first?.facts.idleBeforeReset == CaptureTime.elapsed(from: t1, to: v.time))
    }

    @Test func onlyTheFirstResetIsMeasured() throws {
        var w = Wire()
        w.handshake()
        w.c(.rst, seq: 1001, after: 7_000_000_000)
        w.s(.rst, seq: 5001, after: 9_000_000_000)
        let f = try #require(w.finish().first?.facts)
        #expect(f.resetBy == .client)
        // From the SYN+ACK, the last segment with sequence space: the handshake's pure ACK is not activity.
        #expect(f.idleBeforeReset == 7_001_000_000)
        #expect(f.silenceBeforeReset == 7_000_000_000)
    }
}
