import Testing
import WireStateDecoder
@testable import WireStateTracker

/// A small deterministic generator, so a failure names a seed that reproduces it.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}

@Suite struct TrackerPropertyTests {
    /// Feeds segments and checks the invariants on every event:
    /// every transition the RFC table does not allow comes with an anomaly on the same connection
    /// and frame; time-driven transitions are only TIME_WAIT → CLOSED; summaries are consistent.
    static func feed(_ segments: [(TCPSegment, Int64)], seed: UInt64) {
        var tracker = ConnectionTracker(configuration: .init(msl: 2_000_000_000, closedLinger: 1_000_000_000))
        var all: [TrackerEvent] = []
        for (i, (s, t)) in segments.enumerated() {
            tracker.process(s, frame: FrameRef(number: UInt64(i + 1)), time: t)
            all += tracker.events
            tracker.events.removeAll()
        }
        tracker.finish()
        all += tracker.events
        var anomalyFrames = Set<String>()
        for e in all {
            if case .anomaly(let a) = e { anomalyFrames.insert("\(a.connection.id)/\(a.frame?.number ?? 0)") }
        }
        for e in all {
            guard case .transition(let t) = e else { continue }
            if t.frame == nil {
                // Time ends TIME_WAIT; the end of the connection ends a presumed LISTEN.
                #expect(
                    (t.from == .timeWait && t.to == .closed)
                        || (t.from == .listen && t.to == .closed && t.cause == .listenerKeepsNoConnection),
                    "seed \(seed): timed transition \(t.from.name)→\(t.to.name)")
                continue
            }
            if !TCPState.rfcAllows(from: t.from, to: t.to) {
                #expect(
                    anomalyFrames.contains("\(t.connection.id)/\(t.frame!.number)"),
                    "seed \(seed): \(t.endpoint.name) \(t.from.name)→\(t.to.name) at frame \(t.frame!.number) has no anomaly")
            }
        }
        let finished = all.compactMap { e -> ConnectionSummary? in
            if case .finished(let s) = e { return s }; return nil
        }
        let opened = all.filter {
            if case .opened = $0 { return true }; return false
        }.count
        #expect(finished.count == opened, "seed \(seed): every opened connection is finished exactly once")
        #expect(tracker.connectionCount == 0)
    }

    static let flagChoices: [TCPFlags] = [
        .syn, [.syn, .ack], .ack, [.psh, .ack], [.fin, .ack], [.rst], [.rst, .ack], [.syn, .fin], [.fin], [],
        [.psh], [.syn, .rst], [.fin, .rst, .ack], [.urg, .ack], [.ece, .cwr, .syn]
    ]

    @Test(arguments: 0..<200)
    func randomSegmentsKeepTheInvariants(_ seed: Int) {
        var rng = SplitMix64(state: UInt64(seed))
        let a = SocketAddress(IPAddress("10.1.0.1")!, 40000), b = SocketAddress(IPAddress("10.1.0.2")!, 443)
        var seqs: [UInt32] = [UInt32.random(in: 0...UInt32.max, using: &rng), UInt32.random(in: 0...UInt32.max, using: &rng)]
        var segs: [(TCPSegment, Int64)] = []
        var t: Int64 = 1_000_000_000
        for _ in 0..<Int.random(in: 1...40, using: &rng) {
            let fromA = Bool.random(using: &rng)
            let i = fromA ? 0 : 1
            let flags = Self.flagChoices.randomElement(using: &rng)!
            let len = Bool.random(using: &rng) ? UInt32.random(in: 0...1500, using: &rng) : 0
            // Mostly plausible numbers, sometimes wild ones.
            let seq = Int.random(in: 0..<5, using: &rng) == 0 ? UInt32.random(in: 0...UInt32.max, using: &rng) : seqs[i]
            let ack = Int.random(in: 0..<5, using: &rng) == 0 ? UInt32.random(in: 0...UInt32.max, using: &rng) : seqs[1 - i]
            var s = TCPSegment(
                source: fromA ? a : b, destination: fromA ? b : a, sequence: seq, acknowledgment: ack,
                flags: flags, window: UInt16.random(in: 0...UInt16.max, using: &rng), payloadLength: len)
            if flags.contains(.syn) { s.options.windowScale = UInt8.random(in: 0...16, using: &rng) }
            seqs[i] = seq &+ s.sequenceLength
            t += Int64.random(in: 0...3_000_000_000, using: &rng)
            segs.append((s, t))
        }
        Self.feed(segs, seed: UInt64(seed))
    }

    /// A clean handshake-data-close conversation, then mutated: dropped, duplicated, swapped and
    /// bit-flipped segments.
    @Test(arguments: 0..<200)
    func mutatedConversationsKeepTheInvariants(_ seed: Int) {
        var rng = SplitMix64(state: UInt64(seed) &+ 10_000)
        let c = SocketAddress(IPAddress("fd00::1")!, 50000), s = SocketAddress(IPAddress("fd00::2")!, 8080)
        func seg(_ fromC: Bool, _ f: TCPFlags, _ seq: UInt32, _ ack: UInt32, _ len: UInt32 = 0) -> TCPSegment {
            TCPSegment(
                source: fromC ? c : s, destination: fromC ? s : c, sequence: seq, acknowledgment: ack,
                flags: f, window: 512, payloadLength: len)
        }
        var conv = [
            seg(true, .syn, 100, 0), seg(false, [.syn, .ack], 900, 101), seg(true, .ack, 101, 901),
            seg(true, [.psh, .ack], 101, 901, 50), seg(false, .ack, 901, 151), seg(false, [.psh, .ack], 901, 151, 70),
            seg(true, .ack, 151, 971), seg(true, [.fin, .ack], 151, 971), seg(false, [.fin, .ack], 971, 152),
            seg(true, .ack, 152, 972)
        ]
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let i = Int.random(in: 0..<conv.count, using: &rng)
            switch Int.random(in: 0..<5, using: &rng) {
            case 0: conv.remove(at: i)
            case 1: conv.insert(conv[i], at: i)
            case 2: conv.swapAt(i, Int.random(in: 0..<conv.count, using: &rng))
            case 3: conv[i].flags = TCPFlags(rawValue: conv[i].flags.rawValue ^ (1 << UInt16.random(in: 0...5, using: &rng)))
            default: conv[i].sequence ^= 1 << UInt32.random(in: 0...31, using: &rng)
            }
            if conv.isEmpty { break }
        }
        var t: Int64 = 5_000_000_000
        Self.feed(
            conv.map {
                t += 1_000_000; return ($0, t)
            }, seed: UInt64(seed))
    }
}

