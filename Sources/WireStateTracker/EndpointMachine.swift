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
/// sending table below and marks the result **observed**; `received` runs RFC 9293 §3.10.7 for the
/// receiver, in the RFC's order, and marks the result **inferred** until the endpoint's own next
/// segment confirms it.
///
/// State is private: it changes only through `sent`, `received`, `expireTimeWait` and the pickup
/// initialisers, each of which reports what it did as events.
public struct EndpointMachine: Sendable {
    public let role: Role
    public private(set) var state: TCPState = .closed
    public private(set) var evidence: Evidence = .unknown

    // MARK: What this endpoint sent (observed)
    /// It has sent or received anything: an inactive CLOSED endpoint is "not yet", not "closed".
    var active = false
    var sentSyn = false
    var iss: UInt32 = 0
    var synFrame: FrameRef?
    var sentSynAck = false
    /// Highest sequence number sent plus its length (SND.NXT as far as the capture shows).
    var sndNxt: UInt32 = 0
    var sendKnown = false
    var sentFin = false
    var finSeq: UInt32 = 0
    var finFrame: FrameRef?
    /// How its advertised windows are scaled (pending until both SYNs are known).
    var windowScale = WindowScale.initial
    /// Its starting state was assumed (midstream pickup): moves from there are proven only relative
    /// to the assumption, so they are never better than inferred.
    var assumedStart = false
    /// Highest acknowledgment this endpoint sent, and the window with it (scaled).
    var lastAck: UInt32 = 0
    var ackKnown = false
    var lastWindowRaw: UInt16 = 0
    var lastWindow: UInt32 = 0
    /// The furthest right window edge it ever advertised (ack + window): data beyond it is illegal.
    var maxRightEdge: UInt32 = 0
    var rightEdgeKnown = false
    var zeroWindowOpen = false
    /// Segments since its window's right edge moved left and has stayed left (nil: not shrunk).
    /// One shrink is one finding however long it lasts (`Connection.collapseRepeats`).
    var shrinkRepeats: UInt32?
    var pureAcksSent: UInt32 = 0
    /// The first stretch of its sequence space the capture skipped ([holeStart, holeEnd)), until a
    /// retransmission fills it or the peer acknowledges past it (then the capture, not the network,
    /// lost it: Wireshark's "ACKed segment that wasn't captured").
    var holeStart: UInt32 = 0
    var holeEnd: UInt32 = 0
    var hasHole = false
    /// The peer acknowledged [unseenFrom, unseenTo) of this endpoint's data, never seen: assumed
    /// sent and missed by the capture — until this endpoint sends new data from `unseenFrom`, which
    /// proves the ACK covered data never sent (`ack-of-unsent-data`).
    var unseenFrom: UInt32 = 0
    var unseenTo: UInt32 = 0
    var unseenFrame: FrameRef?
    var hasUnseenAssumption = false

    // MARK: What this endpoint received (inferred)
    var receivedSyn = false
    var irs: UInt32 = 0
    /// RCV.NXT: the next sequence number it expects from its peer.
    var rcvNxt: UInt32 = 0
    var receiveKnown = false
    /// SND.UNA: the highest of its own sequence numbers the peer acknowledged and it accepted.
    var sndUna: UInt32 = 0
    var receivedFin = false
    var receivedFastOpen = false
    /// Reached SYN_RECEIVED from LISTEN (a RST then returns it to LISTEN, RFC 9293 §3.10.7.4).
    var passiveOpen = false
    /// Closed because it received an acceptable RST, or sent one.
    var closedByReset = false
    /// The state it had when an inference closed it (a received RST, or silence): restored if it
    /// keeps talking (the RST never reached it, or it did not accept it; it was not gone).
    var stateBeforeInferredClose: TCPState?
    /// Its own segments have shown that the peer's RSTs do not reach it (a middlebox drops them, or
    /// they were injected): further RSTs are not presumed to close it.
    var resetsDoNotArrive = false
    /// An ACK at or beyond this from this endpoint confirms its inferred state.
    var confirmAck: UInt32?
    var timeWaitSince: Int64 = 0

    public init(role: Role) {
        self.role = role
    }

    /// When TIME_WAIT (entered at `timeWaitSince`) ends: 2·MSL later, saturating.
    @inline(__always)
    func timeWaitDeadline(msl: Int64) -> Int64 { CaptureTime.adding(CaptureTime.adding(msl, to: msl), to: timeWaitSince) }

    /// What a segment is, for the sending table: one class per segment, by fixed priority.
    enum SegmentClass: UInt8 {
        case syn, synAck, fin, ack, rst
        /// No ACK flag on a segment that should carry one (data or FIN alone).
        case noAck
        /// SYN+FIN, SYN+RST, FIN+RST, or no flags at all (a null segment).
        case invalid

