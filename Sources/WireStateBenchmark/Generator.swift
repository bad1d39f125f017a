#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import WireStateCapture

/// `wirestate-bench generate`: a realistic capture, the same bytes for the same seed.
///
/// Every connection in it is one of the real conversations recorded in Captures/ (the Linux stack
/// on loopback or veth, see Captures/README.md), replayed with a fresh client address and port so
/// that thousands of them overlap: short request/response connections closed by either side,
/// half-closes, keep-alives, aborts, bulk transfers with loss, SACK and retransmissions, a receiver
/// that stops reading (zero window), refused SYNs retried from the same port, and IPv6. A share of
/// connections gets an 802.1Q tag. What changes is only what a busy link would change: addresses,
/// ports, VLAN tags, times and (with `snaplen`) the captured length; sequence numbers, options and
/// the order of segments within a conversation are the kernel's own.
///
/// Connections start by a Poisson process (exponential gaps, mean `spacing`), so how many are open
/// at once is set by the rate and the conversations' lifetimes (TIME_WAIT included: the tracker
/// holds those 60 s).
struct Generator {
    struct Options {
        var seed: UInt64 = 1
        var packets = 1_000_000
        var snaplen = 65_535
        /// Mean gap between connection starts, ns.
        var spacing: Int64 = 2_000_000
        var vlanShare = 0.04
    }

    /// One recorded conversation: Ethernet frames with their time offsets, who the client is.
    struct Template {
        var name: String
        var frames: [[UInt8]]
        var offsets: [Int64]
        /// Weight in the mix (connections, not packets).
        var weight: Double
        /// Refused SYNs are retried from the same port after 1 s and 3 s, as a client's connect
        /// retry loop does.
        var retries: Int
        /// Per frame: whether the client sent it, and which of the template's client ports it uses
        /// (a template may hold several connections, as the TFO one does: cookie, then data in SYN).
        var fromClient: [Bool]
        var portIndex: [Int]
        var clientPorts: Int
    }

    /// The mix, by connections. Chosen so that, as on the links the issue measured, about 9% of
    /// connections are IPv6 and a few percent of packets belong to bulk transfers with loss.
    /// The half-close recording ends in FIN_WAIT_2/CLOSE_WAIT (the recording stopped there), so
    /// each copy stays open to the end of the file: kept at 1% so that the connections open at
    /// once stay nearly level as the file grows (the memory figures measure exactly that).
    static let mix: [(name: String, weight: Double, retries: Int)] = [
        ("client-close", 0.34, 0), ("server-close", 0.25, 0), ("half-close", 0.01, 0),
        ("keepalive", 0.04, 0), ("abort-rst", 0.06, 0), ("refused", 0.04, 2),
        ("loss-retransmission", 0.06, 0), ("loss-receiver-side", 0.05, 0), ("zero-window", 0.03, 0),
        ("tfo", 0.03, 0), ("ipv6-client-close", 0.09, 0)
    ]

    static func loadTemplates(_ dir: String) throws -> [Template] {
        try mix.map { entry in
            let file = try PcapFile(path: "\(dir)/\(entry.name).pcap")
            var frames: [[UInt8]] = [], offsets: [Int64] = []
            var first: Int64?
            while let f = try file.next() {
                if first == nil { first = f.timestampNanos }
                frames.append(Array(f.bytes))
                offsets.append(f.timestampNanos - first!)
            }
            // Client ports: the source ports of SYNs without ACK.
            var ports: [UInt16] = []
            var fromClient: [Bool] = [], portIndex: [Int] = []
            for f in frames {
                guard let l = layout(f) else { fromClient.append(false); portIndex.append(0); continue }
                let src = UInt16(f[l.tcpOffset]) << 8 | UInt16(f[l.tcpOffset + 1])
                let dst = UInt16(f[l.tcpOffset + 2]) << 8 | UInt16(f[l.tcpOffset + 3])
                if f[l.tcpOffset + 13] & 0x12 == 0x02, !ports.contains(src) { ports.append(src) }
                if let k = ports.firstIndex(of: src) {
                    fromClient.append(true); portIndex.append(k)
                } else {
                    fromClient.append(false); portIndex.append(ports.firstIndex(of: dst) ?? 0)
                }
            }
            return Template(
                name: entry.name, frames: frames, offsets: offsets, weight: entry.weight, retries: entry.retries,
                fromClient: fromClient, portIndex: portIndex, clientPorts: max(1, ports.count))
        }
    }

    /// SplitMix64: small, fast, and the same sequence on every machine.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    }

    /// Where a frame's addresses and ports are, and which side sent it.
    struct Layout {
        var ipOffset: Int
        var v6: Bool
        var tcpOffset: Int
    }

    static func layout(_ f: [UInt8]) -> Layout? {
        guard f.count >= 14 else { return nil }
        let type = UInt16(f[12]) << 8 | UInt16(f[13])
        if type == 0x0800, f.count >= 34 {
            let ihl = Int(f[14] & 0x0f) * 4
            return Layout(ipOffset: 14, v6: false, tcpOffset: 14 + ihl)
        }
        if type == 0x86dd, f.count >= 54, f[20] == 6 { return Layout(ipOffset: 14, v6: true, tcpOffset: 54) }
        return nil
    }

    /// One connection being written: its template, start, next frame, and its fresh identity.
    struct Pending: Comparable {
        var time: Int64
        var serial: Int
        var template: Int
        var frame: Int
        var vlan: UInt16
        static func < (a: Pending, b: Pending) -> Bool { (a.time, a.serial) < (b.time, b.serial) }
    }

    struct Result { var packets = 0, connections = 0, bytes = 0, ipv6 = 0, vlan = 0 }