@Suite struct FlowTableTests {
    /// Inserts, touches and removes thousands of keys in random order against a model: a
    /// Dictionary for lookup and one ordered list per eviction class for least-recent order.
    @Test(arguments: 0..<5)
    func behavesLikeADictionaryWithLRUOrder(_ seed: Int) throws {
        var rng = SplitMix64(state: UInt64(seed) &+ 77)
        var table = FlowTable()
        var model: [FlowKey: UInt64] = [:]
        var order: [[FlowKey]] = [[], []]  // per class, least recent first
        func key(_ n: UInt64) -> FlowKey {
            FlowKey(
                SocketAddress(IPAddress(ipv4: UInt32(truncatingIfNeeded: n % 97)), UInt16(truncatingIfNeeded: n)),
                SocketAddress(IPAddress(ipv4: 0x0a000001), 443))
        }
        func forget(_ k: FlowKey) { for l in 0..<2 { order[l].removeAll { $0 == k } } }
        let first = TCPSegment(
            source: SocketAddress(IPAddress(ipv4: 1), 1), destination: SocketAddress(IPAddress(ipv4: 2), 2),
            sequence: 0, acknowledgment: 0, flags: .syn, window: 0)
        for _ in 0..<20_000 {
            let n = UInt64.random(in: 0..<3_000, using: &rng)
            let k = key(n)
            let l = Int.random(in: 0..<2, using: &rng)
            if model[k] != nil && Bool.random(using: &rng) {
                let i = try #require(table.index(of: k))
                #expect(table.values[i].ref.id == model[k])
                table.remove(at: i)
                model[k] = nil
                forget(k)
            } else if model[k] != nil {
                let i = try #require(table.index(of: k))
                table.touch(i, eviction: EvictionClass(rawValue: l)!)
                forget(k)
                order[l].append(k)
            } else {
                let c = Connection(
                    first: first, ref: ConnectionRef(id: n, incarnation: 1), clientIsSource: true, guessed: false,
                    StepContext(ref: ConnectionRef(id: n, incarnation: 1), frame: nil, time: 0))
                table.insert(k, c, eviction: EvictionClass(rawValue: l)!)
                model[k] = n
                order[l].append(k)
            }
            #expect(table.count == model.count)
            for l in 0..<2 {
                let oldest = table.leastRecent(EvictionClass(rawValue: l)!).map { table.keys[$0] }
                #expect(oldest == order[l].first)
            }
        }
        for (k, id) in model {
            guard let i = table.index(of: k) else { Issue.record("lost a key"); continue }
            #expect(table.values[i].ref.id == id)
        }
        // Draining each list oldest-first gives exactly the model's order.
        for l in 0..<2 {
            var drained: [FlowKey] = []
            while let i = table.leastRecent(EvictionClass(rawValue: l)!) {
                let k = table.keys[i]
                drained.append(k)
                table.remove(at: i)
            }
            #expect(drained == order[l])
        }
        #expect(table.count == 0)
        #expect(table.index(of: key(99_999)) == nil)
    }
}