        init(_ f: TCPFlags) {
            let syn = f.contains(.syn), fin = f.contains(.fin), rst = f.contains(.rst), ack = f.contains(.ack)
            if (syn && fin) || (syn && rst) || (fin && rst) || f.rawValue & 0x3f == 0 {
                self = .invalid
            } else if rst {
                self = .rst
            } else if syn {
                self = ack ? .synAck : .syn
            } else if !ack {
                self = .noAck
            } else {
                self = fin ? .fin : .ack
            }
        }
    }

    /// What sending a segment of a class does in a state, before sequence checks refine it.
    enum SendRule: Equatable {
        case move(TCPState)
        case illegal(AnomalyCode)
        /// Needs the sequence numbers or the peer's history: decided in code.
        case decide
    }

    /// The sending table: one row per state, one column per segment class.
    /// `decide` cells are resolved in `sent(_:…)`, where each has a comment.
    static func sendRule(_ state: TCPState, _ c: SegmentClass) -> SendRule {
        switch (state, c) {
        //  state         class        rule
        case (_, .invalid):            return .illegal(.invalidFlagCombination)
        case (_, .rst):                return .decide             // → CLOSED, except answers that keep state
        case (.closed, .syn):          return .decide             // active OPEN, or its old SYN again
        case (.closed, .synAck):       return .illegal(.synAckWithoutSyn)
        case (.closed, _):             return .decide             // after close: segment-after-close
        case (.listen, .syn):          return .decide             // SEND in LISTEN: simultaneous open
        case (.listen, .synAck):       return .move(.synReceived) // rcv SYN, snd SYN,ACK
        case (.listen, .fin):          return .illegal(.finBeforeEstablished)
        case (.listen, .noAck):        return .illegal(.dataBeforeEstablished)
        case (.listen, _):             return .decide             // its SYN+ACK was not captured
        case (.synSent, .syn):         return .decide             // retransmission or a new ISN
        case (.synSent, .synAck):      return .decide             // simultaneous open, or wrong direction
        case (.synSent, .fin):         return .illegal(.finBeforeEstablished)
        case (.synSent, .noAck):       return .illegal(.dataBeforeEstablished)
        case (.synSent, .ack):         return .decide             // the peer's SYN+ACK was not captured
        case (.synReceived, .syn):     return .decide             // retransmission or a new ISN
        case (.synReceived, .synAck):  return .decide             // retransmission or a changed SYN+ACK
        case (.synReceived, .fin):     return .move(.finWait1)    // CLOSE in SYN_RECEIVED
        case (.synReceived, .ack):     return .decide             // data proves a handshake ACK the capture missed
        case (.established, .fin):     return .move(.finWait1)    // CLOSE
        case (.closeWait, .fin):       return .move(.lastAck)     // CLOSE
        case (_, .syn):                return .decide             // synchronized: late retransmission or new ISN
        case (_, .synAck):             return .decide             // synchronized: retransmission or changed
        case (_, .noAck):              return .illegal(.missingAckFlag)
        case (_, .fin):                return .decide             // FIN again: retransmission or moved
        case (_, .ack):                return .decide             // data after FIN is illegal; ACKs are fine
        }
    }

    // MARK: - Sending

