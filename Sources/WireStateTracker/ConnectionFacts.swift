import WireStateDecoder

/// Facts about a connection that reports want beside the endpoint states: who reset it, who
/// closed it first, the handshake timing at the capture point, and Zeek's view of it.
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
        if f.contains(.rst) {
            if resetBy == nil { resetBy = role }
            return
        }
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
}
