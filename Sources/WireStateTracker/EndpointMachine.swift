import WireStateDecoder

/// One endpoint's RFC 9293 state machine, as seen from a capture point.
///
/// ```
///                              +---------+ ---------\      active OPEN
///                              |  CLOSED |            \    -----------
///                              +---------+<---------\   \   create TCB
///                                |     ^              \   \  snd SYN
///                   passive OPEN |     |   CLOSE        \   \
///                   ------------ |     | ----------       \   \
///                    create TCB  |     | delete TCB         \   \
///                                V     |                      \   \
///            rcv RST (note 1)  +---------+            CLOSE    |    \
///         -------------------->|  LISTEN |          ---------- |     |
///        /                     +---------+          delete TCB |     |
///       /           rcv SYN      |     |     SEND              |     |
///      /           -----------   |     |    -------            |     V
/// +--------+      snd SYN,ACK  /       \   snd SYN          +--------+
/// |        |<-----------------           ------------------>|        |
/// |  SYN   |                    rcv SYN                     |  SYN   |
/// |  RCVD  |<-----------------------------------------------|  SENT  |
/// |        |                  snd SYN,ACK                   |        |
/// |        |------------------           -------------------|        |
/// +--------+   rcv ACK of SYN  \       /  rcv SYN,ACK       +--------+
///    |         --------------   |     |   -----------
///    |                x         |     |     snd ACK
///    |                          V     V
///    |  CLOSE                 +---------+
///    | -------                |  ESTAB  |
///    | snd FIN                +---------+
///    |                 CLOSE    |     |    rcv FIN
///    V                -------   |     |    -------
/// +---------+         snd FIN  /       \   snd ACK         +---------+
/// |  FIN    |<----------------          ------------------>|  CLOSE  |
/// | WAIT-1  |------------------                            |   WAIT  |
/// +---------+          rcv FIN  \                          +---------+
///   | rcv ACK of FIN   -------   |                          CLOSE  |
///   | --------------   snd ACK   |                         ------- |
///   V        x                   V                         snd FIN V
/// +---------+               +---------+                    +---------+
/// |FINWAIT-2|               | CLOSING |                    | LAST-ACK|
/// +---------+               +---------+                    +---------+
///   |              rcv ACK of FIN |                 rcv ACK of FIN |
///   |  rcv FIN     -------------- |    Timeout=2MSL -------------- |
///   |  -------            x       V    ------------        x       V
///    \ snd ACK              +---------+delete TCB          +---------+
///      -------------------->|TIME-WAIT|------------------->| CLOSED  |
///                           +---------+                    +---------+
/// ```
/// (RFC 9293 figure 5.)
///
/// A capture shows each segment once, but it is two events: the sender *sent* it (certain) and the
/// receiver *received* it (presumed). The connection feeds both to two instances of this one type,
/// so there is no client code and no server code (design note §1). `sent` moves the machine by the
/// sending table (`SendingTable.swift`) and marks the result **observed**; `received` runs RFC 9293
/// §3.10.7 for the receiver, one function per step in the RFC's order, each returning a
/// `ReceiveResult`, and marks the result **inferred** until the endpoint's own next segment confirms it.
///
/// State is private: every stored property has a private setter, so only the methods in this
/// file change it (`sent`, `received`, the capture-gap notes, `expireTimeWait`, the pickup
/// initialisers), and each reports what it did as events. What the endpoint knows is grouped in
/// small types that keep their own invariants (`EndpointSpaces.swift`): the send space, the receive
/// space (nil until known), its last advertisement, window scaling, the capture hole and the
/// unseen-ACK assumption (nil when there is none) and the record of how it closed.
public struct EndpointMachine: Sendable {
    // Declared in an order that packs: 8-byte-aligned parts first, then each odd-sized optional
    // followed by one-byte parts that fill its padding (MemoryLayoutTests pins the size).
    /// What it sent (observed): ISS, SND.NXT, SND.UNA, its FIN.
    private(set) var send = SendSpace()
    public let role: Role
    public private(set) var state: TCPState = .closed
    public private(set) var evidence: Evidence = .unknown
    /// It has sent or received anything: an inactive CLOSED endpoint is "not yet", not "closed".
    private(set) var active = false
    /// Its starting state was assumed (midstream pickup): moves from there are proven only relative
    /// to the assumption, so they are never better than inferred.
    private(set) var assumedStart = false
    /// Reached SYN_RECEIVED from LISTEN (a RST then returns it to LISTEN, RFC 9293 §3.10.7.4).
    private(set) var passiveOpen = false
    /// Its own segments have shown that the peer's RSTs do not reach it (a middlebox drops them, or
    /// they were injected): further RSTs are not presumed to close it.
    private(set) var resetsDoNotArrive = false
    /// When it entered TIME_WAIT (capture time; restarted by a retransmitted FIN).
    private(set) var timeWaitSince: Int64 = 0
    /// The peer acknowledged data of its that the capture never showed: assumed sent and missed.
    private(set) var unseenAck: UnseenAck?
    /// After a midstream pickup: it sent, or received from its peer, data or a FIN the capture
    /// showed. While one side has sent nothing but pure ACKs, it may have sent its FIN before the
    /// capture began, which leaves no trace (`receivedFin`, `receivedAck`).
    private(set) var trafficSincePickup: PickupTraffic = []
    /// How it came to be CLOSED, when that matters later (withdrawable, or by a reset).
    private(set) var closure: Closure?
    /// Its last acknowledgment and window, and the furthest right edge it offered; nil until it sent an ACK.
    private(set) var advertised: Advertisement?
    /// How its advertised windows are scaled (pending until both SYNs are known).
    private(set) var windowScale = WindowScale.initial
    /// The first stretch of its sequence space the capture skipped, while no segment filled it.
    private(set) var hole: CaptureHole?
    /// Its own TSvals and TS.Recent (RFC 7323), for PAWS and SYN_SENT's TSecr check.
    private(set) var timestamps = Timestamps()
    /// What it received (inferred): IRS, RCV.NXT, the peer's FIN; nil until the capture shows where
    /// the peer's sequence space is.
    private(set) var receive: ReceiveSpace?
    /// The peer's ACK that its own retransmission proved lost (`noteAckLost`); nil while none was.
    private(set) var lostAck: LostAck?
    /// An ACK at or beyond this from this endpoint confirms its inferred state.
    private(set) var confirmAck: UInt32?

    public init(role: Role) {
        self.role = role
    }

    /// When TIME_WAIT (entered at `timeWaitSince`) ends: 2·MSL later, saturating.
    @inline(__always)
    func timeWaitDeadline(msl: Int64) -> Int64 { CaptureTime.adding(CaptureTime.adding(msl, to: msl), to: timeWaitSince) }

    /// Closed by a reset it sent or accepted (not by a FIN exchange, not by silence).
    @inline(__always)
    var closedByReset: Bool { closure?.byReset ?? false }