    /// The endpoint sent `s`. Moves by the sending table and checks what the sender alone can prove.
    mutating func sent(_ s: TCPSegment, rstRejected: Bool = false, _ ctx: StepContext, _ out: inout [TrackerEvent]) {
        let c = SegmentClass(s.flags)
        let start = s.sequence
        let end = start &+ s.sequenceLength
        let hasAck = s.flags.contains(.ack)

        // An inferred state is confirmed when the endpoint acknowledges what put it there.
        if evidence == .inferred, !assumedStart, hasAck, state != .closed, state != .listen, c != .rst, c != .invalid,
           c != .synAck, c != .syn,
           confirmAck.map({ Seq.ge(s.acknowledgment, $0) }) ?? true, let frame = ctx.frame {
            evidence = .observed
            out.append(.confirmation(Confirmation(connection: ctx.ref, endpoint: role, state: state,
                                                  evidence: .observed, frame: frame, time: ctx.time)))
        }
        defer {
            active = true
            if c != .invalid {
                recordSend(s, start: start, end: end, ctx)
            }
        }

        // Simultaneous close: a FIN from an endpoint presumed in CLOSE_WAIT that does not acknowledge
        // the peer's FIN was sent before that FIN arrived. It was ESTABLISHED, went to FIN_WAIT_1 by
        // sending, and the peer's FIN then takes it to CLOSING (RFC 9293 figure 13).
        if state == .closeWait, evidence == .inferred, c == .fin, receivedFin, Seq.lt(s.acknowledgment, rcvNxt) {
            recordFin(s, ctx)
            emit(.simultaneousClose, ctx, &out)
            // The CLOSE_WAIT inferred from the peer's FIN is withdrawn: it was still ESTABLISHED when
            // it sent this FIN, and the peer's FIN (already past the capture point) reaches it after.
            move(to: .established, .inferred, cause: .withdrawn, ctx, &out)
            move(to: .finWait1, .observed, cause: .sentFin, ctx, &out)
            move(to: .closing, .inferred, cause: .receivedFin, ctx, &out)
            return
        }

        switch Self.sendRule(state, c) {
        case .move(let next):
            if c == .synAck && sentSynAck && start == iss { emit(.synAckRetransmission, ctx, &out) }
            if c == .syn || c == .synAck { recordSyn(s, ctx, synAck: c == .synAck) }
            if c == .fin { recordFin(s, ctx) }
            if state == .listen && next == .synReceived { passiveOpen = true }
            move(to: next, .observed, cause: c.sentCause, ctx, &out)
        case .illegal(let code):
            emit(code, ctx, &out, actual: code == .invalidFlagCombination ? UInt32(s.flags.rawValue)
                                          : code == .dataBeforeEstablished ? s.payloadLength : nil)
        case .decide:
            decideSend(c, s, start: start, end: end, rstRejected: rstRejected, ctx, &out)
        }
    }

    /// A CLOSED that was only inferred (from a received RST, or from silence) is contradicted by
    /// the endpoint's own non-RST segment: the state before it comes back, with the anomaly that
    /// explains why (its peer's RST did not reach it, or it was only silent).
    mutating func reviveIfContradicted(_ c: SegmentClass, _ ctx: StepContext, _ out: inout [TrackerEvent]) -> AnomalyCode? {
        guard state == .closed, evidence < .observed, let previous = stateBeforeInferredClose,
              c != .rst, c != .invalid else { return nil }
        stateBeforeInferredClose = nil
        let why: AnomalyCode = closedByReset ? .trafficAfterPeerReset : .peerReturned
        if closedByReset { resetsDoNotArrive = true }
        closedByReset = false
        emit(why, ctx, &out)
        move(to: previous, .observed, cause: .impliedBySent, ctx, &out)
        return why
    }

    /// Presumes the endpoint gone after it ignored its peer's retransmissions (evidence unknown).
    mutating func presumeGone(_ ctx: StepContext, _ out: inout [TrackerEvent]) {
        guard state != .closed else { return }
        stateBeforeInferredClose = state
        move(to: .closed, .unknown, cause: .presumedGone, ctx, &out)
    }

    /// The 4-tuple was taken over by a new incarnation: TIME_WAIT ends here.
    mutating func yieldToNewIncarnation(_ ctx: StepContext, _ out: inout [TrackerEvent]) {
        // TIME_WAIT ends (RFC 6191); an unanswered SYN_SENT was abandoned by its application.
        guard state == .timeWait || state == .synSent else { return }
        move(to: .closed, .inferred, cause: .replacedByNewIncarnation, ctx, &out)
    }

    /// Whether this endpoint, as receiver, would reject a RST at `seq` (RFC 5961 §3.2: only an
    /// exact match closes). Unknown sequence state accepts.
    func wouldRejectReset(_ seq: UInt32) -> Bool {
        guard state.isSynchronized, receiveKnown else { return false }
        return seq != rcvNxt
    }

