import Testing
import WireStateDecoder
@testable import WireStateTracker

/// Time-driven changes (TIME_WAIT, linger, idle) and the connection cap.
@Suite struct ExpiryAndCapTests {
    static let second: Int64 = 1_000_000_000

    /// A client-closed connection: the client ends in TIME_WAIT at the last frame's time.
    static func closedByClient(msl: Int64, linger: Int64 = 10 * second) -> Wire {
        var w = Wire()
        w.tracker = ConnectionTracker(configuration: .init(msl: msl, closedLinger: linger))
        w.handshake()
        w.c([.fin, .ack], seq: 1001, ack: 5001)
        w.s([.fin, .ack], seq: 5001, ack: 1002)
        w.c(.ack, seq: 1002, ack: 5002)
        return w
    }

    /// Another connection's packet at `time`: moves capture time without touching the first.
    static func tick(_ w: inout Wire, at time: Int64) {
        let s = TCPSegment(
            source: SocketAddress(IPAddress("10.9.9.9")!, 1234), destination: SocketAddress(IPAddress("10.9.9.8")!, 80),
            sequence: 1, acknowledgment: 0, flags: .syn, window: 1000)
        w.tracker.process(s, frame: FrameRef(number: 999), time: time)
        w.events += w.tracker.events
        w.tracker.events.removeAll()
    }

    @Test func timeWaitEndsExactlyTwoMSLAfterItBegan() throws {
        let msl = 7 * Self.second  // not the default: the option must take effect
        var w = Self.closedByClient(msl: msl)
        let entered = try #require(w.transitions.first { $0.to == .timeWait }).time
        #expect(w.states.0 == .timeWait)
        Self.tick(&w, at: entered + 2 * msl - 1)
        #expect(w.tracker.activeSummaries().first?.clientState == .timeWait, "still TIME_WAIT 1 ns before 2·MSL")
        Self.tick(&w, at: entered + 2 * msl)
        let expiry = try #require(w.transitions.first { $0.cause == .timeWaitExpired })
        #expect(expiry.endpoint == .client && expiry.from == .timeWait && expiry.to == .closed)
        #expect(expiry.time == entered + 2 * msl)
    }

