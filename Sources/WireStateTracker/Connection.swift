import WireStateDecoder

/// One TCP connection: two instances of the same `EndpointMachine`, fed mirrored events.
///
/// For a segment from A to B, `process` runs the checks that read both sides (`HeaderChecks.swift`,
/// `SequenceObservations.swift`, `WindowCheck.swift`), then `A.sent(s)` and `B.received(s)` (design
/// note §1). Connection orchestrates and reports; the endpoints change only through their own
/// methods (their state has private setters). What the rules find during the step is collected as
/// `Finding`s (no state fields); `finishStep` builds each anomaly once, whole, with both endpoints'
/// states before and after the step (only then are they known).
struct Connection {
    // Declared in an order that packs (1,008 bytes, not 1,052): the one-byte flags in the
    // endpoint's tail, and the 4-byte counters between the window watches and the 8-byte
    // fields. `MemoryLayoutTests` pins the size.
    var client: EndpointMachine
    var oneSidedReported = false
    var peerResetReported = false
    var unresponsiveReported = false
    var server: EndpointMachine
    var summary: ConnectionSummary
    /// Capture time at which both endpoints were CLOSED (`Int64.min`: not yet; tracker times are
    /// clamped to ±2⁶², so it is never a real one, and an `Int64?` took 16 bytes here).
    private var closedAtTime = Int64.min
    /// A finding that repeats segment after segment (a window that stays shrunk), held until its
    /// run ends so that it is reported once, with a count and its first and last frames.
    var heldRun: Anomaly?
    /// What each endpoint's advertised windows have shown so far (`WindowCheck.swift`).
    var windows = PerRole(WindowWatch())
    /// Retransmissions from each side since the other last sent anything, and when the run began.
    var unanswered = PerRole<UInt32>(0)
    /// The deadline this connection has in the tracker's `DeadlineQueue` (`.max`: none).
    var scheduled: Int64 = .max
    var unansweredSince = PerRole<Int64>(0)

    /// Capture time at which both endpoints were CLOSED; the connection lingers a while after it so
    /// late segments join it instead of starting a phantom connection.
    var closedAt: Int64? {
        @inline(__always) get { closedAtTime == .min ? nil : closedAtTime }
        @inline(__always) set { closedAtTime = newValue ?? .min }
    }

    var ref: ConnectionRef { summary.ref }

    /// An endpoint by role, so that rules are written once for "the sender" and "the receiver"
    /// (conntrack's `seen[dir]`) instead of mirrored for client and server.
    @inline(__always)
    subscript(_ role: Role) -> EndpointMachine {
        get { role == .client ? client : server }
        // In place, not a copy of the endpoint and a write back.
        _modify { if role == .client { yield &client } else { yield &server } }
    }

    /// Starts a connection from its first captured segment. `clientIsSource` says who the client is.
    init(first s: TCPSegment, ref: ConnectionRef, clientIsSource: Bool, guessed: Bool, _ ctx: StepContext) {
        client = EndpointMachine(role: .client)
        server = EndpointMachine(role: .server)
        summary = ConnectionSummary(
            ref: ref,
            client: clientIsSource ? s.source : s.destination,
            server: clientIsSource ? s.destination : s.source,
            firstFrame: ctx.frame ?? FrameRef(number: 0),
            clientState: .closed, serverState: .closed, clientEvidence: .unknown, serverEvidence: .unknown,
            lastFrame: ctx.frame ?? FrameRef(number: 0), firstTime: ctx.time, lastTime: ctx.time)
        summary.clientGuessed = guessed
    }

    /// A later incarnation of a 4-tuple says so before its first segment is processed (`port-reuse`,
    /// and `reuse-in-time-wait` when the old one's TIME_WAIT was cut short).
    mutating func announceIncarnation(inTimeWait: Bool, _ ctx: StepContext, _ out: inout StepOutput) {
        let before = (client.state, server.state)
        emit(.portReuse, about: .client, ctx, &out, actual: ref.incarnation)
        if inTimeWait { emit(.reuseInTimeWait, about: .client, ctx, &out) }
        finishStep(&out, before: before)
    }