    private mutating func decideSend(_ c: SegmentClass, _ s: TCPSegment, start: UInt32, end: UInt32,
                                     rstRejected: Bool, _ ctx: StepContext, _ out: inout [TrackerEvent]) {
        switch c {
        case .rst where rstRejected && state.isSynchronized:
            // The receiver will not accept this RST (out of window, or not exact): whoever sent it,
            // it closes nothing. A stale or injected RST; the receiver side reports which.
            if s.payloadLength > 0 { emit(.rstWithData, ctx, &out, actual: s.payloadLength) }
        case .rst:
            if state == .synSent && !s.flags.contains(.ack) && receivedSyn == false && sendKnown && start != iss {
                // <SEQ=SEG.ACK><CTL=RST>: the answer to an unacceptable SYN+ACK; SYN_SENT stays.
                break
            }
            if s.payloadLength > 0 { emit(.rstWithData, ctx, &out, actual: s.payloadLength) }
            if state == .listen {
                // The presumed listener answers a SYN with RST: there was none. Refused.
                emit(.refused, ctx, &out)
            }
            if state != .closed {
                closedByReset = true
                move(to: .closed, .observed, cause: .sentRst, ctx, &out)
            }
        case .syn where state == .closed:
            if sentSyn && start == iss {
                emit(.synRetransmission, ctx, &out, actual: start)
            } else {
                // A fresh open against a peer still holding the old connection (half-open, RFC 9293
                // §3.5.2): its send side starts over.
                sentSyn = false; sentSynAck = false; sentFin = false
                sndNxt = start; closedByReset = false
                recordSyn(s, ctx, synAck: false)
                move(to: .synSent, .observed, cause: .sentSyn, ctx, &out)
            }
        case .syn:
            if state == .listen {
                // It was presumed listening because a SYN reached it, yet it sends its own SYN: both
                // ends opened at once (RFC 9293 figure 6). It had not processed the peer's SYN when it
                // sent this one, so it is SYN_SENT; the peer's SYN then takes it to SYN_RECEIVED.
                recordSyn(s, ctx, synAck: false)
                emit(.simultaneousOpen, ctx, &out)
                move(to: .synSent, .observed, cause: .sentSyn, ctx, &out)
                if receivedSyn {
                    confirmAck = rcvNxt
                    move(to: .synReceived, .inferred, cause: .receivedSyn, ctx, &out)
                }
            } else if sentSyn && start == iss {
                emit(.synRetransmission, ctx, &out, actual: start)
            } else if sentSyn {
                emit(state.isSynchronized ? .synInSynchronizedState : .synIsnChanged, ctx, &out,
                     expected: iss, actual: start)
            } else if state.isSynchronized || state == .synReceived {
                emit(.synInSynchronizedState, ctx, &out, expected: nil, actual: start)
            }
        case .synAck:
            if sentSynAck || (sentSyn && state != .synSent) {
                if start == iss {
                    if sentSynAck {
                        emit(.synAckRetransmission, ctx, &out)
                        // Retransmitting its SYN+ACK proves the handshake ACK never reached it
                        // (Linux: a full accept queue drops it): an inferred ESTABLISHED is withdrawn.
                        if state == .established && evidence == .inferred {
                            move(to: .synReceived, .observed, cause: .impliedBySent, ctx, &out)
                        }
                    } else {
                        sentSynAck = true // simultaneous open: its SYN+ACK after its SYN
                    }
                } else {
                    emit(.synAckChanged, ctx, &out, expected: iss, actual: start)
                }
            } else if state == .synSent && receivedSyn {
                // Simultaneous open: it sent a SYN, received one, answers SYN+ACK (RFC 9293 figure 6).
                sentSynAck = true
                move(to: .synReceived, .observed, cause: .sentSynAck, ctx, &out)
            } else if state == .synSent {
                emit(.synAckWrongDirection, ctx, &out)
            } else if !receivedSyn {
                emit(.synAckWithoutSyn, ctx, &out)
            }
        case .fin:
            if sentFin {
                let finAt = start &+ s.payloadLength
                if finAt == finSeq {
                    emit(.finRetransmission, ctx, &out, actual: finAt)
                    reopenUnackedFin(ctx, &out)
                } else {
                    emit(.finSeqChanged, ctx, &out, expected: finSeq, actual: finAt)
                }
            } else if state == .closed {
                emit(.segmentAfterClose, ctx, &out)
            } else {
                // FIN first sent from a state the table lets decide (FIN_WAIT_*, CLOSING, LAST_ACK,
                // TIME_WAIT without its own FIN cannot happen; SYN_RECEIVED/ESTABLISHED/CLOSE_WAIT move).
                recordFin(s, ctx)
            }
            checkDataAfterFin(s, start: start, ctx, &out)
        case .ack:
            switch state {
            case .closed:
                emit(.segmentAfterClose, ctx, &out)
            case .listen:
                // It answers as a synchronized endpoint: its SYN+ACK went by uncaptured.
                emit(.previousSegmentNotCaptured, ctx, &out, expected: nil, actual: start)
                sentSyn = true; sentSynAck = true; iss = start &- 1; sendKnown = true; sndNxt = start
                passiveOpen = true
                move(to: .synReceived, .observed, cause: .impliedBySent, ctx, &out)
            case .synSent:
                // Only the peer's SYN+ACK lets it acknowledge: that SYN+ACK was not captured.
                emit(.ackOfUnseenData, ctx, &out, expected: nil, actual: s.acknowledgment)
                receivedSyn = true; irs = s.acknowledgment &- 1; rcvNxt = s.acknowledgment; receiveKnown = true
                move(to: .established, .observed, cause: .impliedBySent, ctx, &out)
            case .synReceived:
                if s.payloadLength > 0 && !receivedFastOpen {
                    // A stack queues data in SYN_RECEIVED (RFC 9293 §3.10.2), so data proves it got
                    // the handshake ACK: the capture missed that ACK (design note §4).
                    emitAbout(.handshakeAckNotCaptured, ctx, &out)
                    move(to: .established, .observed, cause: .impliedBySent, ctx, &out)
                }
            default:
                checkDataAfterFin(s, start: start, ctx, &out)
            }
        case .noAck:
            if state == .closed { emit(.segmentAfterClose, ctx, &out) }
        case .invalid:
            break
        }
    }