    @Test func aClosedConnectionLingersThenLeaves() throws {
        var w = Self.closedByClient(msl: Self.second, linger: 3 * Self.second)
        let entered = try #require(w.transitions.first { $0.to == .timeWait }).time
        // TIME_WAIT over at +2 s; both CLOSED from then; the linger runs 3 s more.
        Self.tick(&w, at: entered + 5 * Self.second - 1)
        #expect(w.tracker.connectionCount == 2, "still lingering")
        Self.tick(&w, at: entered + 5 * Self.second)
        let done = try #require(
            w.events.compactMap { e -> ConnectionSummary? in
                if case .finished(let s) = e { return s } else { return nil }
            }.first)
        #expect(done.ref.id == 1 && done.endReason == .closed)
        #expect(w.tracker.connectionCount == 1)
    }

    @Test func theIdleTimeoutRetiresTheQuietestFirst() throws {
        var tracker = ConnectionTracker(configuration: .init(idleTimeout: 10 * Self.second))
        for i in 0..<3 {
            let s = TCPSegment(
                source: SocketAddress(IPAddress(ipv4: 0x0a00_0001 + UInt32(i)), 40000),
                destination: SocketAddress(IPAddress("10.0.1.1")!, 80),
                sequence: 100, acknowledgment: 0, flags: .syn, window: 1000)
            tracker.process(s, frame: FrameRef(number: UInt64(i + 1)), time: Int64(i) * Self.second)
        }
        tracker.events.removeAll()
        tracker.sweep(now: 11 * Self.second)  // the first two are 11 s and 10 s quiet
        let ended = tracker.events.compactMap { e -> ConnectionSummary? in if case .finished(let s) = e { return s } else { return nil } }
        #expect(ended.map(\.ref.id) == [1, 2])
        #expect(ended.allSatisfy { $0.endReason == .idle })
        #expect(tracker.connectionCount == 1)
    }

    /// A SYN flood from many sources cannot grow the table past the cap, and the one connection that
    /// completed its handshake is kept while unanswered SYNs are evicted first.
    @Test(arguments: [2_000, 8_000])
    func aSynFloodStaysUnderTheCapAndSparesEstablishedConnections(_ flood: Int) throws {
        var w = Wire()
        let cap = 100
        w.tracker = ConnectionTracker(configuration: .init(maxConnections: cap))
        w.handshake()
        for i in 0..<flood {
            let s = TCPSegment(
                source: SocketAddress(IPAddress(ipv4: 0x0b00_0000 &+ UInt32(i)), UInt16(1024 + i % 60000)),
                destination: w.server, sequence: UInt32(i), acknowledgment: 0, flags: .syn, window: 1000)
            w.tracker.process(s, frame: FrameRef(number: UInt64(10 + i)), time: w.time + Int64(i))
            #expect(w.tracker.connectionCount <= cap)
            w.tracker.events.removeAll(keepingCapacity: true)
        }
        #expect(w.tracker.evictedCount == UInt64(flood + 1 - cap))
        #expect(w.tracker.activeSummaries().contains { $0.ref.id == 1 && $0.serverState == .established })
        #expect(w.tracker.deadlines.count == 0, "a flood of SYNs schedules nothing")
    }

    @Test func evictionsAreReportedAsSuch() throws {
        var tracker = ConnectionTracker(configuration: .init(maxConnections: 1))
        for i in 0..<2 {
            let s = TCPSegment(
                source: SocketAddress(IPAddress(ipv4: 0x0a00_0001 + UInt32(i)), 40000),
                destination: SocketAddress(IPAddress("10.0.1.1")!, 80),
                sequence: 100, acknowledgment: 0, flags: .syn, window: 1000)
            tracker.process(s, frame: FrameRef(number: UInt64(i + 1)), time: Int64(i) * Self.second)
        }
        let ended = tracker.events.compactMap { e -> ConnectionSummary? in if case .finished(let s) = e { return s } else { return nil } }
        #expect(ended.count == 1)
        #expect(ended.first?.ref.id == 1 && ended.first?.endReason == .evicted)
    }

    /// Crossing many seconds with a full table costs a look at the queue's top, not a walk over
    /// the table: no connection is visited unless its own deadline is due.
    @Test func crossingSecondsWithAFullTableSchedulesOnlyWhatIsDue() throws {
        var w = Self.closedByClient(msl: 30 * Self.second)
        for i in 0..<5_000 {
            let s = TCPSegment(
                source: SocketAddress(IPAddress(ipv4: 0x0c00_0000 &+ UInt32(i)), 40000),
                destination: w.server, sequence: 1, acknowledgment: 0, flags: .syn, window: 1000)
            w.tracker.process(s, frame: FrameRef(number: UInt64(100 + i)), time: w.time + Int64(i) * Self.second)
        }
        // One TIME_WAIT scheduled, 5,000 SYN attempts without deadlines.
        #expect(w.tracker.deadlines.count <= 1)
        #expect(w.tracker.connectionCount == 5_000, "TIME_WAIT expired and lingered out; the attempts are held")
    }

    @Test func timesAtBothEndsOfTheRangeCannotTrap() throws {
        var w = Wire()
        w.tracker = ConnectionTracker(configuration: .init(msl: CaptureTime.maxDuration, closedLinger: CaptureTime.maxDuration))
        for (i, t) in [Int64.min, .max, .min, .max, 0, .max].enumerated() {
            let fromClient = i % 2 == 0
            w.tracker.process(
                TCPSegment(
                    source: fromClient ? w.client : w.server, destination: fromClient ? w.server : w.client,
                    sequence: fromClient ? 1000 : 5000, acknowledgment: fromClient ? 5001 : 1001,
                    flags: i == 0 ? .syn : (i == 1 ? [.syn, .ack] : (i == 5 ? [.fin, .ack] : .ack)),
                    window: 1000),
                frame: FrameRef(number: UInt64(i + 1)), time: t)
        }
        w.tracker.sweep(now: .max)
        w.tracker.sweep(now: .min)
        var idle = ConnectionTracker(configuration: .init(idleTimeout: CaptureTime.maxDuration))
        idle.process(
            TCPSegment(source: w.client, destination: w.server, sequence: 1, acknowledgment: 0, flags: .syn, window: 1),
            frame: FrameRef(number: 1), time: .min)
        idle.sweep(now: .max)  // 2⁶³ ns of quiet saturates, and is past any idle timeout
        #expect(idle.connectionCount == 0)
        let done = w.finish()
        let c = try #require(done.first)
        #expect(c.durationNanos == .max, "2⁶² − (−2⁶²) saturates: \(done.map { ($0.ref.id, $0.firstTime, $0.lastTime, $0.endReason?.name ?? "") })")
        #expect(CaptureTime.elapsed(from: .min, to: .max) == .max)
        #expect(CaptureTime.elapsed(from: .max, to: .min) == .min)
        #expect(CaptureTime.adding(.max, to: 1) == .max)
    }
}
