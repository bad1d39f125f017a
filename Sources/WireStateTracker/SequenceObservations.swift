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
        sender: inout EndpointMachine, receiver: inout EndpointMachine, senderWindow: inout WindowWatch,
        receiverWindow: WindowWatch, midstream: Bool, _ ctx: StepContext, _ out: inout StepOutput
    ) -> Bool {
        guard c != .invalid && c != .rst && !s.flags.contains(.syn), sender.send.nxt != nil else { return false }
        let seq = s.sequence
        let len = s.payloadLength
        checkCaptureReordering(s, sender: &sender, receiver: &receiver, ctx, &out)
        guard sender.state.isSynchronized || sender.state == .synReceived, let nxt = sender.send.nxt else { return false }
        let peerWindowClosed = receiver.advertised?.window == 0
        let isFin = s.flags.contains(.fin)
        if len <= 1 && !isFin && seq == nxt &- 1 {
            // Keep-alive (RFC 9293 §3.8.4): one below SND.NXT, no new data. Linux's zero-window
            // probe has the same shape; the peer's zero window tells them apart.
            sender.emit(peerWindowClosed ? .zeroWindowProbe : .keepAlive, ctx, &out)
        } else if s.sequenceLength > 0 && Seq.lt(seq, nxt) {
            if let floor = isBelowLowerBound(
                s, sender: sender, receiver: receiver, receiverWindow: receiverWindow, midstream: midstream)
            {
                // Van Rooij bound II (WindowCheck.swift): not a retransmission, and it fills no hole.
                sender.emit(.dataTooOld, ctx, &out, expected: floor, actual: seq &+ s.sequenceLength)
                return false
            }
            if !(isFin && len == 0) {  // a bare FIN retransmission is reported as such by the sender's step
                sender.emit(.retransmission, ctx, &out, actual: seq)
            }
            // A retransmission into the hole: the network lost it, and it is filled now.
            sender.retransmitted(from: seq, to: seq &+ s.sequenceLength)
            return true
        } else if Seq.gt(seq, nxt) {
            sender.emit(.previousSegmentNotCaptured, ctx, &out, expected: nxt, actual: seq)
            senderWindow.segmentsMissed = true
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
        _ s: TCPSegment, _ c: EndpointMachine.SegmentClass, sender: inout EndpointMachine,
        receiver: inout EndpointMachine, _ ctx: StepContext, _ out: inout StepOutput
    ) {
        guard s.flags.contains(.ack) && c != .invalid else { return }
        let ack = s.acknowledgment
        // Its ACK went back below the unseen data it acknowledged before, while that data was
        // arriving short of it: an acknowledgment never moves back, so that data was never sent.
        if let unseen = receiver.unseenAck, unseen.isArriving, Seq.lt(ack, unseen.to) {
            proveAckOfUnsentData(dataSender: &receiver, acker: &sender, ctx, &out)
        }
        if c != .synAck, receiver.state.isSynchronized, let nxt = receiver.send.nxt, Seq.gt(ack, nxt) {
            sender.emit(.ackOfUnseenData, ctx, &out, expected: nxt, actual: ack)
            receiver.assumeSentUnseen(upTo: ack, ackFrame: ctx.frame)
        } else if let hole = receiver.hole, Seq.gt(ack, hole.start) {
            // It acknowledges bytes inside a hole no captured segment filled: it got what we missed.
            sender.emit(.ackOfUnseenData, ctx, &out, expected: hole.start, actual: ack)
            receiver.holeAcknowledged()
        }
    }

    /// Reordering in the capture is not a violation (issue 8 §2; Captures/reorder-ack-before-data).
    /// The peer acknowledged data of the sender's that the capture had not shown; now the sender
    /// sends from where it was before that ACK. Data that reaches the ACK is what the ACK covered,
    /// captured late (a mirror port, an IPS or merged interfaces write one direction behind the
    /// other): `capture-reordered`, related to the ACK. Data that stops short leaves it open: more of
    /// a reordered burst may follow, until something shows it will not (`proveAckOfUnsentData`):
    /// a FIN short of the ACK, here; the ACKer's own ACK going back below it
    /// (`observeAcknowledgment`); the end of the connection (`Connection.settleAtEnd`).
    @inline(__always)
    static func checkCaptureReordering(
        _ s: TCPSegment, sender: inout EndpointMachine, receiver: inout EndpointMachine,
        _ ctx: StepContext, _ out: inout StepOutput
    ) {
        guard sender.unseenAck != nil else { return }
        let seq = s.sequence, len = s.payloadLength
        if len > 0, let unseen = sender.sentData(from: seq, to: seq &+ len, ctx.frame) {
            sender.emit(.captureReordered, ctx, &out, expected: unseen.to, actual: seq, related: unseen.frame)
            return
        }
        if s.flags.contains(.fin), let unseen = sender.unseenAck, unseen.isArriving, Seq.lt(seq &+ len, unseen.to) {
            proveAckOfUnsentData(dataSender: &sender, acker: &receiver, ctx, &out)
        }
    }

    /// The data an ACK of unseen data covered began to arrive and is shown to stop short of it for
    /// good: that ACK covered data never sent, `ack-of-unsent-data` (violation) about the ACKer, at
    /// the frame where the data went on from below it, related to the ACK. The ACKer's RCV.NXT goes
    /// back to what the sender really sent (its dropped segments since then change nothing).
    static func proveAckOfUnsentData(
        dataSender: inout EndpointMachine, acker: inout EndpointMachine, _ ctx: StepContext,
        _ out: inout StepOutput
    ) {
        guard let unseen = dataSender.unsentProved() else { return }
        var at = ctx
        at.frame = unseen.arriving ?? ctx.frame
        acker.emit(.ackOfUnsentData, at, &out, expected: unseen.from, actual: unseen.to, related: unseen.frame)
        acker.peerNeverSent(from: dataSender.send.nxt ?? unseen.from)
    }
}