    /// Data (or a FIN) beyond its own FIN is illegal in every state after CLOSE.
    private mutating func checkDataAfterFin(_ s: TCPSegment, start: UInt32, _ ctx: StepContext,
                                            _ out: inout [TrackerEvent]) {
        guard sentFin, s.payloadLength > 0 else { return }
        let dataEnd = start &+ s.payloadLength
        if Seq.gt(dataEnd, finSeq) {
            emit(.dataAfterFin, ctx, &out, expected: finSeq, actual: dataEnd, related: finFrame)
        }
    }

    /// A retransmitted FIN proves its sender had not received the ACK of that FIN: a state inferred
    /// from that ACK (FIN_WAIT_2, TIME_WAIT via CLOSING, CLOSED via LAST_ACK) is withdrawn. The ACK was
    /// lost after the capture point, or the capture saw it before the endpoint did.
    private mutating func reopenUnackedFin(_ ctx: StepContext, _ out: inout [TrackerEvent]) {
        switch state {
        case .finWait2: move(to: .finWait1, .observed, cause: .impliedBySent, ctx, &out)
        case .timeWait: move(to: .closing, .observed, cause: .impliedBySent, ctx, &out)
        case .closed where !closedByReset: move(to: .lastAck, .observed, cause: .impliedBySent, ctx, &out)
        default: return
        }
        sndUna = finSeq
    }

    private mutating func recordSyn(_ s: TCPSegment, _ ctx: StepContext, synAck: Bool) {
        windowScale.sawSyn(offering: s.options.windowScale, first: !sentSyn, optionsCut: s.options.truncated)
        if !sentSyn {
            sentSyn = true
            iss = s.sequence
            synFrame = ctx.frame
        }
        if synAck { sentSynAck = true }
    }

    private mutating func recordFin(_ s: TCPSegment, _ ctx: StepContext) {
        guard !sentFin else { return }
        sentFin = true
        finSeq = s.sequence &+ s.payloadLength &+ (s.flags.contains(.syn) ? 1 : 0)
        finFrame = ctx.frame
    }

    /// Send-side bookkeeping common to every segment: SND.NXT, the ACK and window it advertised.
    private mutating func recordSend(_ s: TCPSegment, start: UInt32, end: UInt32, _ ctx: StepContext) {
        // A RST's sequence number is not data sent: an answer to a bad ACK carries that ACK as its
        // sequence number (RFC 9293 §3.10.7.3), which must not move SND.NXT.
        if s.flags.contains(.rst) { return }
        if !sendKnown || Seq.gt(end, sndNxt) { sndNxt = end }
        sendKnown = true
        guard s.flags.contains(.ack), !s.flags.contains(.rst) else { return }
        if !ackKnown || Seq.gt(s.acknowledgment, lastAck) { lastAck = s.acknowledgment }
        ackKnown = true
        // Its acknowledgment field is its RCV.NXT (RFC 9293 §3.4): bytes the capture missed were received.
        if receiveKnown && Seq.gt(s.acknowledgment, rcvNxt) && !receivedFin { rcvNxt = s.acknowledgment }
        lastWindowRaw = s.window
        // Windows in SYN segments are never scaled (RFC 7323 §2.2).
        let shift = s.flags.contains(.syn) ? 0 : (windowScale.shift ?? 0)
        lastWindow = UInt32(s.window) << UInt32(shift)
        let edge = s.acknowledgment &+ lastWindow
        if !rightEdgeKnown || Seq.gt(edge, maxRightEdge) { maxRightEdge = edge }
        rightEdgeKnown = true
    }

    // MARK: - Receiving (RFC 9293 §3.10.7, SEGMENT ARRIVES)

