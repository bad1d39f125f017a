import Testing
import WireStateDecoder
@testable import WireStateTracker

/// Flag sets no state allows: SYN+FIN, and a synchronized-state segment without ACK.
@Suite struct FlagTests {
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
}