    /// Its window, for checking what it receives: known once the handshake told the scale (or that
    /// there is none) and it advertised one.
    @inline(__always)
    var receiveWindow: UInt32? {
        guard let advertised, windowScale.shift != nil else { return nil }
        return advertised.window
    }

    /// Whether `ack` acknowledges its SYN and nothing it has not sent (ISS < SEG.ACK ≤ SND.NXT).
    @inline(__always)
    func acknowledgesOwnSyn(_ ack: UInt32) -> Bool {
        guard let iss = send.iss, let nxt = send.nxt else { return false }
        return Seq.gt(ack, iss) && Seq.le(ack, nxt)
    }

    // MARK: - Sending

    /// The endpoint sent `s`. Moves by the sending table and checks what the sender alone can prove.
    /// `rstRejected`: the receiver will not accept this RST (`wouldRejectReset`). `peerAnsweredSyn`:
    /// the peer answered this endpoint's SYN with its SYN+ACK (it went LISTEN → SYN_RECEIVED).
    mutating func sent(
        _ s: TCPSegment, rstRejected: Bool = false, peerAnsweredSyn: Bool = false, _ ctx: StepContext,
        _ out: inout StepOutput
    ) {
        let c = SegmentClass(s.flags)
        confirmIfAcknowledged(s, c, ctx, &out)
        defer {
            active = true
            if c != .invalid { recordSend(s) }
        }
        if sentFinCrossingPeerFin(s, c, ctx, &out) { return }

        switch Self.sendRule(state, c) {
        case .move(let next):
            if c == .synAck && send.synAckSent && s.sequence == send.iss { emit(.synAckRetransmission, ctx, &out) }
            if c == .syn || c == .synAck { recordSyn(s, ctx, synAck: c == .synAck) }
            if c == .fin { recordFin(s, ctx) }
            if state == .listen && next == .synReceived { passiveOpen = true }
            move(to: next, .observed, cause: c.sentCause, ctx, &out)
        case .illegal(let code):
            emit(
                code, ctx, &out,
                actual: code == .invalidFlagCombination
                    ? UInt32(s.flags.rawValue)
                    : code == .dataBeforeEstablished ? s.payloadLength : nil)
        case .decide(.sentSyn): sentSyn(s, ctx, &out)
        case .decide(.sentSynAck): sentSynAck(s, peerAnsweredSyn: peerAnsweredSyn, ctx, &out)
        case .decide(.sentFin): sentFin(s, ctx, &out)
        case .decide(.sentRst): sentRst(s, rejected: rstRejected, ctx, &out)
        case .decide(.sentAck): sentAck(s, ctx, &out)
        case .decide(.sentWithoutAck): sentWithoutAck(s, ctx, &out)
        }
    }

    /// An inferred state is confirmed when the endpoint acknowledges what put it there (`confirmAck`).
    @inline(__always)
    private mutating func confirmIfAcknowledged(
        _ s: TCPSegment, _ c: SegmentClass, _ ctx: StepContext,
        _ out: inout StepOutput
    ) {
        guard evidence == .inferred, !assumedStart, s.flags.contains(.ack), state != .closed, state != .listen,
            c != .rst, c != .invalid, c != .synAck, c != .syn,
            confirmAck.map({ Seq.ge(s.acknowledgment, $0) }) ?? true, let frame = ctx.frame
        else { return }
        evidence = .observed
        out.events.append(
            .confirmation(
                Confirmation(
                    connection: ctx.ref, endpoint: role, state: state,
                    evidence: .observed, frame: frame, time: ctx.time)))
    }

    /// Simultaneous close: a FIN from an endpoint presumed in CLOSE_WAIT that does not acknowledge
    /// the peer's FIN was sent before that FIN arrived. It was ESTABLISHED, went to FIN_WAIT_1 by
    /// sending, and the peer's FIN then takes it to CLOSING (RFC 9293 figure 13). So was a FIN that
    /// the capture missed (`sentFinBeforeCaptured`). Returns whether this rule took the segment.
    @inline(__always)
    private mutating func sentFinCrossingPeerFin(
        _ s: TCPSegment, _ c: SegmentClass, _ ctx: StepContext,
        _ out: inout StepOutput
    ) -> Bool {
        guard state == .closeWait, c == .fin, let r = receive, r.finReceived else { return false }
        // Its own ACK of the peer's FIN confirms that the FIN arrived, not that it found it in
        // ESTABLISHED: a FIN it had sent before makes that CLOSING, confirmed or not.
        let earlier = sentFinBeforeCaptured(s)
        guard earlier || (evidence == .inferred && Seq.lt(s.acknowledgment, r.nxt)) else { return false }
        recordFin(s, ctx)
        if earlier { emit(.finRetransmission, ctx, &out, actual: s.sequence &+ s.payloadLength) }
        emit(.simultaneousClose, ctx, &out)
        // The CLOSE_WAIT inferred from the peer's FIN is withdrawn: it was still ESTABLISHED when
        // it sent this FIN, and the peer's FIN (already past the capture point) reaches it after.
        move(to: .established, .inferred, cause: .withdrawn, ctx, &out)
        move(to: .finWait1, .observed, cause: .sentFin, ctx, &out)
        move(to: .closing, .inferred, cause: .receivedFin, ctx, &out)
        return true
    }

    /// Who closed first, around a capture gap (issue 8 §2; Captures/fin-order-capture-gap): its first
    /// FIN in the capture lies one below what it had already sent, so it is the retransmission of a
    /// FIN the capture missed, sent before the segment that went past it. When that segment is its
    /// ACK of the peer's FIN, the FIN came before the peer's FIN reached it too: a FIN sent after
    /// would itself have acknowledged the peer's FIN, and no separate ACK would have been needed.
    @inline(__always)
    func sentFinBeforeCaptured(_ s: TCPSegment) -> Bool {
        guard s.flags.contains(.fin), send.fin == nil, let nxt = send.nxt else { return false }
        return nxt == s.sequence &+ s.payloadLength &+ 1
    }

    /// RST: CLOSED from any state (RFC 9293 §3.10.7, "sent RST"), except a RST that keeps state —
    /// one the receiver rejects, and the answer to an unacceptable SYN+ACK in SYN_SENT.
    private mutating func sentRst(_ s: TCPSegment, rejected: Bool, _ ctx: StepContext, _ out: inout StepOutput) {
        if rejected && (state.isSynchronized || state == .listen) {
            // The receiver will not accept this RST (out of window, not exact, or in SYN_SENT with
            // a TSecr it never sent; the receiver side reports which), so it closes only its
            // sender — a synchronized one or a listener — which deleted its TCB when it
            // sent it (Captures/rst-odd-seq). If the sender then goes on talking, the RST was
            // stale or injected and `reviveIfContradicted` puts its state back
            // (Captures/rst-out-of-window).
            if s.payloadLength > 0 { emit(.rstWithData, ctx, &out, actual: s.payloadLength) }
            closure = .unacceptedReset(previous: state)
            move(to: .closed, .observed, cause: .sentRst, ctx, &out)
            return
        }
        if state == .synSent && !s.flags.contains(.ack) && receive?.irs == nil && send.nxt != nil
            && s.sequence != send.iss
        {
            // <SEQ=SEG.ACK><CTL=RST>: the answer to an unacceptable SYN+ACK; SYN_SENT stays.
            return
        }
        if s.payloadLength > 0 { emit(.rstWithData, ctx, &out, actual: s.payloadLength) }
        if state == .listen {
            // The presumed listener answers a SYN with RST: there was none. Refused.
            emit(.refused, ctx, &out)
        }
        if state != .closed {
            closure = .reset(previous: nil)
            move(to: .closed, .observed, cause: .sentRst, ctx, &out)
        }
    }

