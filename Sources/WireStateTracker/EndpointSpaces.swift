/// What one endpoint knows, grouped with the data each piece needs (after swift-nio-http2's
/// `StreamStateMachine`: "not possible to store a state that requires associated data without
/// providing it"). Each type is small, changes only through its own methods, and keeps its own
/// invariant; `EndpointMachine` holds one of each, optional where the capture may not know it yet.

/// A sequence number and the frame that carried it (the first SYN, the first FIN).
struct SequenceMark: Sendable, Equatable {
    // The frame first: its spare bytes hold the sequence number (16 bytes, not 25).
    var frame: FrameRef?
    var seq: UInt32

    init(seq: UInt32, frame: FrameRef?) {
        self.frame = frame
        self.seq = seq
    }
}

/// The endpoint's send sequence space (RFC 9293 §3.3.1, figure 3) as the capture shows it.
///
/// Invariant: `fin`, once set, is the sequence number of the first FIN it sent and never moves (a FIN
/// at another number is `fin-seq-changed`, reported and not recorded); `syn` likewise holds the first
/// SYN's ISS until a fresh open (`restart`) discards the old send space whole.
struct SendSpace: Sendable {
    /// ISS and the frame of its first SYN; nil until it sent (or is shown to have sent) a SYN.
    private(set) var syn: SequenceMark?
    /// It sent a SYN+ACK (the answer half of a handshake).
    private(set) var synAckSent = false
    /// SND.NXT: its highest sequence number sent plus its length; nil until it sent anything.
    private(set) var nxt: UInt32?
    /// SND.UNA: the highest of its own sequence numbers the peer acknowledged and it accepted.
    private(set) var una: UInt32 = 0
    /// Its FIN: the sequence number the FIN occupies, and the frame that first carried it.
    private(set) var fin: SequenceMark?

    var iss: UInt32? { syn?.seq }

    /// A SYN it sent at `iss`: only the first one fixes ISS (a retransmission repeats it).
    mutating func sentSyn(iss: UInt32, frame: FrameRef?, synAck: Bool) {
        if syn == nil { syn = SequenceMark(seq: iss, frame: frame) }
        if synAck { synAckSent = true }
    }

    /// A SYN+ACK it must have sent (the capture missed it): ISS is `iss`, SND.NXT just past it.
    mutating func impliedSynAck(iss: UInt32) {
        syn = SequenceMark(seq: iss, frame: syn?.frame)
        synAckSent = true
        nxt = iss &+ 1
    }

    /// A SYN it must have sent (only its peer's SYN+ACK was captured).
    mutating func impliedSyn(iss: UInt32) {
        syn = SequenceMark(seq: iss, frame: nil)
        nxt = iss &+ 1
    }

    /// A fresh active open from CLOSED: the previous send space is gone (RFC 9293 §3.5.2).
    mutating func restart(at start: UInt32) {
        syn = nil
        synAckSent = false
        fin = nil
        nxt = start
    }

    /// It sent a segment ending at `end`: SND.NXT only moves forward.
    @inline(__always)
    mutating func sent(upTo end: UInt32) {
        if let n = nxt, !Seq.gt(end, n) { return }
        nxt = end
    }

    /// Put SND.NXT back to `seq` (the bytes past it were never sent, or assumed so at pickup).
    mutating func rewind(to seq: UInt32) { nxt = seq }

    /// Midstream: sent and acknowledged up to `next`, as far as anyone can tell.
    mutating func assumeSynchronized(at next: UInt32) {
        nxt = next
        una = next
    }

    /// It accepted the peer's acknowledgment of everything before `ack`. `onlyForward`: the
    /// synchronized rule (SND.UNA < SEG.ACK moves it); the handshake takes the ACK as it is.
    @inline(__always)
    mutating func acknowledged(_ ack: UInt32, onlyForward: Bool) {
        if onlyForward && !Seq.gt(ack, una) { return }
        una = ack
    }

    /// The first FIN it sent, at `seq`.
    mutating func sentFin(at seq: UInt32, frame: FrameRef?) {
        if fin == nil { fin = SequenceMark(seq: seq, frame: frame) }
    }

    /// The peer has acknowledged its FIN (SND.UNA is past it).
    @inline(__always)
    var finAcked: Bool { fin.map { Seq.gt(una, $0.seq) } ?? false }

