import WireStateDecoder

/// Window checks, after Linux conntrack's `tcp_in_window`, which states Guido van Rooij's four
/// bounds ("Real Stateful TCP Packet Filtering in IP Filter") up front. For a segment from the
/// sender to the receiver:
///
/// - **I**   seq + len ≤ the furthest right edge the receiver ever advertised (td_maxend):
///           `checkUpperBound`, `data-beyond-window` — held until the receiver answers, because a
///           capture gap hides window updates too (`checkWindowUpdateNotCaptured`).
/// - **II**  seq + len ≥ the sender's SND.NXT − the largest window the receiver offered:
///           `isBelowLowerBound`, `data-too-old` (from `observeSequence`, which otherwise reads
///           data below SND.NXT as a retransmission); the receiver drops it as a duplicate.
/// - **III** ack ≤ the receiver's SND.NXT: an ACK beyond anything seen is read as a capture gap
///           (`observeAcknowledgment`, `ack-of-unseen-data`), a violation only when proved
///           (`ack-of-unsent-data`).
/// - **IV**  ack ≥ the receiver's SND.UNA − MAX.SND.WND: an ACK too old (RFC 5961 §5),
///           `checkAckTooOld`, `ack-too-old`; the receiver drops the segment.
///
/// Bounds need the scale from both SYNs and a handshake (midstream connections skip them, design
/// note §4). The checks of the sender's own advertisement (zero window, duplicate ACK, a window
/// that shrank) are here too, with what they remember per endpoint in `WindowWatch`.
extension Connection {
    /// Bound I: data beyond the furthest right edge the receiver offered. A one-byte segment into a
    /// zero window is a probe, not a violation. The finding is held in the receiver's `WindowWatch`
    /// (the first such segment; later ones extend it) until the receiver answers: the capture may
    /// have missed the window update that allowed it (`checkWindowUpdateNotCaptured`).
    @inline(__always)
    static func checkUpperBound(
        _ s: TCPSegment, _ c: EndpointMachine.SegmentClass, sender: EndpointMachine,
        receiver: EndpointMachine, receiverWindow: inout WindowWatch, midstream: Bool, _ ctx: StepContext,
        _ out: inout StepOutput
    ) {
        let len = s.payloadLength
        guard len > 0, c != .invalid && c != .rst && !s.flags.contains(.syn), !midstream, sender.send.nxt != nil,
            sender.state.isSynchronized || sender.state == .synReceived,
            let edge = receiver.advertised, receiver.windowScale.shift != nil, sender.windowScale.shift != nil
        else { return }
        let dataEnd = s.sequence &+ s.sequenceLength &- (s.flags.contains(.fin) ? 1 : 0)
        if Seq.gt(dataEnd, edge.maxRightEdge) && !(len == 1 && edge.window == 0) {
            if receiverWindow.beyond == nil {
                receiverWindow.beyond = HeldBeyondWindow(frame: ctx.frame, edge: edge.maxRightEdge, end: dataEnd)
            } else {
                receiverWindow.beyond?.extend(to: dataEnd)
            }
        }
    }

    /// A capture gap hides window updates too (issue 8 §2; Captures/window-update-gap). Data past the
    /// last right edge the capture showed is held (`checkUpperBound`) until the receiver's next
    /// advertisement: if that acknowledges past the edge or offers a right edge that covers the data,
    /// the receiver took it and the capture missed the update that allowed it,
    /// `window-update-not-captured` (capture gap, about the receiver, related to the data), and the
    /// bound restarts from what this ACK shows. Otherwise the receiver did not take it:
    /// `data-beyond-window` (violation) at the data's frame. Still held at the end: the same.
    @inline(__always)
    static func checkWindowUpdateNotCaptured(
        _ s: TCPSegment, _ c: EndpointMachine.SegmentClass, sender: EndpointMachine,
        receiver: EndpointMachine, window: inout WindowWatch, _ ctx: StepContext,
        _ out: inout StepOutput
    ) {
        guard let held = window.beyond, WindowWatch.advertises(s, c), let shift = sender.windowScale.shift else { return }
        window.beyond = nil
        let ack = s.acknowledgment
        let rightEdge = ack &+ (UInt32(s.window) << UInt32(shift))
        if Seq.gt(ack, held.edge) || Seq.ge(rightEdge, held.end) {
            window.segmentsMissed = true
            sender.emit(.windowUpdateNotCaptured, ctx, &out, expected: held.edge, actual: held.end, related: held.frame)
        } else {
            reportDataBeyondWindow(held, sender: receiver, ctx, &out)
        }
    }

