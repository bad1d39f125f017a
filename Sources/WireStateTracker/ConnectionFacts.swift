import WireStateDecoder

/// Facts about a connection that reports want beside the endpoint states: who reset it, who
/// closed it first, the handshake timing at the capture point, when each side last sent and how
/// long the connection had been idle before its first RST, and Zeek's view of it.
///
/// Updated once per segment by one call from `Connection.process`; a fixed-size value held in the
/// connection's running summary (one copy per connection, so memory follows connections open at
/// once) and adding no allocation to the hot path. Times are stored as plain `Int64` with
/// `Int64.min` for "none" (tracker times are clamped to ±2⁶² ns, so it is never a real one): an
/// `Int64?` takes 16 bytes in a struct, and there are nine of them per connection. The public
/// properties are the optionals.
public struct ConnectionFacts: Sendable, Equatable {
    static let none = Int64.min

    // The nine times first, then Zeek's view (234 bytes: the 4-byte fields after it fill its
    // tail; 324 bytes in all, not 344).
    /// The client's latest SYN before the server's first SYN+ACK (capture time, ns).
    var synAt = none
    /// The server's first SYN+ACK after that SYN.
    var synAckAt = none
    /// The server's latest SYN+ACK before the client's handshake ACK.
    var lastSynAckAt = none
    /// The client's first ACK of the SYN+ACK (no SYN, no RST; acknowledging ISN + 1).
    var ackAt = none
    /// Each side's latest segment of any kind.
    var lastClientAt = none
    var lastServerAt = none
    /// The latest segment of either side that carried payload, a SYN or a FIN (not a keep-alive).
    var activityAt = none
    /// Measured at the first RST: since the last activity, and since the last segment of any kind.
    var idleAtReset = none
    var silenceAtReset = none
    public private(set) var zeek = ZeekView()
    var synAckSeq: UInt32 = 0
    /// The end of each side's highest sequence seen, to recognise keep-alives without the endpoint
    /// machines' state (bit 0: the client's is known, bit 1: the server's).
    var clientSequenceEnd: UInt32 = 0
    var serverSequenceEnd: UInt32 = 0
    var sequenceKnown: UInt8 = 0
    /// Whether `zeek` follows the segments (`ConnectionTracker.Configuration.zeekView`): off, it
    /// stays as at the start (one byte, in padding).
    var keepsZeekView = true
    /// Who sent the first RST (nil: nobody).
    public private(set) var resetBy: Role?
    /// Who sent the first FIN (nil: nobody): the first in the capture, unless the tracker shows an
    /// earlier one the capture missed (`finSentFirst`).
    public private(set) var closedBy: Role?

    public init() {}

    @inline(__always)
    static func optional(_ t: Int64) -> Int64? { t == none ? nil : t }

    /// The client's latest SYN before the server's first SYN+ACK (capture time, ns).
    public var synTime: Int64? { Self.optional(synAt) }
    /// The server's first SYN+ACK after that SYN.
    public var synAckTime: Int64? { Self.optional(synAckAt) }
    /// The client's first ACK of the SYN+ACK (no SYN, no RST; acknowledging ISN + 1).
    public var ackTime: Int64? { Self.optional(ackAt) }

    /// Each side's latest segment, of any kind (capture time, ns; nil: it sent none). With the
    /// keep-alives an endpoint sent, this tells which of them its peer never answered: diagnose
    /// cannot see pure ACKs, which raise no tracker event.
    public var lastClientTime: Int64? { Self.optional(lastClientAt) }
    public var lastServerTime: Int64? { Self.optional(lastServerAt) }
    /// The latest segment of either side that carried the connection forward: payload, SYN or FIN,
    /// but not a keep-alive (at most one byte, one below the highest sequence its sender sent).
    /// Pure ACKs and keep-alives keep a middlebox's flow entry alive but are not activity of the
    /// applications, which is what an idle timeout measures.
    public var lastActivityTime: Int64? { Self.optional(activityAt) }
    /// At the first RST: how long before it the connection had last carried data, a SYN or a FIN
    /// (nil: no RST, or nothing before it). Long: an idle timeout; short: a reset mid-transfer.
    public var idleBeforeReset: Int64? { Self.optional(idleAtReset) }
    /// At the first RST: how long before it the last segment of any kind crossed (nil: none did).
    /// As long as `idleBeforeReset`: the wire was silent, as when a middlebox's flow timer expires;
    /// much shorter: keep-alives or ACKs crossed meanwhile, which keep a middlebox's entry fresh,
    /// so the applications' own idle timeout is the likelier one.
    public var silenceBeforeReset: Int64? { Self.optional(silenceAtReset) }