    /// Its FIN was retransmitted: the ACK of it never arrived, so SND.UNA goes back to the FIN.
    mutating func finUnacknowledged() {
        if let fin { una = fin.seq }
    }
}

/// The endpoint's receive sequence space (RFC 9293 §3.3.1, figure 4). Only exists once something
/// told the capture where the peer's sequence space is (the peer's SYN, or an ACK at pickup).
struct ReceiveSpace: Sendable {
    /// IRS, when it received the peer's SYN (nil after a midstream pickup).
    private(set) var irs: UInt32?
    /// RCV.NXT: the next sequence number it expects from its peer.
    private(set) var nxt: UInt32
    /// It received the peer's FIN: RCV.NXT is past it and no data moves it any more.
    private(set) var finReceived = false
    /// The peer's SYN carried data or a Fast Open cookie (RFC 7413): data in SYN_RECEIVED is legal.
    private(set) var fastOpen = false

    init(irs: UInt32?, nxt: UInt32, finReceived: Bool = false, fastOpen: Bool = false) {
        self.irs = irs
        self.nxt = nxt
        self.finReceived = finReceived
        self.fastOpen = fastOpen
    }

    /// The peer's SYN at `seq`, `length` sequence numbers long.
    mutating func receivedSyn(at seq: UInt32, length: UInt32) {
        irs = seq
        nxt = seq &+ length
    }

    /// Data up to `end` arrived, or its own ACK shows it did: RCV.NXT moves forward until the FIN.
    @inline(__always)
    mutating func received(upTo end: UInt32) {
        if Seq.gt(end, nxt) && !finReceived { nxt = end }
    }

    /// The peer's FIN at `seq`: RCV.NXT is just past it from now on.
    mutating func receivedFin(at seq: UInt32) {
        finReceived = true
        nxt = seq &+ 1
    }

    /// Put RCV.NXT back to `seq` (an ACK of unseen data was shown to cover data never sent).
    mutating func rewind(to seq: UInt32) { nxt = seq }
}

/// What the endpoint last acknowledged and advertised, and the furthest right edge it ever offered
/// (conntrack's td_maxend): data beyond that edge is illegal (van Rooij bound I).
struct Advertisement: Sendable {
    /// The highest acknowledgment it sent.
    private(set) var ack: UInt32
    /// The window field of its last ACK, as on the wire, and scaled.
    private(set) var rawWindow: UInt16
    /// The largest window field it ever sent (in the padding after `rawWindow`): with the scale,
    /// its peer's MAX.SND.WND (RFC 5961 §5), never below the real one.
    private(set) var maxRawWindow: UInt16
    private(set) var window: UInt32
    /// The furthest right window edge (ack + window) it ever advertised.
    private(set) var maxRightEdge: UInt32

    init(ack: UInt32, rawWindow: UInt16, shift: UInt8) {
        self.ack = ack
        self.rawWindow = rawWindow
        maxRawWindow = rawWindow
        window = UInt32(rawWindow) << UInt32(shift)
        maxRightEdge = ack &+ window
    }

    /// MAX.SND.WND of its peer as the capture shows it: the largest window field it sent, scaled by
    /// `shift` (a SYN's unscaled window scaled too: the bound errs on the lenient side).
    @inline(__always)
    func maxWindow(shift: UInt8) -> UInt32 { UInt32(maxRawWindow) << UInt32(shift) }

    /// Another ACK it sent: the acknowledgment and right edge only move forward, the window is the latest.
    @inline(__always)
    mutating func advertise(ack newAck: UInt32, rawWindow raw: UInt16, shift: UInt8) {
        if Seq.gt(newAck, ack) { ack = newAck }
        rawWindow = raw
        if raw > maxRawWindow { maxRawWindow = raw }
        window = UInt32(raw) << UInt32(shift)
        let edge = newAck &+ window
        if Seq.gt(edge, maxRightEdge) { maxRightEdge = edge }
    }
}

/// The first stretch of an endpoint's sequence space the capture skipped, [start, end): open until a
/// retransmission fills it (the network lost it) or the peer acknowledges past it (the capture lost
/// it: Wireshark's "ACKed segment that wasn't captured").
struct CaptureHole: Sendable {
    private(set) var start: UInt32
    let end: UInt32

