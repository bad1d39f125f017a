import WireStateDecoder

/// Zeek's `conn_state` values (scripts/base/protocols/conn/main.zeek), so a WireState connection
/// can be held against the conn.log a Zeek user already trusts.
public enum ZeekConnState: UInt8, Sendable, CaseIterable {
    case s0, s1, sf, rej, s2, s3, rsto, rstr, rstos0, rstrh, sh, shr, oth

    public var name: String {
        switch self {
        case .s0: return "S0"
        case .s1: return "S1"
        case .sf: return "SF"
        case .rej: return "REJ"
        case .s2: return "S2"
        case .s3: return "S3"
        case .rsto: return "RSTO"
        case .rstr: return "RSTR"
        case .rstos0: return "RSTOS0"
        case .rstrh: return "RSTRH"
        case .sh: return "SH"
        case .shr: return "SHR"
        case .oth: return "OTH"
        }
    }
}

/// Zeek's history string held inline: up to 48 letters in six words, so updating it per segment
/// never allocates. Zeek's own repetition rules keep real histories far shorter (A, D, I, Q once
/// per direction; S, H, F, R only on a new sequence number; C, G, T, W at counts 1, 10, 100, …);
/// a history that would outgrow 48 letters keeps its first 48.
public struct ZeekHistory: Sendable, Equatable {
    public static let capacity = 48
    private var w0: UInt64 = 0, w1: UInt64 = 0, w2: UInt64 = 0, w3: UInt64 = 0, w4: UInt64 = 0, w5: UInt64 = 0
    public private(set) var count: UInt8 = 0

    public init() {}

    public init(_ text: String) {
        for u in text.utf8 { append(u) }
    }

    @inline(__always)
    mutating func append(_ letter: UInt8) {
        guard Int(count) < Self.capacity else { return }
        let shift = UInt64(count % 8) * 8
        let v = UInt64(letter) << shift
        switch count / 8 {
        case 0: w0 |= v
        case 1: w1 |= v
        case 2: w2 |= v
        case 3: w3 |= v
        case 4: w4 |= v
        default: w5 |= v
        }
        count += 1
    }

    public subscript(i: Int) -> UInt8 {
        let w: UInt64
        switch i / 8 {
        case 0: w = w0
        case 1: w = w1
        case 2: w = w2
        case 3: w = w3
        case 4: w = w4
        default: w = w5
        }
        return UInt8(truncatingIfNeeded: w >> (UInt64(i % 8) * 8))
    }

    /// The letters, as Zeek logs them (reporters only).
    public var text: String {
        String(decoding: (0..<Int(count)).map { self[$0] }, as: UTF8.self)
    }

    /// Zeek's `/\^?S[^HAFGIQ]*R.*/ == history` (a whole-string match): the originator's SYN, then
    /// its RST before any handshake, ACK, FIN, gap, FIN+RST or multi-flag letter of its own.
    var matchesRSTOS0: Bool {
        var i = 0
        if count > 0 && self[0] == UInt8(ascii: "^") { i = 1 }
        guard i < Int(count), self[i] == UInt8(ascii: "S") else { return false }
        i += 1
        while i < Int(count) {
            switch self[i] {
            case UInt8(ascii: "R"): return true
            case UInt8(ascii: "H"), UInt8(ascii: "A"), UInt8(ascii: "F"), UInt8(ascii: "G"),
                UInt8(ascii: "I"), UInt8(ascii: "Q"):
                return false
            default: i += 1
            }
        }
        return false
    }
}

/// Zeek's endpoint states (TCP_Endpoint.h): about what the endpoint *sent*, not RFC 9293 states.
enum ZeekEndpointState: UInt8, Sendable {
    case inactive, synSent, synAckSent, partial, established, closed, reset
}

