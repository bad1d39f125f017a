import Testing
import WireStateDecoder
@testable import WireStateTracker

/// Zeek's conn_state and history rules, one case each (scripts/base/protocols/conn/main.zeek and
/// TCPSessionAdapter.cc, summarised in shared/design/anchors.md §1.4–1.5). Originator = client.
@Suite struct ZeekViewTests {
    struct Z {
        var view = ZeekView()
        let o = SocketAddress(IPAddress("10.0.0.1")!, 40000)
        let r = SocketAddress(IPAddress("10.0.0.2")!, 80)

        mutating func o(_ f: TCPFlags, _ seq: UInt32, ack: UInt32 = 0, len: UInt32 = 0, window: UInt16 = 1000) {
            view.observe(
                TCPSegment(
                    source: o, destination: r, sequence: seq, acknowledgment: ack, flags: f,
                    window: window, payloadLength: len), isOrig: true)
        }
        mutating func r(_ f: TCPFlags, _ seq: UInt32, ack: UInt32 = 0, len: UInt32 = 0, window: UInt16 = 1000) {
            view.observe(
                TCPSegment(
                    source: r, destination: o, sequence: seq, acknowledgment: ack, flags: f,
                    window: window, payloadLength: len), isOrig: false)
        }
        /// Originator ISN 100, responder ISN 500.
        mutating func handshake() {
            o(.syn, 100)
            r([.syn, .ack], 500, ack: 101)
            o(.ack, 101, ack: 501)
        }
        mutating func data() {
            o([.ack, .psh], 101, ack: 501, len: 10)
            r([.ack, .psh], 501, ack: 111, len: 20)
        }
        var state: String { view.connState.name }
        var history: String { view.history.text }
    }

    @Test func s0AttemptWithoutReplyAndRetransmittedSynIsOneLetter() {
        var z = Z()
        z.o(.syn, 100)
        z.o(.syn, 100)
        #expect(z.state == "S0")
        #expect(z.history == "S")
    }

    @Test func rejSynAnsweredByRst() {
        var z = Z()
        z.o(.syn, 100)
        z.r([.rst, .ack], 0, ack: 101)
        #expect(z.state == "REJ")
        #expect(z.history == "Sr")
    }

    @Test func s1EstablishedNotTerminated() {
        var z = Z()
        z.handshake()
        z.data()
        #expect(z.state == "S1")
        #expect(z.history == "ShADd")  // data with ACK is D/d only: a/A is for pure ACKs
    }

    @Test func sfNormalEstablishmentAndTermination() {
        var z = Z()
        z.handshake()
        z.data()
        z.o([.fin, .ack], 111, ack: 521)
        z.r([.fin, .ack], 521, ack: 112)
        z.o(.ack, 112, ack: 522)
        #expect(z.state == "SF")
        #expect(z.history == "ShADdFf")
    }

    @Test func retransmittedFinIsOneLetterButANewFinSequenceIsAnother() {
        var z = Z()
        z.handshake()
        z.o([.fin, .ack], 101, ack: 501)
        z.o([.fin, .ack], 101, ack: 501)
        #expect(z.history == "ShAF")
        z.o([.fin, .ack], 105, ack: 501)
        #expect(z.history == "ShAFF")
    }

    @Test func s2OriginatorClosedResponderSilent() {
        var z = Z()
        z.handshake()
        z.o([.fin, .ack], 101, ack: 501)
        #expect(z.state == "S2")
    }

    @Test func s3ResponderClosedOriginatorSilent() {
        var z = Z()
        z.handshake()
        z.r([.fin, .ack], 501, ack: 101)
        #expect(z.state == "S3")
        #expect(z.history == "ShAf")
    }

    @Test func rstoOriginatorAborted() {
        var z = Z()
        z.handshake()
        z.o([.rst, .ack], 101, ack: 501)
        #expect(z.state == "RSTO")
        #expect(z.history == "ShAR")
    }

    @Test func rstrResponderAborted() {
        var z = Z()
        z.handshake()
        z.data()
        z.r([.rst, .ack], 521, ack: 111)
        #expect(z.state == "RSTR")
        #expect(z.history == "ShADdr")
    }

    @Test func rstos0SynThenOriginatorRstWithoutSynAck() {
        var z = Z()
        z.o(.syn, 100)
        z.o(.rst, 101)
        #expect(z.state == "RSTOS0")
        #expect(z.history == "SR")
    }

    /// The same RST after originator data does not match `^?S[^HAFGIQ]*R.*`: OTH, not RSTOS0.
    @Test func originatorRstAfterMidstreamDataIsOTH() {
        var z = Z()
        z.o([.ack, .psh], 101, ack: 501, len: 5)
        z.o(.rst, 106)
        #expect(z.history == "DR")
        #expect(z.state == "OTH")
    }

    /// SYN+ACK first (from the responder): the history begins with ^, Zeek's flipped-roles mark.
    @Test func rstrhSynAckThenResponderRstWithoutSyn() {
        var z = Z()
        z.r([.syn, .ack], 500, ack: 101)
        z.r(.rst, 501)
        #expect(z.state == "RSTRH")
        #expect(z.history == "^hr")
    }

    @Test func shSynThenFinWithoutSynAck() {
        var z = Z()
        z.o(.syn, 100)
        z.o(.fin, 101)
        #expect(z.state == "SH")
        #expect(z.history == "SF")
    }

