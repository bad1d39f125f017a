import Testing
import WireStateDecoder

@Suite struct FragmentReassemblerTests {
    static func piece(offset: UInt32, length: UInt32, more: Bool, id: UInt32 = 7) -> TCPSegment {
        var s = TCPSegment.empty
        s.source = SocketAddress(IPAddress("10.0.0.1")!, 0)
        s.destination = SocketAddress(IPAddress("10.0.0.2")!, 0)
        s.ipIdentification = id
        s.fragmentOffset = offset
        s.fragmentLength = length
        s.moreFragments = more
        return s
    }

    static func firstPiece(length: UInt32, id: UInt32 = 7) -> TCPSegment {
        var s = piece(offset: 0, length: length, more: true, id: id)
        s.source.port = 40000
        s.destination.port = 80
        s.headerLength = 20
        s.isFragment = true
        s.payloadLength = length - 20
        return s
    }

    @Test func outOfOrderPiecesGiveTheWholeLength() {
        var r = FragmentReassembler()
        #expect(r.later(Self.piece(offset: 1000, length: 220, more: false), time: 1) == nil)  // last first
        #expect(r.later(Self.piece(offset: 500, length: 500, more: true), time: 2) == nil)
        let whole = r.first(Self.firstPiece(length: 500), time: 3)
        let length: UInt32? = whole?.payloadLength
        #expect(length == 1200)
        #expect(whole?.isFragment == false)
        #expect(r.heldCount == 0)
    }

    @Test func anIncompleteDatagramIsReleasedAsItIsAtTheEnd() {
        var r = FragmentReassembler()
        #expect(r.first(Self.firstPiece(length: 500), time: 1) == nil)
        var out: [TCPSegment] = []
        r.flush(into: &out)
        #expect(out.count == 1)
        #expect(out.first?.payloadLength == 480, "only what was captured; the tracker reports the rest as a gap")
    }

    @Test func heldDatagramsAreBoundedInCountAndTime() {
        var r = FragmentReassembler()
        r.limit = 10
        for id in 0..<20 { _ = r.first(Self.firstPiece(length: 100, id: UInt32(id)), time: 0) }
        var out: [TCPSegment] = []
        r.expire(now: 1, into: &out)
        // Over the limit, the oldest go first, down to the limit.
        #expect(out.map(\.ipIdentification) == Array(0..<10))
        #expect(r.heldCount == 10)
        out.removeAll()
        r.expire(now: r.timeout, into: &out)
        #expect(out.map(\.ipIdentification) == Array(10..<20), "the rest time out, in arrival order")
        #expect(r.heldCount == 0)
    }

    /// Completed datagrams leave the queue without disturbing the order of the others, and only
    /// those past the timeout are released.
    @Test func expiryFollowsArrivalOrderAcrossCompletions() {
        var r = FragmentReassembler()
        r.timeout = 100
        for id in 0..<1_000 { _ = r.first(Self.firstPiece(length: 100, id: UInt32(id)), time: Int64(id)) }
        // Complete every even datagram.
        for id in stride(from: 0, to: 1_000, by: 2) {
            #expect(r.later(Self.piece(offset: 100, length: 50, more: false, id: UInt32(id)), time: 1_000) != nil)
        }
        #expect(r.heldCount == 500)
        var out: [TCPSegment] = []
        r.expire(now: 150, into: &out)  // held since 0…50 are at least 100 old
        #expect(out.map(\.ipIdentification) == Array(stride(from: 1, through: 49, by: 2)))
        out.removeAll()
        r.flush(into: &out)
        #expect(out.map(\.ipIdentification) == Array(stride(from: 51, to: 1_000, by: 2)))
        #expect(r.heldCount == 0)
    }
}
