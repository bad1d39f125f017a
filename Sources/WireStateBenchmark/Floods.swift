import WireStateDecoder
import WireStateReport
import WireStateTracker

/// Costs under floods, tracker and reassembler only (segments built in memory), each as a ratio
/// against a baseline measured in the same run:
/// - crossing seconds with a full table: 20,000 packets that each cross a second of capture time,
///   with `held` connections in the table, against the same 20,000 packets not crossing (once the
///   tracker walked the whole table every second: 10× slower with 1M held);
/// - a SYN flood from random sources at 1× and 4× the packets, under the default `analyze` cap
///   and a small one: time should grow 4×, the table never past the cap;
/// - 1,000 IP fragments held while 200,000 frames pass, against none held.
enum Floods {
    static func address(_ i: Int) -> IPAddress { IPAddress(ipv4: 0x0a00_0000 &+ UInt32(truncatingIfNeeded: i)) }

    static func segment(_ i: Int, _ flags: TCPFlags, seq: UInt32 = 1000, ack: UInt32 = 0) -> TCPSegment {
        TCPSegment(
            source: SocketAddress(address(i), UInt16(truncatingIfNeeded: 1024 + i % 60_000)),
            destination: SocketAddress(IPAddress(ipv4: 0xc0a8_0001), 443),
            sequence: seq, acknowledgment: ack, flags: flags, window: 1000)
    }

    /// `held` midstream connections (one ACK each), then 20,000 more packets on them `step` apart.
    static func crossing(held: Int, step: Int64) -> Double {
        var t = ConnectionTracker()
        for i in 0..<held { t.process(segment(i, .ack), frame: FrameRef(number: UInt64(i)), time: Int64(i)); t.events.removeAll(keepingCapacity: true) }
        let start = Int64(held)
        return timeIt {
            for k in 0..<20_000 {
                t.process(segment(k, .ack, seq: 1001), frame: FrameRef(number: UInt64(held + k)), time: start + Int64(k + 1) * step)
                t.events.removeAll(keepingCapacity: true)
            }
        }
    }

    static func synFlood(_ n: Int, cap: Int?) -> (seconds: Double, peak: Int, evicted: UInt64) {
        var t = ConnectionTracker(configuration: .init(maxConnections: cap))
        var peak = 0
        let s = timeIt {
            var x: UInt64 = 0x9E37_79B9
            for i in 0..<n {
                x = x &* 6364136223846793005 &+ 1442695040888963407
                t.process(
                    segment(Int(truncatingIfNeeded: x >> 32), .syn, seq: UInt32(truncatingIfNeeded: x)),
                    frame: FrameRef(number: UInt64(i)), time: Int64(i) * 1_000)
                t.events.removeAll(keepingCapacity: true)
                if i & 1023 == 0 { peak = max(peak, t.connectionCount) }
            }
        }
        return (s, max(peak, t.connectionCount), t.evictedCount)
    }

    static func fragments(held: Int) -> Double {
        var r = FragmentReassembler()
        for i in 0..<held {
            var s = segment(i, .ack)
            s.ipIdentification = UInt32(i); s.isFragment = true; s.fragmentLength = 100; s.moreFragments = true
            _ = r.first(s, time: 0)
        }
        var out: [TCPSegment] = []
        out.reserveCapacity(16)
        return timeIt {
            for k in 0..<200_000 {
                r.expire(now: Int64(k), into: &out)  // what the pipeline does after every frame
                out.removeAll(keepingCapacity: true)
            }
        }
    }

    static func run() {
        print("")
        print(
            "floods (tracker in memory; ratios against a baseline in this run; "
                + "\(ConnectionTracker.bytesPerConnection) bytes per held connection):")
        let held = 500_000
        let quiet = crossing(held: held, step: 1_000)  // 20,000 packets within 2 µs
        let crossingSeconds = crossing(held: held, step: 1_000_000_000)  // each one a new second
        print(
            "  \(held) connections held, 20,000 packets crossing a second each: "
                + "\(Format.fixed(crossingSeconds / quiet, 2))× the same packets within one second "
                + "(\(Format.fixed(crossingSeconds / 20_000 * 1e9, 0)) ns/packet)")
        let small = synFlood(250_000, cap: 1_000_000), large = synFlood(1_000_000, cap: 1_000_000)
        print(
            "  SYN flood, 4× the packets: \(Format.fixed(large.seconds / small.seconds, 2))× the time "
                + "(peak table \(small.peak) → \(large.peak) connections, \(large.evicted) evicted at the 1,000,000 cap)")
        let capped = synFlood(1_000_000, cap: 10_000)
        print(
            "  SYN flood of 1,000,000 under --max-connections 10000: peak table \(capped.peak), "
                + "\(capped.evicted) evicted, \(Format.fixed(capped.seconds / large.seconds, 2))× the uncapped time")
        let none = fragments(held: 0), many = fragments(held: 1_000)
        print(
            "  1,000 IP fragments held, 200,000 frames: \(Format.fixed(many / max(none, 1e-9), 2))× none held "
                + "(\(Format.fixed(many / 200_000 * 1e9, 1)) ns/frame)")
    }
}