    @Test func shrSynAckThenResponderFinWithoutSyn() {
        var z = Z()
        z.r([.syn, .ack], 500, ack: 101)
        z.r([.fin, .ack], 501, ack: 101)
        #expect(z.state == "SHR")
        #expect(z.history == "^hf")
    }

    @Test func othMidstreamTrafficNotClosed() {
        var z = Z()
        z.o([.ack, .psh], 101, ack: 501, len: 5)
        z.r(.ack, 501, ack: 106)
        #expect(z.state == "OTH")
        #expect(z.history == "Da")
    }

    /// SF needs no handshake in Zeek: two midstream endpoints that both FIN.
    @Test func midstreamBothClosedIsSF() {
        var z = Z()
        z.o([.ack, .psh], 101, ack: 501, len: 5)
        z.o([.fin, .ack], 106, ack: 501)
        z.r([.fin, .ack], 501, ack: 107)
        #expect(z.state == "SF")
    }

    /// Retransmitted payload: a T at the 1st and the 10th retransmission (then the 100th …).
    @Test func retransmissionLettersAreLogarithmic() {
        var z = Z()
        z.handshake()
        z.o([.ack, .psh], 101, ack: 501, len: 10)
        for _ in 0..<9 { z.o([.ack, .psh], 101, ack: 501, len: 10) }
        #expect(z.history == "ShADT")
        z.o([.ack, .psh], 101, ack: 501, len: 10)
        #expect(z.history == "ShADTT")
    }

    @Test func zeroWindowIsLoggedButNotWithARst() {
        var z = Z()
        z.handshake()
        z.r([.ack, .rst], 501, ack: 101, window: 0)
        #expect(!z.history.contains("w"))
        var y = Z()
        y.handshake()
        y.r(.ack, 501, ack: 101, window: 0)
        #expect(y.history == "ShAaw")
    }

    @Test func finRstIsIAndSynFinIsQOncePerDirection() {
        var z = Z()
        z.handshake()
        z.o([.fin, .rst, .ack], 101, ack: 501)
        z.o([.fin, .rst, .ack], 101, ack: 501)
        #expect(z.history == "ShAI")
        var y = Z()
        y.o([.syn, .fin], 100)
        y.o([.syn, .fin], 100)
        #expect(y.history == "Q")
    }

    /// Bytes the responder acknowledges that no captured segment carried: a gap (G) for the
    /// originator, and conn.log's missed_bytes.
    @Test func acknowledgedHoleIsAGap() {
        var z = Z()
        z.handshake()
        z.o([.ack, .psh], 101, ack: 501, len: 10)
        z.o([.ack, .psh], 121, ack: 501, len: 10)  // 111..<121 not captured
        z.r(.ack, 501, ack: 131)
        #expect(z.history == "ShADaG")
        #expect(z.view.missedBytes == 10)
        #expect(z.state == "S1")
    }

    /// Gaps are not reported for partial (midstream) connections, as report_gaps_for_partial=F.
    @Test func noGapLettersOnPartialConnections() {
        var z = Z()
        z.o([.ack, .psh], 101, ack: 501, len: 10)
        z.r(.ack, 501, ack: 500_000)
        #expect(!z.history.contains("G"))
    }

    @Test func historyIsBoundedToItsFirst48Letters() {
        var h = ZeekHistory()
        for _ in 0..<60 { h.append(UInt8(ascii: "S")) }
        #expect(h.count == 48)
        #expect(h.text == String(repeating: "S", count: 48))
    }

    /// Through the tracker: the hook sees every segment, and the final summary carries the facts.
    @Test func trackerSummaryCarriesZeekViewHandshakeTimingAndWhoClosed() {
        var w = Wire()
        w.handshake()
        w.c([.fin, .ack], seq: 1001, ack: 5001)
        w.s(.ack, seq: 5001, ack: 1002)
        w.s([.fin, .ack], seq: 5001, ack: 1002, after: 5_000_000)
        w.c(.ack, seq: 1002, ack: 5002)
        let s = try! #require(w.finish().first)
        #expect(s.facts.zeek.connState == .sf)
        #expect(s.facts.zeek.history.text == "ShAFaf")
        #expect(s.facts.closedBy == .client)
        #expect(s.facts.resetBy == nil)
        #expect(s.facts.synToSynAck == 1_000_000)
        #expect(s.facts.synAckToAck == 1_000_000)
        #expect(s.facts.handshakeRTT == 2_000_000)
    }

    @Test func resetBySenderOfTheFirstRst() {
        var w = Wire()
        w.handshake()
        w.s([.rst, .ack], seq: 5001, ack: 1001)
        w.c(.rst, seq: 1001)
        let s = try! #require(w.finish().first)
        #expect(s.facts.resetBy == .server)
        // Both reset with no payload either way: Zeek calls that REJ, not RSTR (main.zeek's first rule).
        #expect(s.facts.zeek.connState == .rej)
    }

    /// A retransmitted SYN: the SYN→SYN+ACK half is measured from the SYN the SYN+ACK answers.
    @Test func handshakeTimingUsesTheLatestSyn() {
        var w = Wire()
        w.c(.syn, seq: 1000)
        w.c(.syn, seq: 1000, after: 1_000_000_000)
        w.s([.syn, .ack], seq: 5000, ack: 1001, after: 3_000_000)
        w.c(.ack, seq: 1001, ack: 5001, after: 2_000_000)
        let s = try! #require(w.finish().first)
        #expect(s.facts.synToSynAck == 3_000_000)
        #expect(s.facts.synAckToAck == 2_000_000)
    }
}