    // MARK: - Pickup

    /// Prepares the machines when the first segment seen is not a SYN (design note §4), and
    /// emits what is assumed. Called once, before the first `process`.
    mutating func pickUp(_ s: TCPSegment, fromClient: Bool, _ ctx: StepContext, _ out: inout StepOutput) {
        let c = EndpointMachine.SegmentClass(s.flags)
        let before = (client.state, server.state)
        let sender: Role = fromClient ? .client : .server, receiver = sender.peer
        switch c {
        case .syn:
            return  // nothing to assume, nothing found
        case .synAck:
            // The SYN went by uncaptured: the receiver of this SYN+ACK sent a SYN with ISN ack-1.
            self[receiver].assumeSynSent(iss: s.acknowledgment &- 1, windowScaleOffered: s.options.windowScale != nil, ctx, &out)
            self[sender].assumeListenWithSyn(irs: s.acknowledgment &- 1, ctx, &out)
            emit(.synNotCaptured, about: sender, ctx, &out)
        case .rst:
            self[sender].markReset()
            emit(.rstWithoutConnection, about: sender, ctx, &out)
        case .invalid:
            return  // nothing can be assumed from an impossible segment; the step reports it
        default:
            summary.midstream = true
            let hasAck = s.flags.contains(.ack)
            let senderNext = s.sequence
            let receiverNext: UInt32? = hasAck ? s.acknowledgment : nil
            self[sender].assumeSynchronized(sendNext: senderNext, receiveNext: receiverNext, ctx, &out)
            self[receiver].assumeSynchronized(sendNext: receiverNext, receiveNext: senderNext, ctx, &out)
            emit(.midstreamPickup, about: sender, ctx, &out)
        }
        finishStep(&out, before: before)
    }

    // MARK: - One segment

    /// Everything the tracker does with a segment for an existing connection, in place:
    /// TIME_WAIT expiry first (so a SYN after 2·MSL finds CLOSED), then the reuse verdict, then the
    /// step. Returns the new incarnation to start when the segment opens one.
    mutating func handle(
        _ s: TCPSegment, frame: FrameRef, time: Int64, msl: Int64,
        _ out: inout StepOutput
    ) -> (incarnation: UInt32, inTimeWait: Bool)? {
        expire(at: time, msl: msl, &out.events)
        // Only a bare SYN can open a new incarnation. Tested first, here: calling `reuseVerdict`
        // on every segment copied the whole connection (a kilobyte) to the stack each time.
        if Self.isBareSyn(s), let reuse = reuseVerdict(s) {
            // The new SYN takes the 4-tuple over: a TIME_WAIT endpoint of this incarnation is done.
            let ctx = StepContext(ref: ref, frame: frame, time: time)
            client.yieldToNewIncarnation(ctx, &out.events)
            server.yieldToNewIncarnation(ctx, &out.events)
            summary.clientState = client.state
            summary.serverState = server.state
            summary.clientEvidence = client.evidence
            summary.serverEvidence = server.evidence
            return reuse
        }
        process(s, fromClient: summary.client == s.source, StepContext(ref: ref, frame: frame, time: time), &out)
        return nil
    }

    /// CLOSED, or LISTEN (a listener keeps nothing for this 4-tuple once its half-open attempt was reset).
    static func holdsNothing(_ s: TCPState) -> Bool { s == .closed || s == .listen }

    /// SYN without ACK, RST or FIN: what opens a connection.
    @inline(__always)
    static func isBareSyn(_ s: TCPSegment) -> Bool {
        s.flags.contains(.syn) && !s.flags.contains(.ack) && !s.flags.contains(.rst) && !s.flags.contains(.fin)
    }