    /// SYN: active OPEN from CLOSED, simultaneous open from a presumed LISTEN, else a retransmission
    /// (same ISN) or a SYN that does not belong (new ISN, or in a synchronized state).
    private mutating func sentSyn(_ s: TCPSegment, _ ctx: StepContext, _ out: inout StepOutput) {
        let start = s.sequence
        switch state {
        case .closed:
            if send.iss == start {
                emit(.synRetransmission, ctx, &out, actual: start)
                return
            }
            // A fresh open against a peer still holding the old connection (half-open, RFC 9293
            // §3.5.2): its send side starts over.
            send.restart(at: start)
            closure = nil
            recordSyn(s, ctx, synAck: false)
            move(to: .synSent, .observed, cause: .sentSyn, ctx, &out)
        case .listen:
            // It was presumed listening because a SYN reached it, yet it sends its own SYN: both
            // ends opened at once (RFC 9293 figure 6). It had not processed the peer's SYN when it
            // sent this one, so it is SYN_SENT; the peer's SYN then takes it to SYN_RECEIVED.
            recordSyn(s, ctx, synAck: false)
            emit(.simultaneousOpen, ctx, &out)
            move(to: .synSent, .observed, cause: .sentSyn, ctx, &out)
            if let r = receive, r.irs != nil {
                confirmAck = r.nxt
                move(to: .synReceived, .inferred, cause: .receivedSyn, ctx, &out)
            }
        default:
            if let iss = send.iss {
                if start == iss {
                    emit(.synRetransmission, ctx, &out, actual: start)
                } else {
                    emit(
                        state.isSynchronized ? .synInSynchronizedState : .synIsnChanged, ctx, &out,
                        expected: iss, actual: start)
                }
            } else if state.isSynchronized || state == .synReceived {
                emit(.synInSynchronizedState, ctx, &out, expected: nil, actual: start)
            }
        }
    }

    /// SYN+ACK outside LISTEN: a retransmission (which also proves the handshake ACK never reached
    /// it), the answer half of a simultaneous open, or one that does not belong: from an endpoint
    /// whose own SYN was answered (`peerAnsweredSyn`) a SYN+ACK answers no SYN (issue 8 §2).
    private mutating func sentSynAck(
        _ s: TCPSegment, peerAnsweredSyn: Bool, _ ctx: StepContext, _ out: inout StepOutput
    ) {
        let start = s.sequence
        let receivedSyn = receive?.irs != nil
        if send.synAckSent || (send.syn != nil && state != .synSent) {
            guard start == send.iss else {
                emit(.synAckChanged, ctx, &out, expected: send.iss, actual: start)
                return
            }
            guard send.synAckSent else {
                // Its SYN was answered by the peer's SYN+ACK, not crossed by the peer's SYN: not a
                // simultaneous open. The SYN+ACK changes nothing on its side.
                if peerAnsweredSyn {
                    emit(.synAckWrongDirection, ctx, &out)
                    return
                }
                send.sentSyn(iss: start, frame: ctx.frame, synAck: true)  // simultaneous open: its SYN+ACK after its SYN
                return
            }
            emit(.synAckRetransmission, ctx, &out)
            // Retransmitting its SYN+ACK proves the handshake ACK never reached it
            // (Linux: a full accept queue drops it): an inferred ESTABLISHED is withdrawn.
            if state == .established && evidence == .inferred {
                if let iss = send.iss { noteAckLost(iss &+ 1) }
                move(to: .synReceived, .observed, cause: .impliedBySent, ctx, &out)
            }
        } else if state == .synSent && receivedSyn {
            // Simultaneous open: it sent a SYN, received one, answers SYN+ACK (RFC 9293 figure 6).
            send.sentSyn(iss: start, frame: ctx.frame, synAck: true)
            move(to: .synReceived, .observed, cause: .sentSynAck, ctx, &out)
        } else if state == .synSent {
            emit(.synAckWrongDirection, ctx, &out)
        } else if !receivedSyn {
            emit(.synAckWithoutSyn, ctx, &out)
        }
    }

    /// FIN from a state the table does not move: its FIN again (a retransmission, which withdraws a
    /// state inferred from the ACK of that FIN) or at another sequence number, or after close.
    private mutating func sentFin(_ s: TCPSegment, _ ctx: StepContext, _ out: inout StepOutput) {
        if let fin = send.fin {
            let finAt = s.sequence &+ s.payloadLength
            if finAt == fin.seq {
                emit(.finRetransmission, ctx, &out, actual: finAt)
                reopenUnackedFin(ctx, &out)
            } else {
                emit(.finSeqChanged, ctx, &out, expected: fin.seq, actual: finAt)
            }
        } else if state == .closed {
            emit(.segmentAfterClose, ctx, &out)
        } else {
            // FIN first sent from a state the table lets decide (FIN_WAIT_*, CLOSING, LAST_ACK,
            // TIME_WAIT without its own FIN cannot happen; SYN_RECEIVED/ESTABLISHED/CLOSE_WAIT move).
            recordFin(s, ctx)
        }
        checkDataAfterFin(s, ctx, &out)
    }

    /// A segment without the ACK flag that is not a SYN (data or a FIN alone). Before the handshake
    /// it is named for what it carries: a FIN is `fin-before-established`, data
    /// `data-before-established` (Captures/fin-in-syn-sent). In a synchronized state it is
    /// `missing-ack-flag` — except from an ESTABLISHED inferred from the peer's SYN+ACK before the
    /// endpoint ever acknowledged anything: every synchronized stack sets ACK, so the segment shows
    /// it never accepted that SYN+ACK and is still SYN_SENT (the inference is withdrawn).
    private mutating func sentWithoutAck(_ s: TCPSegment, _ ctx: StepContext, _ out: inout StepOutput) {
        if state == .established && evidence == .inferred && !assumedStart && advertised == nil
            && send.syn != nil && !send.synAckSent
        {
            move(to: .synSent, .observed, cause: .withdrawn, ctx, &out)
        }
        switch state {
        case .listen, .synSent:
            if s.flags.contains(.fin) {
                emit(.finBeforeEstablished, ctx, &out)
            } else {
                emit(.dataBeforeEstablished, ctx, &out, actual: s.payloadLength)
            }
        default:
            emit(.missingAckFlag, ctx, &out)
        }
    }