    /// The held finding, proved: `data-beyond-window` about the data's sender, at its first segment.
    static func reportDataBeyondWindow(
        _ held: HeldBeyondWindow, sender: EndpointMachine, _ ctx: StepContext, _ out: inout StepOutput
    ) {
        var at = ctx
        at.frame = held.frame
        sender.emit(.dataBeyondWindow, at, &out, expected: held.edge, actual: held.end)
    }

    /// Bound II, data too old (conntrack: "SEQ is under the lower bound (already ACKed data
    /// retransmitted)"). A sender never has more than the receiver's window unacknowledged, so its
    /// SND.UNA is never below SND.NXT − the largest window the receiver offered: data ending below
    /// that was acknowledged long ago. No correct sender retransmits it; it is an old duplicate the
    /// network delivered late, a copy from another incarnation, or an injection (RFC 5961 §7). The
    /// receiver finds it below RCV.NXT and drops it (answering with an ACK): it changes nothing.
    ///
    /// Only where the capture shows every window that allowed the sender's data: off where window
    /// checks are off (midstream, scale unknown), before the receiver advertised, while the sender
    /// is past the furthest right edge seen or such data is held (`checkUpperBound`) or an ACK of
    /// its data the capture had not shown is open (`UnseenAck`), and for good once the capture is
    /// known to have missed the receiver's segments (`WindowWatch.segmentsMissed`): a window the
    /// capture missed would make the bound stricter than the receiver's.
    @inline(__always)
    static func isBelowLowerBound(
        _ s: TCPSegment, sender: EndpointMachine, receiver: EndpointMachine, receiverWindow: WindowWatch,
        midstream: Bool
    ) -> UInt32? {
        guard !midstream, s.sequenceLength > 0, let nxt = sender.send.nxt, let adv = receiver.advertised,
            let shift = receiver.windowScale.shift, sender.windowScale.shift != nil, receiverWindow.beyond == nil,
            !receiverWindow.segmentsMissed, sender.unseenAck == nil, !Seq.gt(nxt, adv.maxRightEdge)
        else { return nil }
        let floor = nxt &- adv.maxWindow(shift: shift)
        return Seq.lt(s.sequence &+ s.sequenceLength, floor) ? floor : nil
    }

    /// Bound IV, ACK acceptability (RFC 9293 §3.10.7.4 fifth, RFC 5961 §5): an ACK below the
    /// receiver's SND.UNA − MAX.SND.WND acknowledges nothing its peer could still be waiting for —
    /// a blind injection or a very old duplicate. The receiver drops the segment and answers with
    /// an ACK; it changes nothing there (returned for `EndpointMachine.received`). MAX.SND.WND is
    /// the sender's largest window field, scaled (`Advertisement.maxWindow`); a larger window the
    /// capture missed would make it stricter than the receiver's. Off where window checks are off (midstream, scale
    /// unknown) and before the handshake (the handshake checks judge those ACKs).
    @inline(__always)
    static func checkAckTooOld(
        _ s: TCPSegment, _ c: EndpointMachine.SegmentClass, sender: EndpointMachine,
        receiver: EndpointMachine, midstream: Bool, _ ctx: StepContext, _ out: inout StepOutput
    ) -> Bool {
        guard s.flags.contains(.ack), c != .rst, c != .invalid, !s.flags.contains(.syn), !midstream,
            receiver.state.isSynchronized, sender.state.isSynchronized,
            let adv = sender.advertised, let shift = sender.windowScale.shift, receiver.send.nxt != nil
        else { return false }
        let floor = receiver.send.una &- adv.maxWindow(shift: shift)
        guard Seq.lt(s.acknowledgment, floor) else { return false }
        sender.emit(.ackTooOld, ctx, &out, expected: floor, actual: s.acknowledgment)
        return true
    }