    /// The peer's segment `s` is presumed to have reached this endpoint.
    /// Returns false when this endpoint would drop it (the caller may report why).
    @discardableResult
    mutating func received(_ s: TCPSegment, _ ctx: StepContext, _ out: inout [TrackerEvent]) -> Bool {
        let c = SegmentClass(s.flags)
        guard c != .invalid else { return false }
        let seq = s.sequence
        let hasAck = s.flags.contains(.ack)
        defer { active = true }

        switch state {
        case .closed:
            // CLOSED that never was anything: a SYN reaching it makes it a presumed listener.
            if !active && c == .syn {
                receivedSyn = true; irs = seq; rcvNxt = seq &+ s.sequenceLength; receiveKnown = true
                receivedFastOpen = s.payloadLength > 0 || s.options.fastOpenCookieLength != nil
                move(to: .listen, .inferred, cause: .presumedListen, ctx, &out)
            }
            return false

        case .listen:
            if c == .syn && (!receivedSyn || seq == irs) {
                receivedSyn = true; irs = seq; rcvNxt = seq &+ s.sequenceLength; receiveKnown = true
                return true
            }
            return false

        case .synSent:
            // First: the ACK bit (§3.10.7.3).
            if hasAck && !(Seq.gt(s.acknowledgment, iss) && Seq.le(s.acknowledgment, sndNxt)) {
                return false // it would answer with RST (unless RST); the sender side reports synack-bad-ack
            }
            if c == .rst {
                guard hasAck else { return false } // RST without ACK in SYN_SENT is ignored
                closedByReset = true
                move(to: .closed, .inferred, cause: .receivedRst, ctx, &out)
                return true
            }
            guard c == .syn || c == .synAck else { return false }
            receivedSyn = true; irs = seq; rcvNxt = seq &+ s.sequenceLength; receiveKnown = true
            if c == .synAck {
                sndUna = s.acknowledgment
                confirmAck = rcvNxt
                move(to: .established, .inferred, cause: .receivedSynAck, ctx, &out)
            } else {
                confirmAck = rcvNxt
                emit(.simultaneousOpen, ctx, &out) // its SYN crossed the peer's
                move(to: .synReceived, .inferred, cause: .receivedSyn, ctx, &out)
            }
            return true

        default:
            return receiveSynchronized(s, c, ctx, &out)
        }
    }

