import WireStateDecoder

/// Facts about a connection that reports want beside the endpoint states: who reset it, who
/// closed it first, the handshake timing at the capture point, when each side last sent and how
/// long the connection had been idle before its first RST, and Zeek's view of it.
///
/// Updated once per segment by one call from `Connection.process`; a fixed-size value held in the
/// connection's running summary (one copy per connection, so memory follows connections open at
/// once) and adding no allocation to the hot path.
public struct ConnectionFacts: Sendable, Equatable {
    /// Who sent the first RST (nil: nobody).
    public private(set) var resetBy: Role?
    /// Who sent the first FIN (nil: nobody).
    public private(set) var closedBy: Role?
    /// The client's latest SYN before the server's first SYN+ACK (capture time, ns).
    public private(set) var synTime: Int64?
    /// The server's first SYN+ACK after that SYN.
    public private(set) var synAckTime: Int64?
    /// The server's latest SYN+ACK before the client's handshake ACK.
    var lastSynAckTime: Int64?
    var synAckSeq: UInt32 = 0
    /// The client's first ACK of the SYN+ACK (no SYN, no RST; acknowledging ISN + 1).
    public private(set) var ackTime: Int64?
    public private(set) var zeek = ZeekView()

    /// Each side's latest segment, of any kind (capture time, ns; nil: it sent none). With the
    /// keep-alives an endpoint sent, this tells which of them its peer never answered: diagnose
    /// cannot see pure ACKs, which raise no tracker event.
    public private(set) var lastClientTime: Int64?
    public private(set) var lastServerTime: Int64?
    /// The latest segment of either side that carried the connection forward: payload, SYN or FIN,
    /// but not a keep-alive (at most one byte, one below the highest sequence its sender sent).
    /// Pure ACKs and keep-alives keep a middlebox's flow entry alive but are not activity of the
    /// applications, which is what an idle timeout measures.
    public private(set) var lastActivityTime: Int64?
    /// At the first RST: how long before it the connection had last carried data, a SYN or a FIN
    /// (nil: no RST, or nothing before it). Long: an idle timeout; short: a reset mid-transfer.
    public private(set) var idleBeforeReset: Int64?
    /// At the first RST: how long before it the last segment of any kind crossed (nil: none did).
    /// As long as `idleBeforeReset`: the wire was silent, as when a middlebox's flow timer expires;
    /// much shorter: keep-alives or ACKs crossed meanwhile, which keep a middlebox's entry fresh,
    /// so the applications' own idle timeout is the likelier one.
    public private(set) var silenceBeforeReset: Int64?
    /// The end of each side's highest sequence seen, to recognise keep-alives without the endpoint
    /// machines' state.
    var clientSequenceEnd: UInt32 = 0
    var serverSequenceEnd: UInt32 = 0
    var clientSequenceKnown = false
    var serverSequenceKnown = false

    public init() {}

    /// SYN → SYN+ACK: the round trip from the capture point to the server and back.
    public var synToSynAck: Int64? {
        guard let a = synTime, let b = synAckTime else { return nil }
        return CaptureTime.elapsed(from: a, to: b)
    }

    /// SYN+ACK → ACK: the round trip from the capture point to the client and back (from the
    /// SYN+ACK the ACK answers: the latest one before it).
    public var synAckToAck: Int64? {
        guard let a = lastSynAckTime, let b = ackTime else { return nil }
        return CaptureTime.elapsed(from: a, to: b)
    }

    /// Both halves: the handshake round trip as the capture point measures it.
    public var handshakeRTT: Int64? {
        guard let a = synToSynAck, let b = synAckToAck else { return nil }
        return CaptureTime.adding(a, to: b)
    }

    @inline(__always)
    mutating func observe(_ s: TCPSegment, fromClient: Bool, time: Int64) {
        zeek.observe(s, isOrig: fromClient)
        let f = s.flags
        let role: Role = fromClient ? .client : .server
        if f.contains(.rst) && resetBy == nil {
            resetBy = role
            if let a = lastActivityTime { idleBeforeReset = CaptureTime.elapsed(from: a, to: time) }
            let last = max(lastClientTime ?? .min, lastServerTime ?? .min)
            if last != .min { silenceBeforeReset = CaptureTime.elapsed(from: last, to: time) }
        }
        if fromClient { lastClientTime = time } else { lastServerTime = time }
        if f.contains(.rst) { return }
        noteActivity(s, fromClient: fromClient, time: time)
        if f.contains(.fin) && closedBy == nil { closedBy = role }
        if f.contains(.syn) {
            if f.contains(.ack) {
                if !fromClient && synTime != nil && ackTime == nil {
                    if synAckTime == nil { synAckTime = time }
                    lastSynAckTime = time
                    synAckSeq = s.sequence
                }
            } else if fromClient && synAckTime == nil {
                synTime = time
            }
        } else if fromClient && f.contains(.ack) && lastSynAckTime != nil && ackTime == nil
                    && s.acknowledgment == synAckSeq &+ 1 {
            ackTime = time
        }
    }

    /// Activity (payload, SYN, FIN) moves `lastActivityTime`; pure ACKs and keep-alives do not. A
    /// keep-alive is what RFC 9293 §3.8.4 describes: no SYN or FIN, at most one byte, starting one
    /// below the highest sequence its sender has sent.
    @inline(__always)
    mutating func noteActivity(_ s: TCPSegment, fromClient: Bool, time: Int64) {
        let f = s.flags
        let length = s.sequenceLength
        let known = fromClient ? clientSequenceKnown : serverSequenceKnown
        let highest = fromClient ? clientSequenceEnd : serverSequenceEnd
        let end = s.sequence &+ length
        let keepAlive = known && s.payloadLength <= 1 && !f.contains(.syn) && !f.contains(.fin)
            && s.sequence == highest &- 1
        if length > 0 && !keepAlive { lastActivityTime = time }
        if !known || f.contains(.syn) || Seq.gt(end, highest) {
            if fromClient { clientSequenceEnd = end; clientSequenceKnown = true }
            else { serverSequenceEnd = end; serverSequenceKnown = true }
        }
    }
}
