/// What a receiving endpoint did with a segment (RFC 9293 §3.10.7), after swift-nio-http2's
/// `StateMachineResult`: each receive step says so in one value instead of a bare `Bool`.
/// A segment the receiver does not accept changes nothing on its side (design note §2).
enum ReceiveResult: Equatable, Sendable {
    /// Processed: its sequence space, and perhaps its state, moved.
    case accepted
    /// Acceptable enough to be answered with a challenge ACK and otherwise ignored: a RST in the
    /// window but not at RCV.NXT (RFC 5961 §3.2), a SYN in a synchronized state (§4).
    case challenged
    /// Dropped, for this reason.
    case dropped(DropReason)
}

/// Why a receiver drops a segment.
enum DropReason: UInt8, Sendable {
    /// SYN+FIN, SYN+RST, FIN+RST or no flags: no state takes it.
    case invalidFlags
    /// CLOSED: there is no connection to take it (§3.10.7.1).
    case noConnection
    /// Not what this state waits for (LISTEN takes only a SYN, SYN_SENT a SYN or SYN+ACK).
    case notExpected
    /// Its ACK does not acknowledge our SYN (SYN_SENT §3.10.7.3, SYN_RECEIVED §3.10.7.4).
    case unacceptableAck
    /// A RST without ACK in SYN_SENT is ignored (§3.10.7.3).
    case resetWithoutAck
    /// Outside the receive window (§3.10.7.4 table 6; a RST per RFC 5961 §3.2).
    case outOfWindow
    /// This endpoint's own segments showed the peer's RSTs do not reach it.
    case resetsDoNotArrive
    /// No ACK bit in a synchronized state (§3.10.7.4, fifth).
    case noAck
    /// The same ACK that its own retransmissions proved lost twice: that direction loses ACKs.
    case ackDirectionLossy
    /// Its ACK is below SND.UNA − MAX.SND.WND (RFC 5961 §5).
    case ackTooOld
    /// Its TSval is older than the last one accepted (PAWS, RFC 7323 §5.3).
    case paws
    /// In SYN_SENT, its TSecr echoes a TSval this endpoint never sent (RFC 7323 §3.2, Linux).
    case tsecrNotSent
}