    /// SEGMENT ARRIVES in SYN_RECEIVED and every synchronized state, in the RFC's order:
    /// sequence acceptability, RST, SYN, ACK bit, ACK, text, FIN.
    private mutating func receiveSynchronized(_ s: TCPSegment, _ c: SegmentClass, _ ctx: StepContext,
                                              _ out: inout [TrackerEvent]) -> Bool {
        var seq = s.sequence
        var len = s.sequenceLength
        // A SYN already received is trimmed off (§3.10.7.4): in a simultaneous open the peer's
        // SYN+ACK repeats its SYN, and only its ACK is news.
        if s.flags.contains(.syn) && receivedSyn && seq == irs {
            seq = seq &+ 1
            len = len &- 1
        }
        // First: is the sequence number acceptable? (§3.10.7.4, table 6)
        let window = windowKnownForReceive ? lastWindow : UInt32.max / 2
        var acceptable = true
        if receiveKnown && windowKnownForReceive {
            if len == 0 {
                acceptable = window == 0 ? seq == rcvNxt : Seq.inWindow(seq, rcvNxt, window)
            } else {
                acceptable = window > 0 &&
                    (Seq.inWindow(seq, rcvNxt, window) || Seq.inWindow(seq &+ len &- 1, rcvNxt, window))
                // Linux (tcp_sequence: end_seq ≥ rcv_wup) also takes a segment that ends exactly at
                // RCV.NXT — a retransmission whose ACK field carries news — and processes its ACK;
                // the RFC would drop it and learn the ACK a segment later.
                if !acceptable && seq &+ len == rcvNxt { acceptable = true }
            }
        }
        // Second: RST (RFC 5961 §3.2: exact match closes, in window draws a challenge ACK).
        if c == .rst {
            // Linux also takes a RST at RCV.NXT−1 once the peer's FIN is in (tcp_reset_check): the
            // peer resets at its FIN's sequence number.
            let exact = !receiveKnown || seq == rcvNxt
                || (receivedFin && seq == rcvNxt &- 1 && (state == .closeWait || state == .lastAck || state == .closing))
            let inWindow = !receiveKnown || !windowKnownForReceive || Seq.inWindow(seq, rcvNxt, max(window, 1))
            if state == .synReceived {
                guard inWindow else {
                    emitAbout(.rstOutOfWindow, ctx, &out, expected: rcvNxt, actual: seq)
                    return false
                }
                closedByReset = !passiveOpen
                move(to: passiveOpen ? .listen : .closed, .inferred, cause: .receivedRst, ctx, &out)
                return true
            }
            if exact {
                guard state != .closed, !resetsDoNotArrive else { return false }
                closedByReset = true
                stateBeforeInferredClose = state
                move(to: .closed, .inferred, cause: .receivedRst, ctx, &out)
                return true
            }
            emitAbout(inWindow ? .rstChallenged : .rstOutOfWindow, ctx, &out,
                      expected: rcvNxt, actual: seq)
            return false
        }
        guard acceptable else {
            // TIME_WAIT: a retransmitted FIN is acknowledged and restarts 2·MSL (§3.10.7.4), even
            // though it lies below RCV.NXT.
            if state == .timeWait && s.flags.contains(.fin) && receivedFin
                && s.sequence &+ s.payloadLength &+ 1 == rcvNxt {
                timeWaitSince = ctx.time
            }
            return false
        }
        // Third/fourth: a SYN in a synchronized state draws a challenge ACK (RFC 5961 §4); the
        // sender side reports it. A retransmitted SYN in SYN_RECEIVED is absorbed.
        if c == .syn { return false }
        if c == .synAck {
            // Simultaneous open: the peer's SYN+ACK acknowledges our SYN.
            if state == .synReceived && Seq.gt(s.acknowledgment, iss) && Seq.le(s.acknowledgment, sndNxt) {
                sndUna = s.acknowledgment
                move(to: .established, .inferred, cause: .receivedSynAck, ctx, &out)
                return true
            }
            return false
        }
        // Fifth: without ACK the segment is dropped.
        guard s.flags.contains(.ack) else { return false }
        let ack = s.acknowledgment
        let carriesFin = s.flags.contains(.fin)
        if state == .synReceived {
            guard Seq.gt(ack, iss) && Seq.le(ack, sndNxt) else {
                emitAbout(.handshakeAckInvalid, ctx, &out, expected: iss &+ 1, actual: ack)
                return false
            }
            sndUna = ack
            confirmAck = s.sequence &+ s.sequenceLength
            move(to: .established, .inferred, cause: .receivedAck, ctx, &out)
        } else if Seq.gt(ack, sndUna) {
            sndUna = ack
        }
        let finAcked = sentFin && Seq.gt(sndUna, finSeq)
        switch state {
        case .finWait1 where finAcked && !carriesFin:
            // Confirmed only by an ACK that covers the segment that moved it.
            confirmAck = s.sequence &+ s.sequenceLength
            move(to: .finWait2, .inferred, cause: .receivedAck, ctx, &out)
        case .closing where finAcked:
            confirmAck = s.sequence &+ s.sequenceLength
            timeWaitSince = ctx.time
            move(to: .timeWait, .inferred, cause: .receivedAck, ctx, &out)
        case .lastAck where finAcked:
            move(to: .closed, .inferred, cause: .receivedAck, ctx, &out)
            return true
        default:
            break
        }
        // Seventh: segment text. Data is taken while the peer has not closed its side.
        if receiveKnown {
            let dataEnd = seq &+ s.payloadLength
            if Seq.gt(dataEnd, rcvNxt) && !receivedFin { rcvNxt = dataEnd }
        }
        // Eighth: FIN.
        guard carriesFin else { return true }
        let finAt = seq &+ s.payloadLength
        if receivedFin { 
            if state == .timeWait { timeWaitSince = ctx.time } // a retransmitted FIN restarts 2·MSL
            return true
        }
        receivedFin = true
        rcvNxt = finAt &+ 1
        receiveKnown = true
        confirmAck = rcvNxt
        switch state {
        case .synReceived, .established:
            move(to: .closeWait, .inferred, cause: .receivedFin, ctx, &out)
        case .finWait1:
            timeWaitSince = ctx.time
            if !finAcked { emit(.simultaneousClose, ctx, &out) } // its FIN crossed the peer's
            move(to: finAcked ? .timeWait : .closing, .inferred, cause: .receivedFin, ctx, &out)
        case .finWait2:
            timeWaitSince = ctx.time
            move(to: .timeWait, .inferred, cause: .receivedFin, ctx, &out)
        default:
            break
        }
        return true
    }

    /// Windows can be checked once the handshake told us the scale (or that there is none).
    var windowKnownForReceive: Bool { ackKnown && windowScale.shift != nil }