/// One endpoint as Zeek's TCP analyzer keeps it: state, relative sequence bookkeeping, the
/// history de-duplication fields and the logarithmic counters.
struct ZeekEndpoint: Sendable, Equatable {
    // Declared in an order that packs: the flags beside the states, the 4-byte fields before the
    // counters (88 bytes, not 89 in a 96-byte stride).
    var state = ZeekEndpointState.inactive
    var prevState = ZeekEndpointState.inactive
    /// The first stretch of its stream the capture skipped, until filled or acknowledged.
    var holeOpen = false
    /// Acknowledged up to `ackedTo` already (gaps are counted once).
    var ackedKnown = false
    var startSeq: UInt32 = 0
    var lastSeq: UInt32 = 0
    var histLastSYN: UInt32 = 0
    var histLastFIN: UInt32 = 0
    var histLastRST: UInt32 = 0
    var holeStart: UInt32 = 0
    var holeEnd: UInt32 = 0
    var ackedTo: UInt32 = 0
    /// Payload bytes by sequence numbers (Zeek's `size`, conn.log's `orig_bytes`/`resp_bytes`).
    var size: UInt64 = 0
    /// IP-level bytes (conn.log's `orig_ip_bytes`/`resp_ip_bytes`).
    var ipBytes: UInt64 = 0
    /// Bytes the peer acknowledged that this endpoint's captured segments never carried.
    var missedBytes: UInt64 = 0
    var retransmits = Scaled()
    var zeroWindows = Scaled()
    var gaps = Scaled()

    mutating func set(_ s: ZeekEndpointState) {
        prevState = state
        state = s
    }

    /// `is_established` in TCP_Reassembler.cc: gaps are reported only between such endpoints.
    var establishedForGaps: Bool {
        state == .established || (state == .closed && prevState == .established)
    }

    /// Zeek's `ScaledHistoryEntry`: a letter at the 1st, 10th, 100th… occurrence.
    struct Scaled: Sendable, Equatable {
        var count: UInt32 = 0
        var threshold: UInt32 = 1

        mutating func hit() -> Bool {
            count &+= 1
            guard count == threshold else { return false }
            let next = threshold &* 10
            if next <= threshold { count = 0 } else { threshold = next }
            return true
        }
    }
}

/// The connection as Zeek would log it, computed per segment beside the RFC machines: Zeek's
/// endpoint states (TCPSessionAdapter.cc `UpdateStateMachine`), its history letters
/// (`update_history`, `update_window`, `update_last_seq`, reassembler gaps) and, at the end, its
/// `conn_state`. The originator is WireState's client; when the first captured segment came from
/// the server the history starts with `^`, as Zeek marks a connection whose roles it flipped.
///
/// Not modelled: `C` (WireState does not verify checksums), SYN/SYN+ACK reversal flips after the
/// first packet, and 64-bit sequence wrap counting (relative numbers are taken modulo 2³²).
public struct ZeekView: Sendable, Equatable {
    var orig = ZeekEndpoint()
    var resp = ZeekEndpoint()
    var log = HistoryLog()
    var started = false

    public var history: ZeekHistory { log.history }

    public init() {}

    /// Zeek's `conn_state` function, on the states as they are now.
    public var connState: ZeekConnState {
        let os = orig.state, rs = resp.state
        let oInactive = os == .inactive || os == .partial
        let rInactive = rs == .inactive || rs == .partial
        if rs == .reset {
            if os == .synSent || os == .synAckSent || (os == .reset && orig.size == 0 && resp.size == 0) { return .rej }
            return oInactive ? .rstrh : .rstr
        }
        if os == .reset {
            if rInactive { return history.matchesRSTOS0 ? .rstos0 : .oth }
            return .rsto
        }
        if rs == .closed && os == .closed { return .sf }
        if os == .closed { return rInactive ? .sh : .s2 }
        if rs == .closed { return oInactive ? .shr : .s3 }
        if os == .synSent && rs == .inactive { return .s0 }
        if os == .established && rs == .established { return .s1 }
        return .oth
    }

    public var originatorBytes: UInt64 { orig.size }
    public var responderBytes: UInt64 { resp.size }
    public var originatorIPBytes: UInt64 { orig.ipBytes }
    public var responderIPBytes: UInt64 { resp.ipBytes }
    public var missedBytes: UInt64 { orig.missedBytes &+ resp.missedBytes }

    @inline(__always)
    static func delta(_ a: UInt32, _ b: UInt32) -> Int32 { Int32(bitPattern: a &- b) }

    /// One segment, in Zeek's order: endpoint initialisation, history, window, last sequence,
    /// state machine, then the peer's view of the acknowledgment (gaps).
    public mutating func observe(_ s: TCPSegment, isOrig: Bool) {
        if !started {
            started = true
            if !isOrig { log.history.append(UInt8(ascii: "^")) }
        }
        if isOrig { Self.step(s, &orig, &resp, isOrig: true, &log) } else { Self.step(s, &resp, &orig, isOrig: false, &log) }
    }