    /// Writes a classic pcap (nanosecond magic, Ethernet, snapshot length `snaplen`).
    static func write(_ templates: [Template], _ o: Options, to path: String) throws -> Result {
        guard let fp = fopen(path, "wb") else { throw CocoaError(.fileWriteNoPermission) }
        defer { fclose(fp) }
        var out = [UInt8]()
        out.reserveCapacity(1 << 20)
        func le32(_ v: UInt32) { for k in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(k)))) } }
        le32(0xa1b2_3c4d); out += [2, 0, 4, 0]; le32(0); le32(0); le32(UInt32(o.snaplen)); le32(1)
        var rng = Random(state: o.seed)
        let total = templates.reduce(0) { $0 + $1.weight }
        var heap = Heap()
        var r = Result()
        var nextStart: Int64 = 1_700_000_000_000_000_000
        var serial = 0
        var frame = [UInt8]()
        func flushIfFull() { if out.count >= 1 << 20 { fwrite(out, 1, out.count, fp); out.removeAll(keepingCapacity: true) } }
        while r.packets < o.packets {
            // Start connections until the next one would begin after the earliest pending frame.
            if heap.isEmpty || nextStart <= heap.top.time {
                var pick = rng.unit() * total, t = 0
                while t < templates.count - 1 && pick >= templates[t].weight { pick -= templates[t].weight; t += 1 }
                let vlan: UInt16 = rng.unit() < o.vlanShare ? UInt16(1 + rng.next() % 4094) : 0
                r.connections += templates[t].clientPorts
                if Self.layout(templates[t].frames[0])?.v6 == true { r.ipv6 += 1 }
                if vlan != 0 { r.vlan += 1 }
                let retryAt: [Int64] = [0, 1_000_000_000, 3_000_000_000]
                for attempt in 0...min(templates[t].retries, 2) {
                    heap.push(Pending(time: nextStart + retryAt[attempt], serial: serial, template: t, frame: 0, vlan: vlan))
                }
                serial += templates[t].clientPorts
                let gap = -log(max(rng.unit(), 1e-12)) * Double(o.spacing)
                nextStart += Int64(gap) + 1
                continue
            }
            let p = heap.pop()
            let tpl = templates[p.template]
            frame = tpl.frames[p.frame]
            guard let l = Self.layout(frame) else { continue }
            let clientSent = tpl.fromClient[p.frame]
            // Serial n is client port 1024 + n mod 60,000 on client host n / 60,000.
            let n = p.serial + tpl.portIndex[p.frame]
            let client = UInt32(truncatingIfNeeded: n / 60_000), port = UInt16(1024 + n % 60_000)
            // Client address: 10.0.0.0/8 (IPv4) or fd00::/64 (IPv6) numbered by the connection;
            // the server keeps its recorded address and port.
            let addrLength = l.v6 ? 16 : 4
            let srcAt = l.ipOffset + (l.v6 ? 8 : 12), dstAt = srcAt + addrLength
            let at = clientSent ? srcAt : dstAt
            if l.v6 {
                frame[at] = 0xfd
                for k in 1..<12 { frame[at + k] = 0 }
            } else {
                frame[at] = 10
            }
            let hostBytes = l.v6 ? 4 : 3
            for k in 0..<hostBytes { frame[at + addrLength - 1 - k] = UInt8(truncatingIfNeeded: (client + 1) >> (8 * UInt32(k))) }
            let portAt = l.tcpOffset + (clientSent ? 0 : 2)
            frame[portAt] = UInt8(port >> 8); frame[portAt + 1] = UInt8(port & 0xff)
            if !l.v6 { Self.fixIPv4Checksum(&frame, at: l.ipOffset) }
            if p.vlan != 0 { frame.insert(contentsOf: [0x81, 0x00, UInt8(p.vlan >> 8), UInt8(p.vlan & 0xff)], at: 12) }
            let captured = min(frame.count, o.snaplen)
            le32(UInt32(p.time / 1_000_000_000)); le32(UInt32(p.time % 1_000_000_000))
            le32(UInt32(captured)); le32(UInt32(frame.count))
            out += frame[0..<captured]
            r.packets += 1
            r.bytes += 16 + captured
            flushIfFull()
            if p.frame + 1 < tpl.frames.count {
                var n = p
                n.frame += 1
                n.time = p.time - tpl.offsets[p.frame] + tpl.offsets[p.frame + 1]
                heap.push(n)
            }
        }
        fwrite(out, 1, out.count, fp)
        r.bytes += 24
        return r
    }

    static func fixIPv4Checksum(_ f: inout [UInt8], at o: Int) {
        let length = Int(f[o] & 0x0f) * 4
        f[o + 10] = 0; f[o + 11] = 0
        var sum: UInt32 = 0
        for k in stride(from: 0, to: length, by: 2) { sum += UInt32(f[o + k]) << 8 | UInt32(f[o + k + 1]) }
        while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
        let c = ~UInt16(sum)
        f[o + 10] = UInt8(c >> 8); f[o + 11] = UInt8(c & 0xff)
    }

    /// A binary min-heap of pending frames, ordered by time then connection serial.
    struct Heap {
        var items: [Pending] = []
        var isEmpty: Bool { items.isEmpty }
        var top: Pending { items[0] }
        mutating func push(_ p: Pending) {
            items.append(p)
            var i = items.count - 1
            while i > 0 { let parent = (i - 1) / 2; if items[i] < items[parent] { items.swapAt(i, parent); i = parent } else { break } }
        }
        mutating func pop() -> Pending {
            let top = items[0]
            items[0] = items[items.count - 1]
            items.removeLast()
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count && items[l] < items[m] { m = l }
                if r < items.count && items[r] < items[m] { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
            return top
        }
    }
}