    init(start: UInt32, end: UInt32) {
        self.start = start
        self.end = end
    }

    /// A retransmission of [seq, segmentEnd): returns the hole that is left, nil when it is filled.
    @inline(__always)
    func filled(from seq: UInt32, to segmentEnd: UInt32) -> CaptureHole? {
        guard Seq.le(seq, start) && Seq.gt(segmentEnd, start) else { return self }
        if Seq.ge(segmentEnd, end) { return nil }
        var left = self
        left.start = segmentEnd
        return left
    }
}

/// The peer acknowledged [from, to) of this endpoint's data, never seen: assumed sent and missed by
/// the capture. When this endpoint then sends from `from`, the ACK either came before the data in
/// the capture (reordering: the data reaches `to`, `capture-reordered`) or covered data never sent
/// (`ack-of-unsent-data`, related to `frame`, the ACK). Which one is certain only once the data
/// reaches `to`, or stops short of it for good (`arriving` is then the frame of its first segment).
struct UnseenAck: Sendable {
    /// The frame of the ACK.
    let frame: FrameRef?
    /// How many frames after the ACK came the first segment of its that went on from `from`
    /// without reaching `to` (0: none did yet). From then on the covered data is arriving (a
    /// reordered burst) or was never sent. An offset, not a second frame: 4 bytes, not 11.
    private var arrivingAfter: UInt32 = 0
    /// Where it was when the ACK came (its SND.NXT then).
    let from: UInt32
    private(set) var to: UInt32

    init(from: UInt32, to: UInt32, frame: FrameRef?) {
        self.from = from
        self.to = to
        self.frame = frame
    }

    /// The first segment that went on from `from` short of `to`; nil while none did. (A frame
    /// of another file of a merge, or unknown, is marked as arriving without a frame: nil as well.)
    var arriving: FrameRef? {
        guard arrivingAfter != 0, arrivingAfter != .max, let frame else { return nil }
        return FrameRef(source: frame.source, number: frame.number &+ UInt64(arrivingAfter))
    }

    /// The covered data began to arrive (whether with a frame or not).
    var isArriving: Bool { arrivingAfter != 0 }

    /// The peer acknowledged further unseen data, up to `ack`.
    mutating func extend(to ack: UInt32) { to = ack }

    /// Its data from `from` arrived, in a segment (`data`) that does not reach `to` yet.
    mutating func startedArriving(_ data: FrameRef?) {
        guard arrivingAfter == 0 else { return }
        if let data, let frame, data.source == frame.source, data.number > frame.number,
            data.number - frame.number < UInt64(UInt32.max)
        {
            arrivingAfter = UInt32(data.number - frame.number)
        } else {
            arrivingAfter = .max
        }
    }
}

/// How an endpoint came to be CLOSED, when that matters later. One record replaces the flags that
/// used to spell it out (closed by reset, the state before an inferred close): an inferred close
/// carries the state it withdraws to, so a withdrawable close without its state cannot be written.
enum Closure: Sendable, Equatable {
    /// A reset closed it: one it sent, or an acceptable one it received. `previous` is set when the
    /// close was only inferred from the received RST: its own next segment withdraws it (the RST did
    /// not arrive, or it did not accept it).
    case reset(previous: TCPState?)
    /// It stopped answering its peer's retransmissions and was presumed gone; it was in `previous`.
    case silence(previous: TCPState)
    /// It sent a RST its peer will not accept (out of window, or not exact). A stack that sends a
    /// RST has deleted its TCB, so it is CLOSED, whatever the RST's sequence number; but a RST
    /// that cannot close the connection may be stale or injected by someone else, and the
    /// endpoint's own next segment then shows it never left `previous`.
    case unacceptedReset(previous: TCPState)

    /// Closed by a reset that also closed, or could close, its peer's side. An unaccepted RST
    /// leaves the peer as it was, so its further segments are not traffic after a reset.
    var byReset: Bool { if case .reset = self { return true } else { return false } }

    /// Its own RST closed it and its peer did not accept that RST.
    var byUnacceptedReset: Bool { if case .unacceptedReset = self { return true } else { return false } }