    /// Called by the connection once both SYNs are known (`WindowScale.settle`); a SYN whose
    /// options were cut on either side makes both shifts unknowable.
    mutating func settleScale(peer: WindowScale, eitherCut: Bool) {
        if eitherCut && windowScale.isPending { windowScale = .unknowable }
        windowScale.settle(peerOffered: peer.offerSeenByPeer)
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
    mutating func assumeSynchronized(sendNext: UInt32?, receiveNext: UInt32?, _ ctx: StepContext,
                                     _ out: inout [TrackerEvent]) {
        active = true
        if let sendNext { sndNxt = sendNext; sendKnown = true; sndUna = sendNext }
        if let receiveNext { rcvNxt = receiveNext; receiveKnown = true }
        assumedStart = true
        move(to: .established, .unknown, cause: .assumedMidstream, ctx, &out)
    }

    /// The SYN was missed but the SYN+ACK shows it: this endpoint sent a SYN with ISN `iss`.
    mutating func assumeSynSent(iss: UInt32, windowScaleOffered: Bool, _ ctx: StepContext, _ out: inout [TrackerEvent]) {
        active = true
        sentSyn = true; self.iss = iss; sndNxt = iss &+ 1; sendKnown = true
        // Only "offered or not" is implied, not the shift.
        windowScale = windowScaleOffered ? .unknowable : .pending(offered: nil, optionsCut: false)
        move(to: .synSent, .unknown, cause: .assumedMidstream, ctx, &out)
    }

    /// The SYN was missed: this endpoint must have received it to send its SYN+ACK.
    mutating func assumeListenWithSyn(irs: UInt32, _ ctx: StepContext, _ out: inout [TrackerEvent]) {
        active = true
        receivedSyn = true; self.irs = irs; rcvNxt = irs &+ 1; receiveKnown = true
        move(to: .listen, .unknown, cause: .assumedMidstream, ctx, &out)
    }

    /// Its peer acknowledged a SYN+ACK of this presumed listener that the capture did not show: it sent
    /// one with ISN `ack − 1` and is SYN_RECEIVED (one-sided captures, lost SYN+ACKs).
    mutating func impliedSynAckSent(peerAck: UInt32, _ ctx: StepContext, _ out: inout [TrackerEvent]) {
        guard state == .listen, !sentSyn else { return }
        sentSyn = true; sentSynAck = true; passiveOpen = true
        iss = peerAck &- 1; sndNxt = peerAck; sendKnown = true
        move(to: .synReceived, .inferred, cause: .impliedByPeer, ctx, &out)
    }

    /// A RST as the very first thing seen from this endpoint: it has no connection.
    mutating func markReset() {
        active = true
        closedByReset = true
        evidence = .observed
    }

    // MARK: - Helpers

    mutating func move(to next: TCPState, _ ev0: Evidence, cause: TransitionCause, _ ctx: StepContext,
                       _ out: inout [TrackerEvent]) {
        // Built on an assumed start, a move is at best inferred — except closing by its own RST,
        // which holds whatever came before.
        let ev = assumedStart && ev0 == .observed && cause != .sentRst ? .inferred : ev0
        guard next != state else {
            if ev > evidence { evidence = ev }
            return
        }
        out.append(.transition(Transition(connection: ctx.ref, endpoint: role, from: state, to: next, evidence: ev,
                                          cause: cause, frame: ctx.frame, time: ctx.time)))
        state = next
        evidence = ev
    }

    func emit(_ code: AnomalyCode, _ ctx: StepContext, _ out: inout [TrackerEvent],
              expected: UInt32? = nil, actual: UInt32? = nil, related: FrameRef? = nil) {
        Self.emit(code, about: role, ctx, &out, expected: expected, actual: actual, related: related)
    }

    /// Both endpoints' states are filled in by `Connection.stamp` once the step is over.
    static func emit(_ code: AnomalyCode, about role: Role, _ ctx: StepContext, _ out: inout [TrackerEvent],
                     expected: UInt32?, actual: UInt32?, related: FrameRef?) {
        out.append(.anomaly(Anomaly(connection: ctx.ref, code: code, endpoint: role, frame: ctx.frame,
                                    relatedFrame: related, time: ctx.time, clientBefore: .closed, serverBefore: .closed,
                                    clientAfter: .closed, serverAfter: .closed, expected: expected, actual: actual)))
    }

    /// An anomaly about the peer (the sender of a segment this endpoint received).
    func emitAbout(_ code: AnomalyCode, _ ctx: StepContext, _ out: inout [TrackerEvent],
                   expected: UInt32? = nil, actual: UInt32? = nil) {
        Self.emit(code, about: role.peer, ctx, &out, expected: expected, actual: actual, related: nil)
    }
}

extension EndpointMachine.SegmentClass {
    var sentCause: TransitionCause {
        switch self {
        case .syn: return .sentSyn
        case .synAck: return .sentSynAck
        case .fin: return .sentFin
        case .rst: return .sentRst
        default: return .sentAck
        }
    }
}

/// Where and when a step happens, for the events it emits.
struct StepContext {
    var ref: ConnectionRef
    var frame: FrameRef?
    var time: Int64
}