    /// ACK (with or without data): what it proves about segments the capture missed, or that it
    /// comes after close or after its own FIN.
    private mutating func sentAck(_ s: TCPSegment, _ ctx: StepContext, _ out: inout StepOutput) {
        let start = s.sequence
        switch state {
        case .closed:
            emit(.segmentAfterClose, ctx, &out)
        case .listen:
            // It answers as a synchronized endpoint: its SYN+ACK went by uncaptured.
            emit(.previousSegmentNotCaptured, ctx, &out, expected: nil, actual: start)
            send.impliedSynAck(iss: start &- 1)
            passiveOpen = true
            move(to: .synReceived, .observed, cause: .impliedBySent, ctx, &out)
        case .synSent:
            if let r = receive, r.irs != nil, s.acknowledgment == r.nxt {
                // It acknowledges the SYN+ACK the capture showed, late (its ESTABLISHED was withdrawn
                // by a segment sent before it accepted that SYN+ACK): it is ESTABLISHED now.
                move(to: .established, .observed, cause: .sentAck, ctx, &out)
                return
            }
            // Only the peer's SYN+ACK lets it acknowledge: that SYN+ACK was not captured.
            emit(.ackOfUnseenData, ctx, &out, expected: nil, actual: s.acknowledgment)
            noteSynReceived(at: s.acknowledgment &- 1, length: 1)
            move(to: .established, .observed, cause: .impliedBySent, ctx, &out)
        case .synReceived:
            if s.payloadLength > 0 && !(receive?.fastOpen ?? false) {
                // A stack queues data in SYN_RECEIVED (RFC 9293 §3.10.2), so data proves it got
                // the handshake ACK: the capture missed that ACK (design note §4).
                emitAbout(.handshakeAckNotCaptured, ctx, &out)
                move(to: .established, .observed, cause: .impliedBySent, ctx, &out)
            }
        default:
            checkDataAfterFin(s, ctx, &out)
        }
    }

    /// Data (or a FIN) beyond its own FIN is illegal in every state after CLOSE.
    private func checkDataAfterFin(_ s: TCPSegment, _ ctx: StepContext, _ out: inout StepOutput) {
        guard let fin = send.fin, s.payloadLength > 0 else { return }
        let dataEnd = s.sequence &+ s.payloadLength
        if Seq.gt(dataEnd, fin.seq) {
            emit(.dataAfterFin, ctx, &out, expected: fin.seq, actual: dataEnd, related: fin.frame)
        }
    }

    /// A retransmitted FIN proves its sender had not received the ACK of that FIN: a state inferred
    /// from that ACK (FIN_WAIT_2, TIME_WAIT via CLOSING, CLOSED via LAST_ACK) is withdrawn. The ACK was
    /// lost after the capture point, or the capture saw it before the endpoint did.
    private mutating func reopenUnackedFin(_ ctx: StepContext, _ out: inout StepOutput) {
        switch state {
        case .finWait2: move(to: .finWait1, .observed, cause: .impliedBySent, ctx, &out)
        case .timeWait: move(to: .closing, .observed, cause: .impliedBySent, ctx, &out)
        case .closed where !closedByReset: move(to: .lastAck, .observed, cause: .impliedBySent, ctx, &out)
        default: return
        }
        if let fin = send.fin { noteAckLost(fin.seq &+ 1) }
        send.finUnacknowledged()
    }

    /// Its retransmission proved that the peer's ACK up to `ack` did not reach it (RFC 9293 §3.7.1:
    /// a stack retransmits only what is unacknowledged). Twice makes the ACK direction lossy.
    private mutating func noteAckLost(_ ack: UInt32) {
        if lostAck?.ack == ack { lostAck?.again() } else { lostAck = LostAck(ack: ack) }
    }

    private mutating func recordSyn(_ s: TCPSegment, _ ctx: StepContext, synAck: Bool) {
        windowScale.sawSyn(offering: s.options.windowScale, first: send.syn == nil, optionsCut: s.options.truncated)
        send.sentSyn(iss: s.sequence, frame: ctx.frame, synAck: synAck)
    }

    private mutating func recordFin(_ s: TCPSegment, _ ctx: StepContext) {
        send.sentFin(at: s.sequence &+ s.payloadLength &+ (s.flags.contains(.syn) ? 1 : 0), frame: ctx.frame)
    }

    /// Send-side bookkeeping common to every segment: SND.NXT, the ACK and window it advertised.
    @inline(__always)
    private mutating func recordSend(_ s: TCPSegment) {
        // A RST's sequence number is not data sent: an answer to a bad ACK carries that ACK as its
        // sequence number (RFC 9293 §3.10.7.3), which must not move SND.NXT.
        if let v = s.options.timestampValue { timestamps.sent(v) }
        if s.flags.contains(.rst) { return }
        if s.sequenceLength > 0 { trafficSincePickup.insert(.sent) }
        send.sent(upTo: s.sequence &+ s.sequenceLength)
        guard s.flags.contains(.ack) else { return }
        // Its acknowledgment field is its RCV.NXT (RFC 9293 §3.4): bytes the capture missed were received.
        receive?.received(upTo: s.acknowledgment)
        // Windows in SYN segments are never scaled (RFC 7323 §2.2).
        let shift = s.flags.contains(.syn) ? 0 : (windowScale.shift ?? 0)
        if advertised == nil {
            advertised = Advertisement(ack: s.acknowledgment, rawWindow: s.window, shift: shift)
        } else {
            advertised?.advertise(ack: s.acknowledgment, rawWindow: s.window, shift: shift)
        }
    }

    // MARK: - What the capture shows of its sequence space (called by `SequenceObservations`)

    /// It sent from `seq`, past SND.NXT: the capture skipped [SND.NXT, seq). Only the first hole is kept.
    mutating func captureSkipped(to seq: UInt32) {
        guard hole == nil, let nxt = send.nxt else { return }
        hole = CaptureHole(start: nxt, end: seq)
    }

    /// It retransmitted [seq, end): a retransmission into the hole means the network lost it.
    mutating func retransmitted(from seq: UInt32, to end: UInt32) {
        hole = hole?.filled(from: seq, to: end)
    }

    /// Its peer acknowledged bytes inside the hole: the peer got what the capture missed.
    mutating func holeAcknowledged() { hole = nil }

    /// Its peer acknowledged up to `ack`, past anything it was seen to send: assumed sent and
    /// missed by the capture (SND.NXT moves there), until it shows otherwise.
    mutating func assumeSentUnseen(upTo ack: UInt32, ackFrame: FrameRef?) {
        guard let nxt = send.nxt else { return }
        if unseenAck == nil {
            unseenAck = UnseenAck(from: nxt, to: ack, frame: ackFrame)
        } else {
            unseenAck?.extend(to: ack)
        }
        send.rewind(to: ack)
        hole = nil
    }