    private static func step(
        _ s: TCPSegment, _ e: inout ZeekEndpoint, _ peer: inout ZeekEndpoint, isOrig: Bool,
        _ view: inout HistoryLog
    ) {
        let f = s.flags
        let syn = f.contains(.syn), fin = f.contains(.fin), rst = f.contains(.rst), ack = f.contains(.ack)
        let len = Int64(s.payloadLength)
        let seq = s.sequence
        var segLen = len + (syn ? 1 : 0) + (fin ? 1 : 0)
        if rst { segLen -= len }
        let end = seq &+ UInt32(truncatingIfNeeded: segLen)
        e.ipBytes &+= UInt64(s.ipHeaderLength) + UInt64(s.headerLength) + UInt64(s.payloadLength)

        // init_endpoint
        switch e.state {
        case .inactive:
            if syn { e.startSeq = seq; e.lastSeq = end } else { e.startSeq = seq &- 1; e.lastSeq = seq }
        case .synSent, .synAckSent:
            if syn && seq != e.startSeq { e.startSeq = seq; e.lastSeq = end }
        case .established, .partial:
            if syn { e.startSeq = seq; e.lastSeq = end }
        case .reset:
            if syn && e.prevState == .inactive { e.startSeq = seq; e.lastSeq = end }
        case .closed:
            break
        }
        let rel = seq &- e.startSeq

        // update_history
        let bits = (syn ? 1 : 0) + (fin ? 1 : 0) + (rst ? 1 : 0)
        if bits > 1 {
            if fin && rst {
                _ = view.check(HistoryLog.histFINRST, UInt8(ascii: "I"), orig: isOrig)
            } else {
                _ = view.check(HistoryLog.histMulti, UInt8(ascii: "Q"), orig: isOrig)
            }
        } else if bits == 1 {
            if syn {
                let letter = UInt8(ascii: ack ? "H" : "S")
                if view.check(HistoryLog.histSYN, letter, orig: isOrig) && rel != e.histLastSYN { view.add(letter, orig: isOrig) }
                e.histLastSYN = rel
            }
            if fin {
                let at = rel &+ UInt32(truncatingIfNeeded: len)
                if view.check(HistoryLog.histFIN, UInt8(ascii: "F"), orig: isOrig) && at != e.histLastFIN {
                    view.add(UInt8(ascii: "F"), orig: isOrig)
                }
                e.histLastFIN = at
            }
            if rst {
                if view.check(HistoryLog.histRST, UInt8(ascii: "R"), orig: isOrig) && rel != e.histLastRST {
                    view.add(UInt8(ascii: "R"), orig: isOrig)
                }
                e.histLastRST = rel
            }
        } else if len > 0 {
            _ = view.check(HistoryLog.histData, UInt8(ascii: "D"), orig: isOrig)
        } else if ack {
            _ = view.check(HistoryLog.histACK, UInt8(ascii: "A"), orig: isOrig)
        }

        // update_window: zero windows are interesting unless with or after a RST, or after the peer's FIN.
        if s.window == 0 && !rst && peer.state != .closed && e.state != .reset && e.zeroWindows.hit() {
            view.add(UInt8(ascii: "W"), orig: isOrig)
        }

        // A hole opens when data starts past everything seen; a segment over its start fills it.
        if len > 0 && !rst && e.state != .inactive {
            if delta(seq, e.lastSeq) > 0 && !e.holeOpen {
                e.holeOpen = true
                e.holeStart = e.lastSeq
                e.holeEnd = seq
            } else if e.holeOpen && delta(seq, e.holeStart) <= 0 && delta(end, e.holeStart) > 0 {
                e.holeStart = end
                if delta(end, e.holeEnd) >= 0 { e.holeOpen = false }
            }
        }

        // update_last_seq
        let deltaLast = delta(end, e.lastSeq)
        if (syn || rst) && (deltaLast > 1_048_576 || deltaLast < -1_048_576) {
            // untrusted jump
        } else if fin && e.lastSeq == e.startSeq &+ 1 {
            e.lastSeq = end
        } else if e.state == .reset {
            // nothing after a RST is trusted
        } else if deltaLast > 0 {
            let control = Int64(syn ? 1 : 0) + Int64(fin ? 1 : 0)
            e.size &+= UInt64(max(0, Int64(deltaLast) - control))
            e.lastSeq = end
        } else if len > 0 && e.retransmits.hit() {
            view.add(UInt8(ascii: "T"), orig: isOrig)
        }

        // init_peer: an ACK to a peer never seen starts the peer's numbering at ack − 1.
        if ack && peer.state == .inactive {
            peer.startSeq = s.acknowledgment &- 1
            peer.lastSeq = s.acknowledgment &- 1
        }

        stateMachine(f, len: len, &e, &peer, isOrig: isOrig, &view)

        // AckReceived → reassembler gaps: the peer's bytes this ACK covers that no captured
        // segment carried. Not for ACKs on a FIN or RST (Zeek does not trust those), and only
        // between established endpoints (report_gaps_for_partial is off by default).
        if ack && !rst && !fin && peer.state != .inactive {
            let a = s.acknowledgment
            // Missing: the unfilled hole up to the ACK, and anything acknowledged past the last byte seen.
            var missed: UInt32 = 0
            if peer.holeOpen && delta(a, peer.holeStart) > 0 {
                let holeTo = delta(a, peer.holeEnd) < 0 ? a : peer.holeEnd
                missed &+= holeTo &- peer.holeStart
                peer.holeOpen = false
            }
            var beyond = peer.lastSeq
            if peer.ackedKnown && delta(peer.ackedTo, beyond) > 0 { beyond = peer.ackedTo }
            if delta(a, beyond) > 0 { missed &+= a &- beyond }
            if missed > 0 && e.establishedForGaps && peer.establishedForGaps {
                peer.missedBytes &+= UInt64(missed)
                if peer.gaps.hit() { view.add(UInt8(ascii: "G"), orig: !isOrig) }
            }
            if !peer.ackedKnown || delta(a, peer.ackedTo) > 0 {
                peer.ackedTo = a
                peer.ackedKnown = true
            }
        }
    }