    /// A bare SYN with a new ISN from an endpoint that is CLOSED or in TIME_WAIT, on a tuple whose
    /// other endpoint is also CLOSED or in TIME_WAIT, starts a new incarnation (RFC 6191; anchors §0.5).
    /// The same ISN is a retransmission of the old SYN and stays with the old connection.
    func reuseVerdict(_ s: TCPSegment) -> (incarnation: UInt32, inTimeWait: Bool)? {
        guard Self.isBareSyn(s) else { return nil }
        let from: Role = summary.client == s.source ? .client : .server
        let sender = self[from], receiver = self[from.peer]
        // A new ISN after an attempt nobody answered: the application gave up on the first
        // connect() and opened again from the same port. A new incarnation, not a violation.
        if sender.state == .synSent && receiver.send.nxt == nil && s.sequence != sender.send.iss {
            return (ref.incarnation + 1, false)
        }
        let over: (TCPState) -> Bool = { $0 == .closed || $0 == .timeWait || $0 == .listen }
        guard over(sender.state), over(receiver.state), client.active || server.active else { return nil }
        // The same ISN again is a retransmission of the old SYN, unless a reset ended that attempt:
        // a refused or reset SYN is never retransmitted, so this SYN is a new connect() from the
        // same port (Windows retries a refused connect with the same ISN; Captures/syn-after-refusal-same-isn).
        if sender.send.syn != nil && !sender.send.synAckSent && s.sequence == sender.send.iss
            && !sender.closedByReset && !receiver.closedByReset
        {
            return nil
        }
        return (ref.incarnation + 1, sender.state == .timeWait || receiver.state == .timeWait)
    }

    mutating func process(_ s: TCPSegment, fromClient: Bool, _ ctx: StepContext, _ out: inout StepOutput) {
        let sender: Role = fromClient ? .client : .server, receiver = sender.peer
        summary.facts.observe(s, fromClient: fromClient, time: ctx.time)
        let mark = out.events.count
        let before = (client.state, server.state)
        let runWasOpen = windows[sender].shrinkRepeats
        // The one place direction is chosen: both endpoints are passed in place (exclusive access
        // to two stored properties, not to `self` twice through the role subscript).
        let retransmitted =
            fromClient
            ? Self.step(
                s, sender: &client, receiver: &server, window: &windows.client, peerWindow: &windows.server,
                summary: &summary, peerResetReported: &peerResetReported, ctx, &out)
            : Self.step(
                s, sender: &server, receiver: &client, window: &windows.server, peerWindow: &windows.client,
                summary: &summary, peerResetReported: &peerResetReported, ctx, &out)
        // Window scaling is settled once both SYNs are known.
        if client.send.syn != nil && server.send.syn != nil
            && (client.windowScale.isPending || server.windowScale.isPending)
        {
            // A SYN whose options the capture cut hides whether scaling was on for either side.
            let cut = client.windowScale.optionsCut || server.windowScale.optionsCut
            let (c, s) = (client.windowScale, server.windowScale)
            client.settleScale(peer: s, eitherCut: cut)
            server.settleScale(peer: c, eitherCut: cut)
        }
        // Half-open: an endpoint keeps talking to a peer that reset (reported once). If its own
        // CLOSED was inferred from that RST, its segment has just withdrawn it.
        let receiverReset = self[receiver].state == .closed && self[receiver].closedByReset
        if !peerResetReported, receiverReset, self[sender].state != .closed, !s.flags.contains(.rst),
            !s.flags.contains(.syn)
        {
            peerResetReported = true
            emit(.trafficAfterPeerReset, about: sender, ctx, &out)
        }
        if s.flags.contains(.rst) { summary.reset = true }
        checkUnresponsive(retransmitted: retransmitted, sender: sender, ctx, &out)
        if fromClient {
            summary.packetsFromClient += 1
            summary.bytesFromClient += UInt64(s.payloadLength)
        } else {
            summary.packetsFromServer += 1
            summary.bytesFromServer += UInt64(s.payloadLength)
        }
        if let f = ctx.frame { summary.lastFrame = f }
        summary.lastTime = ctx.time
        finishStep(&out, before: before)
        collapseRepeats(sender, wasOpen: runWasOpen, from: mark, ctx, &out.events)
        if Self.holdsNothing(client.state) && Self.holdsNothing(server.state) {
            if closedAt == nil { closedAt = ctx.time }
        } else {
            closedAt = nil
        }
    }