    /// It sent new data [seq, end) (`frame`) while its peer's ACK of unseen data stood. From where it
    /// was before that ACK (or, once the covered data is arriving, from where that data got to),
    /// it is the data the ACK covered: reaching the ACK, it was reordering in the capture (returned,
    /// `capture-reordered`); short of it, the question stays open (`unsentProved`). Past that point,
    /// the bytes between were missed by the capture, as assumed. SND.NXT goes back to `seq` either
    /// way, so the segment is new data, not a retransmission.
    mutating func sentData(from seq: UInt32, to end: UInt32, _ frame: FrameRef?) -> UnseenAck? {
        guard var unseen = unseenAck else { return nil }
        let expected = unseen.isArriving ? (send.nxt ?? unseen.from) : unseen.from
        guard seq == expected else {
            if Seq.gt(seq, expected) { unseenAck = nil }
            return nil
        }
        send.rewind(to: seq)
        if Seq.ge(end, unseen.to) {
            unseenAck = nil
            return unseen
        }
        unseen.startedArriving(frame)
        unseenAck = unseen
        return nil
    }

    /// Its data that its peer's ACK covered began to arrive and is now shown to stop short of that
    /// ACK for good: the ACK covered data never sent. Returns the proof and ends the assumption.
    mutating func unsentProved() -> UnseenAck? {
        guard let unseen = unseenAck, unseen.isArriving else { return nil }
        unseenAck = nil
        return unseen
    }

    /// Its peer's data it was presumed to have received past `seq` was never sent (an ACK of
    /// unsent data): RCV.NXT goes back to `seq`.
    mutating func peerNeverSent(from seq: UInt32) {
        receive?.rewind(to: seq)
        hole = nil
    }

    // MARK: - Receiving (RFC 9293 §3.10.7, SEGMENT ARRIVES)

    /// The peer's segment `s` is presumed to have reached this endpoint. The result says what this
    /// endpoint did with it; a segment it drops changes nothing here.
    @discardableResult
    /// `ackTooOld`: its ACK is below SND.UNA − MAX.SND.WND (`Connection.checkAckTooOld`).
    mutating func received(
        _ s: TCPSegment, ackTooOld: Bool = false, _ ctx: StepContext, _ out: inout StepOutput
    ) -> ReceiveResult {
        let c = SegmentClass(s.flags)
        guard c != .invalid else { return .dropped(.invalidFlags) }
        defer { active = true }
        switch state {
        case .closed: return receivedInClosed(s, c, ctx, &out)
        case .listen: return receivedInListen(s, c)
        case .synSent: return receivedInSynSent(s, c, ctx, &out)
        default: return receivedSynchronized(s, c, ackTooOld: ackTooOld, ctx, &out)
        }
    }

    /// §3.10.7.1 CLOSED: an endpoint that never was anything, reached by a SYN, is a presumed listener.
    private mutating func receivedInClosed(
        _ s: TCPSegment, _ c: SegmentClass, _ ctx: StepContext,
        _ out: inout StepOutput
    ) -> ReceiveResult {
        guard !active && c == .syn else { return .dropped(.noConnection) }
        receive = ReceiveSpace(
            irs: s.sequence, nxt: s.sequence &+ s.sequenceLength,
            fastOpen: s.payloadLength > 0 || s.options.fastOpenCookieLength != nil)
        if let v = s.options.timestampValue { timestamps.accepted(v) }
        move(to: .listen, .inferred, cause: .presumedListen, ctx, &out)
        return .accepted
    }

    /// §3.10.7.2 LISTEN: a SYN (or the same SYN again) is queued; anything else is not for it.
    private mutating func receivedInListen(_ s: TCPSegment, _ c: SegmentClass) -> ReceiveResult {
        guard c == .syn, receive?.irs.map({ $0 == s.sequence }) ?? true else { return .dropped(.notExpected) }
        noteSynReceived(at: s.sequence, length: s.sequenceLength)
        return .accepted
    }

    /// §3.10.7.3 SYN_SENT: the ACK bit first, then RST (only with an acceptable ACK), then SYN.
    private mutating func receivedInSynSent(
        _ s: TCPSegment, _ c: SegmentClass, _ ctx: StepContext,
        _ out: inout StepOutput
    ) -> ReceiveResult {
        let hasAck = s.flags.contains(.ack)
        if hasAck && !acknowledgesOwnSyn(s.acknowledgment) {
            // Not acceptable: it answers with a RST unless this is one (the sender side reports a
            // SYN+ACK's as synack-bad-ack); a RST is dropped (Captures/rst-in-syn-sent-dropped).
            if c == .rst {
                emitAbout(.rstBadAck, ctx, &out, expected: send.iss.map { $0 &+ 1 }, actual: s.acknowledgment)
            }
            return .dropped(.unacceptableAck)
        }
        if hasAck && echoesTimestampNeverSent(s) {
            emitAbout(.tsecrNotSent, ctx, &out, expected: timestamps.latestSent, actual: s.options.timestampEcho)
            return .dropped(.tsecrNotSent)
        }
        if c == .rst {
            guard hasAck else {  // RST without ACK in SYN_SENT is ignored (Captures/rst-in-syn-sent-dropped)
                emitAbout(.rstWithoutAck, ctx, &out)
                return .dropped(.resetWithoutAck)
            }
            closure = .reset(previous: nil)
            move(to: .closed, .inferred, cause: .receivedRst, ctx, &out)
            return .accepted
        }
        guard c == .syn || c == .synAck else { return .dropped(.notExpected) }
        if let v = s.options.timestampValue { timestamps.accepted(v) }
        noteSynReceived(at: s.sequence, length: s.sequenceLength)
        confirmAck = receive?.nxt
        if c == .synAck {
            send.acknowledged(s.acknowledgment, onlyForward: false)
            move(to: .established, .inferred, cause: .receivedSynAck, ctx, &out)
        } else {
            emit(.simultaneousOpen, ctx, &out)  // its SYN crossed the peer's
            move(to: .synReceived, .inferred, cause: .receivedSyn, ctx, &out)
        }
        return .accepted
    }

