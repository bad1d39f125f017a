import Testing
import WireStateDecoder
@testable import WireStateTracker

/// An in-test model of RFC 9293's close and reset transitions (figure 5), written from the RFC and
/// not from the tracker, driven by random well-formed conversations: a handshake, data both ways,
/// FINs in either order or none, or a RST at any point, every segment delivered at once and
/// acknowledging all it can. The tracker must end each endpoint in the state the model computes.
/// "No crash" properties cannot catch a wrong transition; this can.
struct ModelEndpoint {
    var state: TCPState = .established
    var sndNxt: UInt32
    var rcvNxt: UInt32 = 0
    var finSeq: UInt32? = nil

    /// It sends a FIN (RFC 9293 §3.10.4 CLOSE).
    mutating func sentFin() {
        finSeq = sndNxt
        sndNxt &+= 1
        state = state == .closeWait ? .lastAck : .finWait1
    }

    /// It receives a segment acknowledging `ack`, perhaps with a FIN (§3.10.7.4, fifth and eighth).
    mutating func received(ack: UInt32, fin: Bool) {
        if let f = finSeq, ack == f &+ 1 {
            switch state {
            case .finWait1: state = .finWait2
            case .closing: state = .timeWait
            case .lastAck: state = .closed
            default: break
            }
        }
        guard fin else { return }
        rcvNxt &+= 1
        switch state {
        case .established: state = .closeWait
        case .finWait1: state = .closing
        case .finWait2: state = .timeWait
        default: break
        }
    }
}

@Suite struct ReferenceModelTests {
    @Test(arguments: 0..<300)
    func trackerMatchesTheModel(_ seed: Int) throws {
        var rng = SplitMix64(state: UInt64(seed) &* 0x9E37_79B9)
        var w = Wire()
        // Any addresses and ports, ISNs anywhere including just below the wrap.
        w.client = SocketAddress(
            IPAddress("10.\(seed % 200).\(Int.random(in: 0...255, using: &rng)).1")!,
            UInt16.random(in: 1024...65535, using: &rng))
        w.server = SocketAddress(
            IPAddress("192.168.\(Int.random(in: 0...255, using: &rng)).9")!,
            UInt16.random(in: 1...1023, using: &rng))
        let ci = rng.next() % 3 == 0 ? UInt32.max &- UInt32.random(in: 0...3000, using: &rng) : UInt32.random(in: 0...UInt32.max, using: &rng)
        let si = UInt32.random(in: 0...UInt32.max, using: &rng)
        w.c(.syn, seq: ci)
        w.s([.syn, .ack], seq: si, ack: ci &+ 1)
        w.c(.ack, seq: ci &+ 1, ack: si &+ 1)
        var m = [ModelEndpoint(sndNxt: ci &+ 1, rcvNxt: si &+ 1), ModelEndpoint(sndNxt: si &+ 1, rcvNxt: ci &+ 1)]
        var log = ["handshake c=\(ci) s=\(si)"]

        func send(_ x: Int, fin: Bool, len: UInt32) {
            let y = 1 - x
            var f: TCPFlags = [.ack]
            if fin { f.insert(.fin) }
            if len > 0 { f.insert(.psh) }
            w.send(x == 0, f, seq: m[x].sndNxt, ack: m[x].rcvNxt, len: len)
            m[x].sndNxt &+= len
            m[y].rcvNxt &+= len
            if fin { m[x].sentFin() }
            m[y].received(ack: m[x].rcvNxt, fin: fin)
            log.append("\(x == 0 ? "c" : "s")\(fin ? " FIN" : "")\(len > 0 ? " data \(len)" : " ack")")
        }

        var steps = Int.random(in: 1...12, using: &rng)
        var reset = false
        while steps > 0 {
            steps -= 1
            let x = Int.random(in: 0...1, using: &rng)
            let canData = m[x].finSeq == nil
            // (A `case 1, 2, 3 where …` guards only its last pattern: plain ifs keep each guard whole.)
            let r = Int.random(in: 0...9, using: &rng)
            if r == 0 && m[x].state != .closed && m[1 - x].state != .closed {
                // An acceptable RST (exactly at SND.NXT) closes both ends; the conversation ends.
                w.send(x == 0, [.rst, .ack], seq: m[x].sndNxt, ack: m[x].rcvNxt)
                m[x].state = .closed; m[1 - x].state = .closed
                log.append("\(x == 0 ? "c" : "s") RST"); reset = true
            } else if (1...3).contains(r) && canData {
                send(x, fin: false, len: UInt32.random(in: 1...1400, using: &rng))
            } else if (4...5).contains(r) && canData {
                send(x, fin: true, len: rng.next() % 2 == 0 ? 0 : 100)
            } else if m[x].state != .closed {
                send(x, fin: false, len: 0)
            }
            if reset { break }
        }
        // Well-formed ending: whoever has something unacknowledged by its peer gets it acknowledged.
        if !reset {
            for x in 0...1 where m[x].finSeq != nil && m[1 - x].state != .closed {
                send(1 - x, fin: false, len: 0)
            }
        }
        let done = w.finish()
        let last = try #require(done.last, "no connection for \(log)")
        #expect(done.count == 1, "one conversation is one connection: \(log)")
        #expect(last.clientState == m[0].state, "client: model \(m[0].state), tracker \(last.clientState); \(log)")
        #expect(last.serverState == m[1].state, "server: model \(m[1].state), tracker \(last.serverState); \(log)")
        // Everything the capture showed was sent or received, so nothing need be a guess.
        #expect(last.clientEvidence != .unknown && last.serverEvidence != .unknown, "\(log)")
        #expect(
            !w.anomalyCodes.contains { AnomalyCode(code: $0)?.severity == .violation },
            "a well-formed conversation has no violation: \(w.anomalyCodes) \(log)")
    }

    /// The flow key is the same whichever endpoint sent the segment, and different for any other
    /// tuple: a key that kept direction would split every connection in two.
    @Test(arguments: 0..<200)
    func flowKeyIsTheSameBothWays(_ seed: Int) {
        var rng = SplitMix64(state: UInt64(seed) &+ 77)
        func addr() -> SocketAddress {
            let v6 = rng.next() % 2 == 0
            let ip = v6 ? "2001:db8::\(String(rng.next() % 0xffff, radix: 16))" : "10.0.\(rng.next() % 4).\(rng.next() % 4)"
            return SocketAddress(IPAddress(ip)!, UInt16(truncatingIfNeeded: rng.next() % 4 + 1))
        }
        let x = addr(), y = addr(), z = addr()
        #expect(FlowKey(x, y) == FlowKey(y, x))
        #expect(FlowKey(x, y).mix == FlowKey(y, x).mix)
        let sameFlow = Set([x, y]) == Set([x, z])
        #expect((FlowKey(x, y) == FlowKey(x, z)) == sameFlow, "\(x) \(y) \(z)")
    }

    /// Through the tracker: segments in both directions join one connection, for any addresses.
    @Test func bothDirectionsAreOneConnection() {
        var w = Wire()
        w.client = SocketAddress(IPAddress("10.9.9.9")!, 1)  // the client sorts after the server...
        w.server = SocketAddress(IPAddress("10.0.0.1")!, 65535)  // ...so its key is stored reversed
        w.handshake()
        w.s(.ack, seq: 5001, ack: 1001, len: 10)
        w.c(.ack, seq: 1001, ack: 5011)
        #expect(w.summaries.count == 1)
        #expect(w.summaries.first?.client == w.client)
        #expect(w.summaries.first?.packetsFromClient == 3 && w.summaries.first?.packetsFromServer == 2)
    }
}