    /// One segment from `sender` to `receiver`, in this order: a CLOSED the segment contradicts is
    /// withdrawn; header checks (`HeaderChecks.swift`); what the capture shows of the sender's
    /// sequence space and acknowledgment (`SequenceObservations.swift`); window checks
    /// (`WindowCheck.swift`); the sender's step (`EndpointMachine.sent`); the receiver's step
    /// (`EndpointMachine.received`). Connection only orchestrates: each endpoint changes through
    /// its own methods. Returns whether the segment was a retransmission.
    static func step(
        _ s: TCPSegment, sender: inout EndpointMachine, receiver: inout EndpointMachine,
        window: inout WindowWatch, peerWindow: inout WindowWatch, summary: inout ConnectionSummary,
        peerResetReported: inout Bool, _ ctx: StepContext, _ out: inout StepOutput
    ) -> Bool {
        let c = EndpointMachine.SegmentClass(s.flags)
        // First: does this segment contradict a CLOSED we only inferred for its sender?
        if sender.reviveIfContradicted(c, ctx, &out) == .trafficAfterPeerReset {
            peerResetReported = true  // that was the half-open finding: not reported twice
        }
        checkHeader(s, c, sender: sender, ctx, &out)
        let retransmitted = observeSequence(
            s, c, sender: &sender, receiver: &receiver, senderWindow: &window, receiverWindow: peerWindow, midstream: summary.midstream, ctx,
            &out)
        checkUpperBound(
            s, c, sender: sender, receiver: receiver, receiverWindow: &peerWindow, midstream: summary.midstream, ctx, &out)
        observeAcknowledgment(s, c, sender: &sender, receiver: &receiver, ctx, &out)
        checkWindowUpdateNotCaptured(s, c, sender: sender, receiver: receiver, window: &window, ctx, &out)
        let ackTooOld = checkAckTooOld(s, c, sender: sender, receiver: receiver, midstream: summary.midstream, ctx, &out)
        checkAdvertisedWindow(
            s, c, sender: sender, receiver: receiver, window: &window,
            midstream: summary.midstream, ctx, &out)

        let rstRejected = c == .rst && receiver.wouldRejectReset(s)
        let senderWasOpening = sender.state == .synSent
        let finBeforeCaptured = sender.state == .closeWait && sender.sentFinBeforeCaptured(s)
        sender.sent(s, rstRejected: rstRejected, peerAnsweredSyn: receiver.passiveOpen, ctx, &out)
        // Its FIN, missed by the capture, went before the peer's: it closed first.
        if finBeforeCaptured && sender.state == .closing { summary.facts.finSentFirst(by: sender.role) }
        // Its ACK of a SYN+ACK nobody captured proves the presumed listener sent that SYN+ACK.
        if senderWasOpening && sender.state == .established && s.flags.contains(.ack) && receiver.state == .listen {
            receiver.impliedSynAckSent(peerAck: s.acknowledgment, ctx, &out)
        }
        window.sent(s, c)
        checkSynAckAcknowledgment(s, c, sender: sender, receiver: receiver, ctx, &out)
        if c != .invalid {
            receiver.received(s, ackTooOld: ackTooOld, ctx, &out)
        }
        return retransmitted
    }

    /// Half-open with the RST out of sight: one side retransmits and the other, which did talk
    /// before, never answers. After 3 unanswered retransmissions spanning at least a second, the
    /// silent side is presumed gone (evidence unknown); any segment from it revives it.
    mutating func checkUnresponsive(retransmitted: Bool, sender: Role, _ ctx: StepContext, _ out: inout StepOutput) {
        let silent = sender.peer
        unanswered[silent] = 0
        guard retransmitted, !unresponsiveReported else { return }
        guard packetsSeen(from: silent) > 0 else { return }  // one-sided capture: silence proves nothing
        if unanswered[sender] == 0 { unansweredSince[sender] = ctx.time }
        unanswered[sender] += 1
        let (count, since) = (unanswered[sender], unansweredSince[sender])
        guard count >= 3, CaptureTime.elapsed(from: since, to: ctx.time) >= 1_000_000_000 else { return }
        unresponsiveReported = true
        self[silent].presumeGone(ctx, &out.events)
        emit(.peerUnresponsive, about: silent, ctx, &out, actual: count)
    }