    /// §3.10.7.4, SYN_RECEIVED and every synchronized state, in the RFC's order. Each step either
    /// decides the segment's fate (a result) or passes it on (nil).
    private mutating func receivedSynchronized(
        _ s: TCPSegment, _ c: SegmentClass, ackTooOld: Bool, _ ctx: StepContext,
        _ out: inout StepOutput
    ) -> ReceiveResult {
        var seq = s.sequence
        var len = s.sequenceLength
        // A SYN already received is trimmed off (§3.10.7.4): in a simultaneous open the peer's
        // SYN+ACK repeats its SYN, and only its ACK is news.
        if s.flags.contains(.syn), let irs = receive?.irs, seq == irs {
            seq = seq &+ 1
            len = len &- 1
        }
        // PAWS comes before the RFC 9293 steps (RFC 7323 §5.3). First: sequence acceptability.
        // Second: RST, which is judged by its own rule.
        if let dropped = receivedFailingPAWS(s, c, ctx, &out) { return dropped }
        let acceptable = sequenceAcceptable(seq, length: len)
        if c == .rst { return receivedRst(at: seq, ctx, &out) }
        guard acceptable else { return unacceptableSegment(s, ctx) }
        if let v = s.options.timestampValue { timestamps.accepted(v) }
        // Fourth (the third, security, has no wire trace here): SYN.
        if let result = receivedSynInWindow(s, c, ctx, &out) { return result }
        // Fifth: without the ACK bit the segment is dropped.
        guard s.flags.contains(.ack) else { return .dropped(.noAck) }
        // Fifth, ACK acceptability (RFC 5961 §5): an ACK too old drops the segment.
        if ackTooOld { return .dropped(.ackTooOld) }
        // An ACK its own retransmissions twice proved lost, again and with nothing else: the ACK
        // direction is lossy, so this one is not presumed to arrive either.
        if len == 0, let lost = lostAck, lost.swallows(s.acknowledgment) { return .dropped(.ackDirectionLossy) }
        if let result = receivedAck(s, ctx, &out) { return result }
        // Sixth (URG) changes no state. Seventh: segment text. Eighth: FIN.
        receivedText(from: seq, s)
        return receivedFin(from: seq, s, ctx, &out)
    }

    /// PAWS (RFC 7323 §5.3, Linux `tcp_validate_incoming`): a segment whose TSval is older than
    /// TS.Recent is an old duplicate, dropped (Linux answers with a duplicate ACK) and reported; it
    /// changes nothing here (Captures/paws-old-tsval). A RST is exempt, as in Linux, and so is a pure
    /// ACK, which Linux lets through as a disordered ACK (`tcp_disordered_ack`) and a capture that
    /// reorders may show late. nil: the segment passes.
    @inline(__always)
    private mutating func receivedFailingPAWS(
        _ s: TCPSegment, _ c: SegmentClass, _ ctx: StepContext, _ out: inout StepOutput
    ) -> ReceiveResult? {
        guard c != .rst, c != .syn, c != .synAck, let v = s.options.timestampValue, timestamps.failsPAWS(v),
            s.payloadLength > 0 || s.flags.contains(.fin)
        else { return nil }
        emitAbout(.pawsOldTsval, ctx, &out, expected: timestamps.recent, actual: v)
        return .dropped(.paws)
    }

    /// SYN_SENT (RFC 7323 §3.2, Linux `tcp_rcv_synsent_state_process`): a RST or SYN+ACK whose TSecr
    /// echoes a TSval this endpoint never sent is not accepted — Linux ignores such a RST and answers
    /// such a SYN+ACK with a RST (the timestamp-based injection that Linux and Suricata reject;
    /// Captures/synsent-bad-tsecr).
    @inline(__always)
    func echoesTimestampNeverSent(_ s: TCPSegment) -> Bool {
        guard state == .synSent, let echo = s.options.timestampEcho, s.options.timestampValue != nil else { return false }
        return timestamps.neverSent(echo)
    }

    /// First check (§3.10.7.4, table 6): is the segment inside the receive window? Without a known
    /// RCV.NXT and window (midstream, unknowable scale) everything is.
    @inline(__always)
    private func sequenceAcceptable(_ seq: UInt32, length len: UInt32) -> Bool {
        guard let r = receive, let window = receiveWindow else { return true }
        if len == 0 { return window == 0 ? seq == r.nxt : Seq.inWindow(seq, r.nxt, window) }
        if window > 0 && (Seq.inWindow(seq, r.nxt, window) || Seq.inWindow(seq &+ len &- 1, r.nxt, window)) {
            return true
        }
        // Linux (tcp_sequence: end_seq ≥ rcv_wup) also takes a segment that ends exactly at
        // RCV.NXT — a retransmission whose ACK field carries news — and processes its ACK;
        // the RFC would drop it and learn the ACK a segment later.
        return seq &+ len == r.nxt
    }

    /// An unacceptable segment is dropped (the receiver would answer with an ACK). In TIME_WAIT a
    /// retransmitted FIN is acknowledged and restarts 2·MSL (§3.10.7.4), though it lies below RCV.NXT.
    private mutating func unacceptableSegment(_ s: TCPSegment, _ ctx: StepContext) -> ReceiveResult {
        if state == .timeWait && s.flags.contains(.fin), let r = receive, r.finReceived,
            s.sequence &+ s.payloadLength &+ 1 == r.nxt
        {
            timeWaitSince = ctx.time
        }
        return .dropped(.outOfWindow)
    }

    /// Second check, RST (RFC 5961 §3.2): an exact match closes, in the window draws a challenge
    /// ACK, outside it is dropped. SYN_RECEIVED takes any RST in the window (§3.10.7.4) and goes back
    /// to LISTEN when it came from there.
    private mutating func receivedRst(at seq: UInt32, _ ctx: StepContext, _ out: inout StepOutput) -> ReceiveResult {
        var exact = true, inWindow = true
        if let r = receive {
            // Linux also takes a RST at RCV.NXT−1 once the peer's FIN is in (tcp_reset_check): the
            // peer resets at its FIN's sequence number.
            exact =
                seq == r.nxt
                || (r.finReceived && seq == r.nxt &- 1 && (state == .closeWait || state == .lastAck || state == .closing))
            if let window = receiveWindow { inWindow = Seq.inWindow(seq, r.nxt, max(window, 1)) }
        }
        let expected = receive?.nxt
        if state == .synReceived {
            guard inWindow else {
                emitAbout(.rstOutOfWindow, ctx, &out, expected: expected, actual: seq)
                return .dropped(.outOfWindow)
            }
            closure = passiveOpen ? nil : .reset(previous: nil)
            move(to: passiveOpen ? .listen : .closed, .inferred, cause: .receivedRst, ctx, &out)
            return .accepted
        }
        if exact {
            guard !resetsDoNotArrive else { return .dropped(.resetsDoNotArrive) }
            closure = .reset(previous: state)
            move(to: .closed, .inferred, cause: .receivedRst, ctx, &out)
            return .accepted
        }
        emitAbout(inWindow ? .rstChallenged : .rstOutOfWindow, ctx, &out, expected: expected, actual: seq)
        return inWindow ? .challenged : .dropped(.outOfWindow)
    }

    /// Fourth check, SYN (RFC 5961 §4): a SYN in a synchronized state draws a challenge ACK (the
    /// sender side reports it; a retransmitted SYN in SYN_RECEIVED is absorbed). A SYN+ACK is news
    /// only in a simultaneous open, where it acknowledges our SYN. nil: not a SYN.
    private mutating func receivedSynInWindow(
        _ s: TCPSegment, _ c: SegmentClass, _ ctx: StepContext,
        _ out: inout StepOutput
    ) -> ReceiveResult? {
        switch c {
        case .syn:
            return .challenged
        case .synAck:
            guard state == .synReceived && acknowledgesOwnSyn(s.acknowledgment) else { return .dropped(.unacceptableAck) }
            send.acknowledged(s.acknowledgment, onlyForward: false)
            move(to: .established, .inferred, cause: .receivedSynAck, ctx, &out)
            return .accepted
        default:
            return nil
        }
    }

