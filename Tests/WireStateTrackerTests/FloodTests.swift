import Testing
import WireStateDecoder
@testable import WireStateTracker

/// Floods at two sizes: what the tracker holds stays under its bounds, and what it does (events,
/// scheduled deadlines) grows with the packets, not faster. Times are in the benchmark
/// (`wirestate-bench --floods`), not here.
@Suite struct FloodTests {
    struct Outcome: Equatable { var peakHeld = 0; var peakDeadlines = 0; var events = 0; var evicted: UInt64 = 0 }

    static let server = SocketAddress(IPAddress("10.0.0.2")!, 80)

    static func drive(_ n: Int, cap: Int? = 1_000, _ segment: (Int) -> (TCPSegment, Int64)) -> Outcome {
        var t = ConnectionTracker(configuration: .init(msl: 1_000_000_000, closedLinger: 1_000_000_000, maxConnections: cap))
        var o = Outcome()
        for i in 0..<n {
            let (s, time) = segment(i)
            t.process(s, frame: FrameRef(number: UInt64(i + 1)), time: time)
            o.events += t.events.count
            t.events.removeAll(keepingCapacity: true)
            o.peakHeld = max(o.peakHeld, t.connectionCount)
            o.peakDeadlines = max(o.peakDeadlines, t.deadlines.count)
        }
        t.finish()
        o.events += t.events.count
        o.evicted = t.evictedCount
        return o
    }

    static func client(_ i: Int) -> SocketAddress {
        SocketAddress(IPAddress(ipv4: 0x0b00_0000 &+ UInt32(truncatingIfNeeded: i)), UInt16(truncatingIfNeeded: 1024 + i % 50_000))
    }

    /// At 4× the packets, at most 4× the events (findings that repeat collapse, so often fewer),
    /// the table under the cap, and the deadline queue bounded by the table, not by the packets.
    static func linear(_ name: String, cap: Int = 1_000, _ segment: @escaping (Int) -> (TCPSegment, Int64)) {
        let small = drive(5_000, cap: cap, segment), large = drive(20_000, cap: cap, segment)
        #expect(small.peakHeld <= cap && large.peakHeld <= cap, "\(name): table over the cap")
        let ratio = Double(large.events) / Double(max(small.events, 1))
        #expect(ratio < 4.5, "\(name): 4× the packets gave \(ratio)× the events")
        #expect(large.peakDeadlines <= 2 * cap + 1024 + 1, "\(name): deadlines \(large.peakDeadlines)")
    }

    @Test func synFloodFromRandomSources() {
        Self.linear("SYN flood") { i in
            (
                TCPSegment(
                    source: Self.client(i &* 7919), destination: Self.server, sequence: UInt32(i), acknowledgment: 0,
                    flags: .syn, window: 1000), Int64(i) * 1_000
            )
        }
    }

    @Test func rstStormOnOneConnection() {
        Self.linear("RST storm") { i in
            (
                TCPSegment(
                    source: Self.client(0), destination: Self.server, sequence: UInt32(truncatingIfNeeded: i &* 104_729),
                    acknowledgment: 0, flags: .rst, window: 0), Int64(i) * 1_000
            )
        }
    }

    @Test func sequenceNumbersWrappingOnOneConnection() {
        Self.linear("sequence wrap") { i in
            let fromClient = i % 2 == 0
            let seq = UInt32(truncatingIfNeeded: (i / 2) &* 60_000) &+ 0xFFFF_0000
            return (
                TCPSegment(
                    source: fromClient ? Self.client(0) : Self.server, destination: fromClient ? Self.server : Self.client(0),
                    sequence: fromClient ? seq : 5000, acknowledgment: fromClient ? 5000 : seq &+ 60_000,
                    flags: .ack, window: 65535, payloadLength: fromClient ? 60_000 : 0), Int64(i) * 1_000
            )
        }
    }

    /// One 4-tuple opened, reset and opened again with a new ISN, over and over.
    @Test func portReuseStorm() {
        Self.linear("port reuse") { i in
            let isn = UInt32(truncatingIfNeeded: (i / 2) &* 1_000_003)
            let s =
                i % 2 == 0
                ? TCPSegment(source: Self.client(1), destination: Self.server, sequence: isn, acknowledgment: 0, flags: .syn, window: 1000)
                : TCPSegment(
                    source: Self.server, destination: Self.client(1), sequence: 0, acknowledgment: isn &+ 1,
                    flags: [.rst, .ack], window: 0)
            return (s, Int64(i) * 1_000)
        }
    }

    /// Connections that complete a handshake and never close, a new one every packet triple.
    @Test func connectionsThatNeverClose() {
        Self.linear("never closing", cap: 500) { i in
            let c = Self.client(i / 3 + 100)
            switch i % 3 {
            case 0: return (TCPSegment(source: c, destination: Self.server, sequence: 1, acknowledgment: 0, flags: .syn, window: 1000), Int64(i))
            case 1: return (TCPSegment(source: Self.server, destination: c, sequence: 9, acknowledgment: 2, flags: [.syn, .ack], window: 1000), Int64(i))
            default: return (TCPSegment(source: c, destination: Self.server, sequence: 2, acknowledgment: 10, flags: .ack, window: 1000), Int64(i))
            }
        }
    }

    /// Closed connections scheduled for TIME_WAIT and linger while each packet crosses a second:
    /// the deadlines held stay bounded by the connections held.
    @Test func manySecondsCrossedWithTimeWaits() {
        Self.linear("seconds crossed", cap: 400) { i in
            let c = Self.client(i / 4 + 200)
            let t = Int64(i) * 1_000_000_000 / 4
            switch i % 4 {
            case 0: return (TCPSegment(source: c, destination: Self.server, sequence: 1, acknowledgment: 0, flags: .syn, window: 1000), t)
            case 1: return (TCPSegment(source: Self.server, destination: c, sequence: 9, acknowledgment: 2, flags: [.syn, .ack], window: 1000), t)
            case 2: return (TCPSegment(source: c, destination: Self.server, sequence: 2, acknowledgment: 10, flags: [.fin, .ack], window: 1000), t)
            default: return (TCPSegment(source: Self.server, destination: c, sequence: 10, acknowledgment: 3, flags: [.fin, .ack], window: 1000), t)
            }
        }
    }

    @Test func aCapThatIsNotReachedChangesNothing() {
        let segment: (Int) -> (TCPSegment, Int64) = { i in
            (
                TCPSegment(
                    source: Self.client(i % 300), destination: Self.server, sequence: UInt32(i % 300), acknowledgment: 0,
                    flags: .syn, window: 1000), Int64(i) * 1_000_000
            )
        }
        #expect(Self.drive(3_000, cap: 10_000, segment) == Self.drive(3_000, cap: nil, segment))
    }
}
