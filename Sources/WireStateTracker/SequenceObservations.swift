import WireStateDecoder

/// What the capture shows of the sender's sequence space and of its acknowledgment, before the
/// endpoints' own steps: keep-alives and zero-window probes, retransmissions (and the capture hole
/// they fill), sequence jumps (a hole), acknowledgments of data the capture never showed. None is
/// a violation except an acknowledgment later proved to cover data never sent (design note §4).
extension Connection {
    /// The sender's sequence number against its SND.NXT. Returns whether the segment was a
    /// retransmission (for `checkUnresponsive`).
    @inline(__always)
    static func observeSequence(
        _ s: TCPSegment, _ c: EndpointMachine.SegmentClass,
        sender: inout EndpointMachine, receiver: inout EndpointMachine,
        _ ctx: StepContext, _ out: inout [TrackerEvent]
    ) -> Bool {
        guard c != .invalid && c != .rst && !s.flags.contains(.syn), sender.send.nxt != nil else { return false }
        let seq = s.sequence
        let len = s.payloadLength
        // New data from exactly where the sender was before its peer acknowledged unseen bytes:
        // those bytes were never sent. The capture-gap reading is withdrawn on both sides.
        if len > 0, let unseen = sender.sentData(from: seq) {
            receiver.emit(.ackOfUnsentData, ctx, &out, expected: unseen.from, actual: unseen.to, related: unseen.frame)
            receiver.peerNeverSent(from: seq)
        }
        guard sender.state.isSynchronized || sender.state == .synReceived, let nxt = sender.send.nxt else { return false }
        let peerWindowClosed = receiver.advertised?.window == 0
        let isFin = s.flags.contains(.fin)
        if len <= 1 && !isFin && seq == nxt &- 1 {
            // Keep-alive (RFC 9293 §3.8.4): one below SND.NXT, no new data. Linux's zero-window
            // probe has the same shape; the peer's zero window tells them apart.
            sender.emit(peerWindowClosed ? .zeroWindowProbe : .keepAlive, ctx, &out)
        } else if s.sequenceLength > 0 && Seq.lt(seq, nxt) {
            if !(isFin && len == 0) {  // a bare FIN retransmission is reported as such by the sender's step
                sender.emit(.retransmission, ctx, &out, actual: seq)
            }
            // A retransmission into the hole: the network lost it, and it is filled now.
            sender.retransmitted(from: seq, to: seq &+ s.sequenceLength)
            return true
        } else if Seq.gt(seq, nxt) {
            sender.emit(.previousSegmentNotCaptured, ctx, &out, expected: nxt, actual: seq)
            sender.captureSkipped(to: seq)
        } else if len == 1 && peerWindowClosed {
            sender.emit(.zeroWindowProbe, ctx, &out)
        }
        return false
    }

    /// What the sender acknowledges: more than the peer was seen to send means missed segments
    /// (van Rooij bound III, read as a capture gap, not a violation). Only against a synchronized
    /// receiver: in the handshake the ACK must match exactly and the handshake checks
    /// (synack-bad-ack, handshake-ack-invalid) judge it.
    @inline(__always)
    static func observeAcknowledgment(
        _ s: TCPSegment, _ c: EndpointMachine.SegmentClass, sender: EndpointMachine,
        receiver: inout EndpointMachine, _ ctx: StepContext, _ out: inout [TrackerEvent]
    ) {
        guard s.flags.contains(.ack) && c != .invalid else { return }
        let ack = s.acknowledgment
        if c != .synAck, receiver.state.isSynchronized, let nxt = receiver.send.nxt, Seq.gt(ack, nxt) {
            sender.emit(.ackOfUnseenData, ctx, &out, expected: nxt, actual: ack)
            receiver.assumeSentUnseen(upTo: ack, ackFrame: ctx.frame)
        } else if let hole = receiver.hole, Seq.gt(ack, hole.start) {
            // It acknowledges bytes inside a hole no captured segment filled: it got what we missed.
            sender.emit(.ackOfUnseenData, ctx, &out, expected: hole.start, actual: ack)
            receiver.holeAcknowledged()
        }
    }
}