    // MARK: - Time

    /// TIME_WAIT expiry for both endpoints at capture time `now`.
    mutating func expire(at now: Int64, msl: Int64, _ out: inout [TrackerEvent]) {
        client.expireTimeWait(at: now, msl: msl, ref, &out)
        server.expireTimeWait(at: now, msl: msl, ref, &out)
        if Self.holdsNothing(client.state) && Self.holdsNothing(server.state) && closedAt == nil {
            closedAt = max(client.timeWaitDeadline(msl: msl), server.timeWaitDeadline(msl: msl), summary.lastTime)
        }
    }

    // MARK: - Repeated findings

    /// Keeps one anomaly per run of a repeating finding. The run's first anomaly was built in this
    /// step like any other (`finishStep`); it is taken out of the stream and held. Later steps
    /// count into it; the step that ends the run (or the end of the connection) releases it.
    mutating func collapseRepeats(
        _ sender: Role, wasOpen: UInt32?, from mark: Int, _ ctx: StepContext,
        _ out: inout [TrackerEvent]
    ) {
        let now = windows[sender].shrinkRepeats
        switch (wasOpen, now) {
        case (nil, .some):
            guard
                let i = out[mark...].lastIndex(where: {
                    if case .anomaly(let a) = $0 { return a.code == .windowShrunk && a.endpoint == sender } else { return false }
                }), case .anomaly(let a) = out[i]
            else { return }
            out.remove(at: i)
            releaseHeldRun(&out)  // the other endpoint's run, if any, is reported as far as it went
            if heldRun == nil { heldRun = a }
        case (.some, .some(let n)):
            if heldRun?.endpoint == sender { heldRun?.count = n; heldRun?.lastFrame = ctx.frame }
        case (.some, nil):
            if heldRun?.endpoint == sender { releaseHeldRun(&out) }
        case (nil, nil):
            break
        }
    }

    /// The connection leaves the table: what was held open until evidence came is settled with the
    /// evidence there is. Data that began to arrive below an ACK of unseen data and never reached it
    /// was never sent (`proveAckOfUnsentData`); data past a window edge that the receiver never
    /// answered stays `data-beyond-window` (`checkWindowUpdateNotCaptured`).
    mutating func settleAtEnd(_ out: inout StepOutput) {
        guard
            client.unseenAck != nil || server.unseenAck != nil || windows.client.beyond != nil
                || windows.server.beyond != nil
        else { return }
        let before = (client.state, server.state)
        let ctx = StepContext(ref: ref, frame: nil, time: summary.lastTime)
        Self.proveAckOfUnsentData(dataSender: &client, acker: &server, ctx, &out)
        Self.proveAckOfUnsentData(dataSender: &server, acker: &client, ctx, &out)
        for role in [Role.client, .server] {
            guard let held = windows[role].beyond else { continue }
            windows[role].beyond = nil
            Self.reportDataBeyondWindow(held, sender: self[role.peer], ctx, &out)
        }
        finishStep(&out, before: before)
    }

    /// Reports the held run (already counted in the summary when it began).
    mutating func releaseHeldRun(_ out: inout [TrackerEvent]) {
        guard var a = heldRun else { return }
        heldRun = nil
        if a.lastFrame == nil { a.lastFrame = a.frame }
        windows[a.endpoint].shrinkRepeats = nil
        out.append(.anomaly(a))
    }