    /// SYN → SYN+ACK: the round trip from the capture point to the server and back.
    public var synToSynAck: Int64? {
        guard let a = synTime, let b = synAckTime else { return nil }
        return CaptureTime.elapsed(from: a, to: b)
    }

    /// SYN+ACK → ACK: the round trip from the capture point to the client and back (from the
    /// SYN+ACK the ACK answers: the latest one before it).
    public var synAckToAck: Int64? {
        guard let a = Self.optional(lastSynAckAt), let b = ackTime else { return nil }
        return CaptureTime.elapsed(from: a, to: b)
    }

    /// Both halves: the handshake round trip as the capture point measures it.
    public var handshakeRTT: Int64? {
        guard let a = synToSynAck, let b = synAckToAck else { return nil }
        return CaptureTime.adding(a, to: b)
    }

    @inline(__always)
    mutating func observe(_ s: TCPSegment, fromClient: Bool, time: Int64) {
        if keepsZeekView { zeek.observe(s, isOrig: fromClient) }
        let f = s.flags
        let role: Role = fromClient ? .client : .server
        if f.contains(.rst) && resetBy == nil {
            resetBy = role
            if activityAt != Self.none { idleAtReset = CaptureTime.elapsed(from: activityAt, to: time) }
            let last = max(lastClientAt, lastServerAt)
            if last != Self.none { silenceAtReset = CaptureTime.elapsed(from: last, to: time) }
        }
        if fromClient { lastClientAt = time } else { lastServerAt = time }
        if f.contains(.rst) { return }
        noteActivity(s, fromClient: fromClient, time: time)
        if f.contains(.fin) && closedBy == nil { closedBy = role }
        if f.contains(.syn) {
            if f.contains(.ack) {
                if !fromClient && synAt != Self.none && ackAt == Self.none {
                    if synAckAt == Self.none { synAckAt = time }
                    lastSynAckAt = time
                    synAckSeq = s.sequence
                }
            } else if fromClient && synAckAt == Self.none {
                synAt = time
            }
        } else if fromClient && f.contains(.ack) && lastSynAckAt != Self.none && ackAt == Self.none
            && s.acknowledgment == synAckSeq &+ 1
        {
            ackAt = time
        }
    }

    /// Who closed first follows the order the FINs were sent, not the order the capture shows them:
    /// `role`'s FIN was sent before the peer's FIN reached it, though the capture missed it and
    /// showed the peer's first (`EndpointMachine.sentFinBeforeCaptured`; Captures/fin-order-capture-gap).
    mutating func finSentFirst(by role: Role) { closedBy = role }

    /// Activity (payload, SYN, FIN) moves `lastActivityTime`; pure ACKs and keep-alives do not. A
    /// keep-alive is what RFC 9293 §3.8.4 describes: no SYN or FIN, at most one byte, starting one
    /// below the highest sequence its sender has sent.
    @inline(__always)
    mutating func noteActivity(_ s: TCPSegment, fromClient: Bool, time: Int64) {
        let f = s.flags
        let length = s.sequenceLength
        let bit: UInt8 = fromClient ? 1 : 2
        let known = sequenceKnown & bit != 0
        let highest = fromClient ? clientSequenceEnd : serverSequenceEnd
        let end = s.sequence &+ length
        let keepAlive =
            known && s.payloadLength <= 1 && !f.contains(.syn) && !f.contains(.fin)
            && s.sequence == highest &- 1
        if length > 0 && !keepAlive { activityAt = time }
        if !known || f.contains(.syn) || Seq.gt(end, highest) {
            if fromClient { clientSequenceEnd = end } else { serverSequenceEnd = end }
            sequenceKnown |= bit
        }
    }
}