    /// `UpdateStateMachine` with its per-state handlers, the weirds left out.
    private static func stateMachine(
        _ f: TCPFlags, len: Int64, _ e: inout ZeekEndpoint, _ peer: inout ZeekEndpoint,
        isOrig: Bool, _ view: inout HistoryLog
    ) {
        let syn = f.contains(.syn), fin = f.contains(.fin), rst = f.contains(.rst), ack = f.contains(.ack)
        switch e.state {
        case .inactive:
            if syn {
                if isOrig {
                    e.set(ack ? .synAckSent : .synSent)
                } else {
                    if peer.state == .synSent { peer.set(.established) }
                    e.set(.established)
                }
            }
            if fin { e.set(.closed) }
            if rst { e.set(.reset) }
            if e.state == .inactive {
                // The responder's pure ACK of a SYN it has not answered yet does not make it partial.
                let origState = isOrig ? e.state : peer.state
                if !isOrig && len == 0 && origState == .synSent {
                } else if ack && peer.state == .established {
                    e.set(.established)  // only the SYN was missed
                } else {
                    e.set(.partial)
                }
            }
        case .synSent, .synAckSent:
            if fin { e.set(.closed) }
            if rst { e.set(.reset) }
        case .established, .partial:
            if syn && e.state == .partial && peer.state == .inactive && !ack { e.set(.synSent) }
            if fin && !rst {
                e.set(.closed)
                // FIN then RST from the peer, then our FIN: that was a normal termination.
                if peer.state == .reset && peer.prevState == .closed { peer.set(.closed) }
            }
            if rst { e.set(.reset) }
        case .closed:
            if rst && peer.state != .closed { e.set(.reset) }
        case .reset:
            break
        }
    }
}

/// The letters logged so far and which once-per-direction ones were (`HIST_*` bits in
/// TCP_Endpoint.h; the responder's bits shifted left by 16).
struct HistoryLog: Sendable, Equatable {
    var seen: UInt32 = 0
    var history = ZeekHistory()

    static let histSYN: UInt32 = 0x1, histFIN: UInt32 = 0x2, histRST: UInt32 = 0x4, histFINRST: UInt32 = 0x8
    static let histData: UInt32 = 0x10, histACK: UInt32 = 0x20, histMulti: UInt32 = 0x40

    /// Letter for this direction: upper case for the originator, lower case for the responder.
    @inline(__always)
    mutating func add(_ letter: UInt8, orig isOrig: Bool) {
        history.append(isOrig ? letter : letter | 0x20)
    }

    /// `CheckHistory`: logs the letter the first time; true when it was logged before.
    @inline(__always)
    mutating func check(_ mask: UInt32, _ letter: UInt8, orig isOrig: Bool) -> Bool {
        let m = isOrig ? mask : mask << 16
        if seen & m == 0 {
            seen |= m
            add(letter, orig: isOrig)
            return false
        }
        return true
    }
}
