import WireStateDecoder

/// Checks of one segment's header that only its sender answers for: flags, options, SYN data, and
/// the acknowledgment a SYN+ACK carries. They report; they change no state.
extension Connection {
    /// Flags, options and data that are wrong whatever the state.
    @inline(__always)
    static func checkHeader(
        _ s: TCPSegment, _ c: EndpointMachine.SegmentClass, sender: EndpointMachine,
        _ ctx: StepContext, _ out: inout StepOutput
    ) {
        let isSyn = s.flags.contains(.syn)
        // An acknowledgment number is meaningful only with the ACK flag (RFC 9293 §3.1); a RST's is
        // left alone (the answer to a SYN carries SEG.SEQ+1 there).
        if !s.flags.contains(.ack) && s.acknowledgment != 0 && c != .rst {
            sender.emit(.ackNumberWithoutAckFlag, ctx, &out, actual: s.acknowledgment)
        }
        // RFC 7323 §2.3: a shift over 14 is used as 14, and logged.
        if isSyn, let ws = s.options.windowScale, ws > 14 {
            sender.emit(.windowScaleOver14, ctx, &out, actual: UInt32(ws))
        }
        if s.options.malformed { sender.emit(.malformedOption, ctx, &out) }
        if isSyn && c != .invalid && s.payloadLength > 0 { sender.emit(.synWithData, ctx, &out, actual: s.payloadLength) }
    }

    /// A SYN+ACK must acknowledge the SYN it answers (ISS+1), or at least nothing past what the
    /// peer sent; the related frame is that SYN.
    @inline(__always)
    static func checkSynAckAcknowledgment(
        _ s: TCPSegment, _ c: EndpointMachine.SegmentClass,
        sender: EndpointMachine, receiver: EndpointMachine,
        _ ctx: StepContext, _ out: inout StepOutput
    ) {
        guard c == .synAck, let syn = receiver.send.syn, s.acknowledgment != syn.seq &+ 1,
            !receiver.acknowledgesOwnSyn(s.acknowledgment)
        else { return }
        sender.emit(.synAckBadAck, ctx, &out, expected: syn.seq &+ 1, actual: s.acknowledgment, related: syn.frame)
    }
}