    /// The earliest capture time at which time alone changes this connection: the linger after
    /// both endpoints closed running out, else the first TIME_WAIT ending (nil: none).
    @inline(__always)
    func nextDeadline(msl: Int64, linger: Int64) -> Int64? {
        if let closedAt { return CaptureTime.adding(linger, to: closedAt) }
        let c = client.state == .timeWait ? client.timeWaitDeadline(msl: msl) : Int64.max
        let s = server.state == .timeWait ? server.timeWaitDeadline(msl: msl) : Int64.max
        let d = min(c, s)
        return d == .max ? nil : d
    }

    /// Which eviction list it belongs on: handshakes that never completed and connections whose
    /// endpoints both closed are the cheapest to lose.
    @inline(__always)
    var evictionClass: EvictionClass {
        if closedAt != nil { return .attempt }
        if summary.midstream { return .live }
        return client.state.isSynchronized || server.state.isSynchronized ? .live : .attempt
    }

    /// The connection leaves the table: an endpoint still presumed listening ends CLOSED
    /// (`EndpointMachine.endListening`), at the last time the connection was seen, with no frame.
    mutating func endListeningResponders(_ out: inout [TrackerEvent]) {
        guard client.state == .listen || server.state == .listen else { return }
        let ctx = StepContext(ref: ref, frame: nil, time: summary.lastTime)
        client.endListening(ctx, &out)
        server.endListening(ctx, &out)
        summary.clientState = client.state
        summary.serverState = server.state
    }

    /// The final record: states as they are now, counts of anomalies already tallied by the tracker.
    func finalSummary(_ reason: EndReason) -> ConnectionSummary {
        var s = summary
        s.clientState = client.state
        s.serverState = server.state
        s.clientEvidence = client.evidence
        s.serverEvidence = server.evidence
        s.endReason = reason
        s.refused = summary.refused
        return s
    }

    /// A connection whose one direction was never seen, while the other proves the peer talked.
    mutating func checkOneSided(_ out: inout StepOutput) {
        guard !oneSidedReported else { return }
        let seenClient = packetsSeen(from: .client) > 0, seenServer = packetsSeen(from: .server) > 0
        guard seenClient != seenServer else { return }
        let talker: Role = seenClient ? .client : .server
        // A lone SYN (or its retransmissions) is an unanswered attempt, not a one-sided capture.
        guard self[talker].advertised != nil else { return }
        oneSidedReported = true
        let ctx = StepContext(ref: ref, frame: nil, time: summary.lastTime)
        let before = (client.state, server.state)
        emit(.oneSidedCapture, about: talker, ctx, &out)
        finishStep(&out, before: before)
    }

    // MARK: - Helpers

    func packetsSeen(from role: Role) -> UInt64 {
        role == .client ? summary.packetsFromClient : summary.packetsFromServer
    }

    func emit(
        _ code: AnomalyCode, about role: Role, _ ctx: StepContext, _ out: inout StepOutput,
        actual: UInt32? = nil
    ) {
        out.report(code, about: role, ctx, expected: nil, actual: actual, related: nil)
    }

    /// Ends a step: builds each finding into its anomaly, once and whole, with both endpoints'
    /// states before the step and after it, in its place among the step's events; counts it in the
    /// summary, which takes the endpoints' states as they are now. Every step that can find
    /// something ends here, so no finding outlives its step.
    mutating func finishStep(_ out: inout StepOutput, before: (TCPState, TCPState)) {
        let after = (client.state, server.state)
        // By index, not `for in`: an iterator would hold a second reference to the buffer and
        // make `clearFindings` allocate a new one.
        var i = 0
        while i < out.findings.count {
            let f = out.findings[i]
            let a = Anomaly(f, connection: ref, before: before, after: after)
            out.events.insert(.anomaly(a), at: f.position + i)  // the i anomalies before it are in
            summary.anomalyCount += 1
            if a.code.severity == .violation { summary.violationCount += 1 }
            if a.code == .refused { summary.refused = true }
            i += 1
        }
        out.clearFindings()
        summary.clientState = client.state
        summary.serverState = server.state
        summary.clientEvidence = client.evidence
        summary.serverEvidence = server.evidence
    }
}