    /// The state an inferred close withdraws to (nil: the close is not withdrawable).
    var withdrawsTo: TCPState? {
        switch self {
        case .reset(let previous): return previous
        case .silence(let previous): return previous
        case .unacceptedReset(let previous): return previous
        }
    }
}

/// The peer's acknowledgment that this endpoint's own retransmission proved lost (it sent again
/// what that ACK covered), and how many times. Once it happened twice, the ACK direction is
/// lossy: the same ACK seen again is not presumed to arrive, as a RST that keeps not arriving
/// is not (Captures/synack-ack-lost, fin-ack-lost-*).
struct LostAck: Sendable, Equatable {
    /// The acknowledgment number that did not arrive.
    private(set) var ack: UInt32
    /// How many retransmissions proved it lost.
    private(set) var times: UInt8 = 1

    init(ack: UInt32) { self.ack = ack }

    /// Proved lost once more (saturating).
    mutating func again() { if times < .max { times += 1 } }

    /// Whether a segment acknowledging `ack` and carrying nothing else is presumed lost too.
    func swallows(_ ack: UInt32) -> Bool { times >= 2 && ack == self.ack }
}

/// Whether the capture showed an endpoint send, and receive, data or a FIN (one byte: it sits in
/// the endpoint's padding). Read only after a midstream pickup, where a side that sent nothing may
/// have sent its FIN before the capture began.
struct PickupTraffic: OptionSet, Sendable {
    let rawValue: UInt8
    static let sent = PickupTraffic(rawValue: 1)
    static let received = PickupTraffic(rawValue: 2)
}

/// What an endpoint's TCP timestamps (RFC 7323) show, in 9 bytes: before it heard a TSval of its
/// peer's, the range of its own (the first it sent, in its SYN, and the latest: only SYN_SENT's
/// TSecr check reads them); from then on TS.Recent, its peer's latest TSval it accepted (PAWS).
/// No optionals: `known` says which of the two the words hold.
struct Timestamps: Sendable {
    /// The first TSval it sent, or TS.Recent once `known` holds `.recent`.
    private var low: UInt32 = 0
    /// The latest TSval it sent (while the range is kept).
    private(set) var latestSent: UInt32 = 0
    private(set) var known: Known = []

    struct Known: OptionSet, Sendable {
        let rawValue: UInt8
        static let sent = Known(rawValue: 1)
        static let recent = Known(rawValue: 2)
    }

    /// TS.Recent (RFC 7323 §4.3), when `known` holds `.recent`.
    var recent: UInt32 { low }

    /// Timestamps compare in modular arithmetic, like sequence numbers (RFC 7323 §5.2).
    @inline(__always)
    static func newer(_ a: UInt32, than b: UInt32) -> Bool { Int32(bitPattern: a &- b) > 0 }

    /// It sent TSval `v` (kept only until it hears its peer's: SYN_SENT is over by then).
    @inline(__always)
    mutating func sent(_ v: UInt32) {
        guard !known.contains(.recent) else { return }
        if !known.contains(.sent) {
            low = v
            latestSent = v
            known.insert(.sent)
        } else if Self.newer(v, than: latestSent) {
            latestSent = v
        }
    }

    /// It accepted a segment of its peer's carrying TSval `v`: TS.Recent moves forward.
    @inline(__always)
    mutating func accepted(_ v: UInt32) {
        if !known.contains(.recent) {
            low = v
            known = .recent
        } else if Self.newer(v, than: low) {
            low = v
        }
    }

    /// PAWS (RFC 7323 §5.3, Linux `tcp_paws_check`): TSval `v` older than TS.Recent by more than
    /// Linux's one-tick window.
    @inline(__always)
    func failsPAWS(_ v: UInt32) -> Bool {
        known.contains(.recent) && Int32(bitPattern: low &- v) > 1
    }

    /// Whether `echo` is a TSval it never sent: outside [first sent, latest sent] (Linux's
    /// `PAWSActiveRejected` in SYN_SENT). Zero echoes nothing; nothing sent with a TSval, nothing to judge.
    @inline(__always)
    func neverSent(_ echo: UInt32) -> Bool {
        guard known == .sent, echo != 0 else { return false }
        return Self.newer(low, than: echo) || Self.newer(echo, than: latestSent)
    }
}