    /// Fifth check, the ACK field: in SYN_RECEIVED it must acknowledge our SYN (else dropped, RFC 9293
    /// §3.10.7.4); elsewhere it moves SND.UNA forward, and the ACK of our FIN moves FIN_WAIT_1,
    /// CLOSING and LAST_ACK. nil: go on with the text.
    @inline(__always)
    private mutating func receivedAck(_ s: TCPSegment, _ ctx: StepContext, _ out: inout StepOutput) -> ReceiveResult? {
        let ack = s.acknowledgment
        let segmentEnd = s.sequence &+ s.sequenceLength
        if state == .synReceived {
            guard acknowledgesOwnSyn(ack) else {
                emitAbout(.handshakeAckInvalid, ctx, &out, expected: send.iss.map { $0 &+ 1 }, actual: ack)
                return .dropped(.unacceptableAck)
            }
            send.acknowledged(ack, onlyForward: false)
            confirmAck = segmentEnd
            move(to: .established, .inferred, cause: .receivedAck, ctx, &out)
        } else {
            send.acknowledged(ack, onlyForward: true)
        }
        guard send.finAcked else { return nil }
        switch state {
        case .finWait1 where !s.flags.contains(.fin):
            // Confirmed only by an ACK that covers the segment that moved it.
            confirmAck = segmentEnd
            // Picked up midstream from a peer that has sent nothing: the peer may have closed
            // first, before the capture, and this is LAST_ACK → CLOSED as well as FIN_WAIT_2.
            let ambiguous = assumedStart && !trafficSincePickup.contains(.received)
            move(to: .finWait2, ambiguous ? .unknown : .inferred, cause: .receivedAck, ctx, &out)
        case .closing:
            confirmAck = segmentEnd
            timeWaitSince = ctx.time
            move(to: .timeWait, .inferred, cause: .receivedAck, ctx, &out)
        case .lastAck:
            move(to: .closed, .inferred, cause: .receivedAck, ctx, &out)
            return .accepted
        default:
            break
        }
        return nil
    }

    /// Seventh: segment text. Data is taken while the peer has not closed its side.
    @inline(__always)
    private mutating func receivedText(from seq: UInt32, _ s: TCPSegment) {
        if s.payloadLength > 0 { trafficSincePickup.insert(.received) }
        receive?.received(upTo: seq &+ s.payloadLength)
    }

    /// Eighth: FIN. The first one moves ESTABLISHED to CLOSE_WAIT, FIN_WAIT_1 to CLOSING (or
    /// TIME_WAIT when it also acknowledges ours), FIN_WAIT_2 to TIME_WAIT; a repeated one restarts
    /// TIME_WAIT's 2·MSL.
    @inline(__always)
    private mutating func receivedFin(
        from seq: UInt32, _ s: TCPSegment, _ ctx: StepContext,
        _ out: inout StepOutput
    ) -> ReceiveResult {
        guard s.flags.contains(.fin) else { return .accepted }
        let finAt = seq &+ s.payloadLength
        if receive?.finReceived ?? false {
            if state == .timeWait { timeWaitSince = ctx.time }  // a retransmitted FIN restarts 2·MSL
            return .accepted
        }
        if receive == nil {
            receive = ReceiveSpace(irs: nil, nxt: finAt &+ 1, finReceived: true)
        } else {
            receive?.receivedFin(at: finAt)
        }
        confirmAck = finAt &+ 1
        let finAcked = send.finAcked
        switch state {
        case .synReceived, .established:
            // Picked up midstream and it has sent nothing: its own FIN may have gone before the
            // capture (no trace), and this is TIME_WAIT as well as CLOSE_WAIT
            // (Captures/midstream-half-close). Its own later FIN or data settles it.
            let ambiguous = assumedStart && !trafficSincePickup.contains(.sent)
            move(to: .closeWait, ambiguous ? .unknown : .inferred, cause: .receivedFin, ctx, &out)
        case .finWait1:
            timeWaitSince = ctx.time
            if !finAcked { emit(.simultaneousClose, ctx, &out) }  // its FIN crossed the peer's
            move(to: finAcked ? .timeWait : .closing, .inferred, cause: .receivedFin, ctx, &out)
        case .finWait2:
            timeWaitSince = ctx.time
            move(to: .timeWait, .inferred, cause: .receivedFin, ctx, &out)
        default:
            break
        }
        return .accepted
    }

    /// The peer's SYN at `seq` reached it (or must have): IRS and RCV.NXT are known from here.
    private mutating func noteSynReceived(at seq: UInt32, length: UInt32) {
        if receive == nil {
            receive = ReceiveSpace(irs: seq, nxt: seq &+ length)
        } else {
            receive?.receivedSyn(at: seq, length: length)
        }
    }

    /// Whether this endpoint, as receiver, would reject the RST `s` (RFC 5961 §3.2: only an exact
    /// match closes; in SYN_SENT, one without ACK, one whose ACK is not of its SYN (RFC 9293
    /// §3.10.7.3), one echoing a TSecr it never sent (RFC 7323)). Unknown sequence state accepts.
    @inline(__always)
    func wouldRejectReset(_ s: TCPSegment) -> Bool {
        if s.flags.contains(.ack) && echoesTimestampNeverSent(s) { return true }
        // SYN_SENT accepts a RST only with an ACK of its SYN (RFC 9293 §3.10.7.3).
        if state == .synSent {
            if !s.flags.contains(.ack) { return true }
            if send.nxt != nil && !acknowledgesOwnSyn(s.acknowledgment) { return true }
        }
        guard state.isSynchronized, let r = receive else { return false }
        return s.sequence != r.nxt
    }

    /// Called by the connection once both SYNs are known (`WindowScale.settle`); a SYN whose
    /// options were cut on either side makes both shifts unknowable.
    mutating func settleScale(peer: WindowScale, eitherCut: Bool) {
        if eitherCut && windowScale.isPending { windowScale = .unknowable }
        windowScale.settle(peerOffered: peer.offerSeenByPeer)
    }

    // MARK: - Inferred closes, withdrawn