    /// The sender's own advertisement: a zero window (once per closing), a duplicate ACK (the same
    /// ACK and window again while the peer has data outstanding), a right edge that moved left
    /// (one finding per run, `collapseRepeats`).
    @inline(__always)
    static func checkAdvertisedWindow(
        _ s: TCPSegment, _ c: EndpointMachine.SegmentClass, sender: EndpointMachine,
        receiver: EndpointMachine, window: inout WindowWatch, midstream: Bool,
        _ ctx: StepContext, _ out: inout StepOutput
    ) {
        guard WindowWatch.advertises(s, c) else { return }
        let ack = s.acknowledgment
        if s.window == 0 && !window.zeroWindowOpen {
            sender.emit(.zeroWindow, ctx, &out)
        }
        guard let last = sender.advertised else { return }
        if s.payloadLength == 0 && !s.flags.contains(.fin) && ack == last.ack && s.window == last.rawWindow
            && s.window != 0 && window.sentPureAck, let peerNext = receiver.send.nxt, Seq.gt(peerNext, ack),
            sender.state.isSynchronized
        {
            sender.emit(.duplicateAck, ctx, &out, actual: ack)
        }
        guard let shift = sender.windowScale.shift, !midstream, Seq.ge(ack, last.ack) else { return }
        let edge = ack &+ (UInt32(s.window) << UInt32(shift))
        let granularity = UInt32(1) << UInt32(shift)
        if Seq.lt(edge &+ granularity, last.maxRightEdge) && s.window != 0 {
            if let n = window.shrinkRepeats {
                window.shrinkRepeats = n &+ 1  // still shrunk: the same finding, once more
            } else {
                window.shrinkRepeats = 1
                sender.emit(.windowShrunk, ctx, &out, expected: last.maxRightEdge, actual: edge)
            }
        } else {
            window.shrinkRepeats = nil
        }
    }
}

/// What the window checks remember of one endpoint's advertisements.
struct WindowWatch: Sendable {
    // Declared largest first, so that the flags fill the padding (27 bytes, not 37).
    /// Data its peer sent past the furthest right edge it was seen to offer, until it answers
    /// (`Connection.checkWindowUpdateNotCaptured`).
    var beyond: HeldBeyondWindow?
    /// Segments since its window's right edge moved left and has stayed left (nil: not shrunk).
    /// One shrink is one finding however long it lasts (`Connection.collapseRepeats`).
    var shrinkRepeats: UInt32?
    /// Its last advertisement was a zero window (the next zero window is the same closing).
    var zeroWindowOpen = false
    /// It has sent a pure ACK (no data, no FIN): only then is an identical one a duplicate.
    var sentPureAck = false
    /// The capture is known to have missed segments of it (a sequence jump, a window update that
    /// data it took proves): the largest window seen may be less than it offered, so bound II,
    /// which trusts that window, is off for its peer's data from then on (`isBelowLowerBound`).
    var segmentsMissed = false

    /// Segments whose window field is an advertisement: ACKs that are not SYN, RST or invalid
    /// (windows in SYNs are never scaled, RFC 7323 §2.2).
    @inline(__always)
    static func advertises(_ s: TCPSegment, _ c: EndpointMachine.SegmentClass) -> Bool {
        s.flags.contains(.ack) && c != .rst && c != .invalid && !s.flags.contains(.syn)
    }

    /// After the sender's step: remember this advertisement.
    @inline(__always)
    mutating func sent(_ s: TCPSegment, _ c: EndpointMachine.SegmentClass) {
        guard Self.advertises(s, c) else { return }
        zeroWindowOpen = s.window == 0
        if s.payloadLength == 0 && !s.flags.contains(.fin) { sentPureAck = true }
    }
}

/// Data sent past the furthest right edge the receiver was seen to offer: the first segment that did
/// and the furthest end since, held until the receiver shows whether it took them.
struct HeldBeyondWindow: Sendable {
    /// The right edge the data went past.
    let edge: UInt32
    /// The end of the data past it.
    private(set) var end: UInt32
    let frame: FrameRef?

    init(frame: FrameRef?, edge: UInt32, end: UInt32) {
        self.frame = frame
        self.edge = edge
        self.end = end
    }

    /// Another segment past the same edge, up to `dataEnd`.
    mutating func extend(to dataEnd: UInt32) {
        if Seq.gt(dataEnd, end) { end = dataEnd }
    }
}