    /// A CLOSED that was only inferred (from a received RST, or from silence) is contradicted by
    /// the endpoint's own non-RST segment: the state before it comes back, with the anomaly that
    /// explains why (its peer's RST did not reach it, or it was only silent).
    @inline(__always)
    mutating func reviveIfContradicted(_ c: SegmentClass, _ ctx: StepContext, _ out: inout StepOutput) -> AnomalyCode? {
        guard state == .closed, let closure, let previous = closure.withdrawsTo,
            evidence < .observed || (closure.byUnacceptedReset && c != .syn), c != .rst, c != .invalid
        else { return nil }
        self.closure = nil
        if closure.byUnacceptedReset {
            // Its RST was observed, but it did not close the peer, and its own segment now shows it
            // did not close itself either: someone else sent it, or it was stale.
            emit(.trafficAfterOwnReset, ctx, &out)
            move(to: previous, .observed, cause: .impliedBySent, ctx, &out)
            return .trafficAfterOwnReset
        }
        let why: AnomalyCode = closure.byReset ? .trafficAfterPeerReset : .peerReturned
        if closure.byReset { resetsDoNotArrive = true }
        emit(why, ctx, &out)
        move(to: previous, .observed, cause: .impliedBySent, ctx, &out)
        return why
    }

    /// Presumes the endpoint gone after it ignored its peer's retransmissions (evidence unknown).
    mutating func presumeGone(_ ctx: StepContext, _ out: inout [TrackerEvent]) {
        guard state != .closed else { return }
        closure = .silence(previous: state)
        move(to: .closed, .unknown, cause: .presumedGone, ctx, &out)
    }

    /// The 4-tuple was taken over by a new incarnation: TIME_WAIT ends here.
    mutating func yieldToNewIncarnation(_ ctx: StepContext, _ out: inout [TrackerEvent]) {
        // TIME_WAIT ends (RFC 6191); an unanswered SYN_SENT was abandoned by its application.
        guard state == .timeWait || state == .synSent else { return }
        move(to: .closed, .inferred, cause: .replacedByNewIncarnation, ctx, &out)
    }

    /// The connection ends (it leaves the table) with this endpoint presumed listening. LISTEN was
    /// the listening socket's state, never a TCB of this 4-tuple: a responder that never answered
    /// the SYN, or went back to LISTEN on a RST in SYN_RECEIVED, has nothing for it, which is what
    /// `ss` shows (Captures/syn-unanswered, rst-in-syn-received). The timeline keeps the LISTEN.
    mutating func endListening(_ ctx: StepContext, _ out: inout [TrackerEvent]) {
        guard state == .listen else { return }
        move(to: .closed, evidence, cause: .listenerKeepsNoConnection, ctx, &out)
    }

    // MARK: - Time

    /// TIME_WAIT ends after 2·MSL of capture time.
    mutating func expireTimeWait(at now: Int64, msl: Int64, _ ref: ConnectionRef, _ out: inout [TrackerEvent]) {
        guard state == .timeWait, now >= timeWaitDeadline(msl: msl) else { return }
        let ctx = StepContext(ref: ref, frame: nil, time: timeWaitDeadline(msl: msl))
        move(to: .closed, evidence, cause: .timeWaitExpired, ctx, &out)
    }

    // MARK: - Pickup

    /// Midstream pickup: the endpoint is assumed synchronized (design note §4).
    mutating func assumeSynchronized(
        sendNext: UInt32?, receiveNext: UInt32?, _ ctx: StepContext,
        _ out: inout StepOutput
    ) {
        active = true
        if let sendNext { send.assumeSynchronized(at: sendNext) }
        if let receiveNext { receive = ReceiveSpace(irs: nil, nxt: receiveNext) }
        assumedStart = true
        move(to: .established, .unknown, cause: .assumedMidstream, ctx, &out)
    }

    /// The SYN was missed but the SYN+ACK shows it: this endpoint sent a SYN with ISN `iss`.
    mutating func assumeSynSent(iss: UInt32, windowScaleOffered: Bool, _ ctx: StepContext, _ out: inout StepOutput) {
        active = true
        send.impliedSyn(iss: iss)
        // Only "offered or not" is implied, not the shift.
        windowScale = windowScaleOffered ? .unknowable : .pending(offered: nil, optionsCut: false)
        move(to: .synSent, .unknown, cause: .assumedMidstream, ctx, &out)
    }

    /// The SYN was missed: this endpoint must have received it to send its SYN+ACK.
    mutating func assumeListenWithSyn(irs: UInt32, _ ctx: StepContext, _ out: inout StepOutput) {
        active = true
        noteSynReceived(at: irs, length: 1)
        move(to: .listen, .unknown, cause: .assumedMidstream, ctx, &out)
    }

    /// Its peer acknowledged a SYN+ACK of this presumed listener that the capture did not show: it sent
    /// one with ISN `ack − 1` and is SYN_RECEIVED (one-sided captures, lost SYN+ACKs).
    mutating func impliedSynAckSent(peerAck: UInt32, _ ctx: StepContext, _ out: inout StepOutput) {
        guard state == .listen, send.syn == nil else { return }
        send.impliedSynAck(iss: peerAck &- 1)
        passiveOpen = true
        move(to: .synReceived, .inferred, cause: .impliedByPeer, ctx, &out)
    }

    /// A RST as the very first thing seen from this endpoint: it has no connection.
    mutating func markReset() {
        active = true
        closure = .reset(previous: nil)
        evidence = .observed
    }

    // MARK: - Helpers

    /// A move during a step (its transition goes among the step's events).
    @inline(__always)
    private mutating func move(
        to next: TCPState, _ proposed: Evidence, cause: TransitionCause, _ ctx: StepContext,
        _ out: inout StepOutput
    ) {
        move(to: next, proposed, cause: cause, ctx, &out.events)
    }

    private mutating func move(
        to next: TCPState, _ proposed: Evidence, cause: TransitionCause, _ ctx: StepContext,
        _ out: inout [TrackerEvent]
    ) {
        // Built on an assumed start, a move is at best inferred — except closing by its own RST,
        // which holds whatever came before.
        let ev = assumedStart && proposed == .observed && cause != .sentRst ? .inferred : proposed
        guard next != state else {
            if ev > evidence { evidence = ev }
            return
        }
        out.append(
            .transition(
                Transition(
                    connection: ctx.ref, endpoint: role, from: state, to: next, evidence: ev,
                    cause: cause, frame: ctx.frame, time: ctx.time)))
        state = next
        evidence = ev
    }

    /// A finding about this endpoint. `Connection.finishStep` makes it an anomaly once the step is
    /// over, with both endpoints' states before and after it (they are known only then).
    func emit(
        _ code: AnomalyCode, _ ctx: StepContext, _ out: inout StepOutput,
        expected: UInt32? = nil, actual: UInt32? = nil, related: FrameRef? = nil
    ) {
        out.report(code, about: role, ctx, expected: expected, actual: actual, related: related)
    }

    /// An anomaly about the peer (the sender of a segment this endpoint received).
    private func emitAbout(
        _ code: AnomalyCode, _ ctx: StepContext, _ out: inout StepOutput,
        expected: UInt32? = nil, actual: UInt32? = nil
    ) {
        out.report(code, about: role.peer, ctx, expected: expected, actual: actual, related: nil)
    }
}

/// Where and when a step happens, for the events it emits.
struct StepContext {
    var ref: ConnectionRef
    var frame: FrameRef?
    var time: Int64
}
