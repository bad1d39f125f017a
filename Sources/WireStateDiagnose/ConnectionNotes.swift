import WireStateDecoder
import WireStateTracker

/// A stretch of time one endpoint spent in one state: from the transition into it (or its
/// confirmation) to the transition out of it, or to the end of the capture while still held.
struct HeldInterval: Sendable, Equatable {
    var state: TCPState
    var since: Int64
    /// The frame that moved it there (nil: time moved it).
    var frame: FrameRef?
    var evidence: Evidence
    /// The endpoint's own segment that confirmed the state (CLOSE_WAIT: its ACK of the FIN).
    var confirmedFrame: FrameRef? = nil
    var until: Int64? = nil
    var leftFrame: FrameRef? = nil
    var leftTo: TCPState? = nil

    /// How long it was held, to `end` if it still is.
    func held(end: Int64) -> Int64 { CaptureTime.elapsed(from: since, to: until ?? end) }
}

/// A zero window one endpoint advertised, and the probes its peer sent into it.
struct ZeroWindowRun: Sendable, Equatable {
    var frame: FrameRef?
    var time: Int64
    var probes = 0
    var lastProbeFrame: FrameRef? = nil
    var lastProbeTime: Int64? = nil

    /// The stall the capture proves: from the zero window to the last probe that still found it zero.
    var provenNanos: Int64 { lastProbeTime.map { CaptureTime.elapsed(from: time, to: $0) } ?? 0 }
}

/// A keep-alive an endpoint sent.
struct KeepAliveSent: Sendable, Equatable {
    var frame: FrameRef?
    var time: Int64
}

/// What diagnose keeps about one endpoint of a connection.
struct EndpointNotes: Sendable, Equatable {
    var state: TCPState = .closed
    /// The latest interval in each state a finding looks at (open while `until` is nil). A state is
    /// re-entered in one incarnation only after an inference was withdrawn; the latest is the true one.
    var closeWait: HeldInterval? = nil
    var finWait2: HeldInterval? = nil
    var synReceived: HeldInterval? = nil
    var timeWait: HeldInterval? = nil
    /// Its first RST and the state it sent it from.
    var resetFrame: FrameRef? = nil
    var resetTime: Int64 = 0
    var resetFrom: TCPState = .closed
    /// The zero window it advertises now (if any), and the longest-proven earlier one.
    var zeroWindow: ZeroWindowRun? = nil
    var longestEarlierZeroWindow: ZeroWindowRun? = nil
    /// Data segments it retransmitted, and the first few of them.
    var retransmissions = 0
    var retransmissionFrames: [FrameRef] = []
    /// Its latest keep-alives (at most `keepAliveLimit`; the unanswered ones are the latest) and
    /// how many it sent in all.
    var keepAlives: [KeepAliveSent] = []
    var keepAliveCount = 0
    static let keepAliveLimit = 20

    mutating func addKeepAlive(_ f: FrameRef?, _ t: Int64) {
        if keepAlives.count == Self.keepAliveLimit { keepAlives.removeFirst() }
        keepAlives.append(KeepAliveSent(frame: f, time: t))
        keepAliveCount += 1
    }

    /// The slot of a state findings look at (nil for the others).
    subscript(slot s: TCPState) -> HeldInterval? {
        get {
            switch s {
            case .closeWait: return closeWait
            case .finWait2: return finWait2
            case .synReceived: return synReceived
            case .timeWait: return timeWait
            default: return nil
            }
        }
        set {
            switch s {
            case .closeWait: closeWait = newValue
            case .finWait2: finWait2 = newValue
            case .synReceived: synReceived = newValue
            case .timeWait: timeWait = newValue
            default: break
            }
        }
    }

    mutating func enter(_ t: Transition) {
        if var old = self[slot: state], old.until == nil {
            old.until = t.time
            old.leftFrame = t.frame
            old.leftTo = t.to
            self[slot: state] = old
        }
        state = t.to
        switch t.to {
        case .closeWait, .finWait2, .synReceived, .timeWait:
            self[slot: t.to] = HeldInterval(state: t.to, since: t.time, frame: t.frame, evidence: t.evidence)
        default: break
        }
    }

    mutating func confirm(_ c: Confirmation) {
        guard c.state == state, var i = self[slot: state], i.until == nil, i.confirmedFrame == nil else { return }
        i.confirmedFrame = c.frame
        i.evidence = c.evidence
        self[slot: state] = i
    }

    mutating func startZeroWindow(_ z: ZeroWindowRun) {
        if let old = zeroWindow, longestEarlierZeroWindow.map({ old.provenNanos > $0.provenNanos }) ?? true {
            longestEarlierZeroWindow = old
        }
        zeroWindow = z
    }

    /// The zero-window run with the longest proven stall, the current one included.
    var longestZeroWindow: ZeroWindowRun? {
        guard let z = zeroWindow else { return longestEarlierZeroWindow }
        guard let e = longestEarlierZeroWindow else { return z }
        return z.provenNanos >= e.provenNanos ? z : e
    }
}

/// The few facts of a finished connection the rules read (not the whole summary: memory).
struct FinalFacts: Sendable, Equatable {
    var packetsFromClient: UInt64
    var packetsFromServer: UInt64
    var endReason: EndReason?
    var handshakeRTT: Int64?
    var durationNanos: Int64
    /// Who sent the first RST, how long the connection had carried no data, SYN or FIN before it,
    /// and how long no segment at all.
    var resetBy: Role?
    var idleBeforeReset: Int64?
    var silenceBeforeReset: Int64?
    /// Each side's last segment of any kind (the tracker's events do not show pure ACKs).
    var lastClientTime: Int64?
    var lastServerTime: Int64?

    init(_ s: ConnectionSummary) {
        packetsFromClient = s.packetsFromClient
        packetsFromServer = s.packetsFromServer
        endReason = s.endReason
        handshakeRTT = s.facts.handshakeRTT
        durationNanos = s.durationNanos
        resetBy = s.facts.resetBy
        idleBeforeReset = s.facts.idleBeforeReset
        silenceBeforeReset = s.facts.silenceBeforeReset
        lastClientTime = s.facts.lastClientTime
        lastServerTime = s.facts.lastServerTime
    }

    /// The last segment `role` sent.
    func lastTime(of role: Role) -> Int64? { role == .client ? lastClientTime : lastServerTime }
}

/// What diagnose keeps about one connection: a few frames and intervals, not its packets.
/// A class: the rules gather the same connection into several groups and items, and a reference
/// each is what keeps that cheap on a capture of a million connections (a copy is 1.6 KB).
final class ConnectionNotes {
    var ref: ConnectionRef
    var client: SocketAddress
    var server: SocketAddress
    var firstTime: Int64
    var lastTime: Int64
    var midstream: Bool
    var client_ = EndpointNotes()
    var server_ = EndpointNotes()
    /// The client's SYNs (the first and every retransmission) and their times.
    var synFrames: [FrameRef] = []
    var firstSynTime: Int64? = nil
    var lastSynTime: Int64? = nil
    /// The server's SYN+ACKs.
    var synAckFrames: [FrameRef] = []
    var firstSynAckTime: Int64? = nil
    var lastSynAckTime: Int64? = nil
    /// The client's own segment after the SYN+ACK (its handshake ACK was sent).
    var clientAckFrame: FrameRef? = nil
    var refusedFrame: FrameRef? = nil
    /// A peer presumed gone (`peer-unresponsive`): who, the proving frame, the retransmission count.
    var vanished: Role? = nil
    var vanishedFrame: FrameRef? = nil
    var vanishedCount: UInt32 = 0
    var vanishedTime: Int64 = 0
    /// An endpoint that kept sending after its peer reset (the RST never reached it).
    var keptTalking: Role? = nil
    var keptTalkingFrame: FrameRef? = nil
    /// SYNs that took over a 4-tuple still in TIME_WAIT.
    var reuseInTimeWaitFrames: [FrameRef] = []
    var final: FinalFacts? = nil

    init(_ s: ConnectionSummary) {
        ref = s.ref
        client = s.client
        server = s.server
        firstTime = s.firstTime
        lastTime = s.lastTime
        midstream = s.midstream
    }

    subscript(_ role: Role) -> EndpointNotes {
        get { role == .client ? client_ : server_ }
        _modify { if role == .client { yield &client_ } else { yield &server_ } }
    }

    /// Packets the server sent, once known (nil while the connection is open).
    var packetsFromServer: UInt64? { final?.packetsFromServer }

    func consume(_ event: TrackerEvent) {
        switch event {
        case .opened(let s):
            midstream = s.midstream
        case .transition(let t):
            lastTime = max(lastTime, t.time)
            self[t.endpoint].enter(t)
            switch (t.endpoint, t.cause) {
            case (.client, .sentSyn): addSyn(t.frame, t.time)
            case (.server, .sentSynAck): addSynAck(t.frame, t.time)
            case (_, .sentRst):
                if self[t.endpoint].resetFrame == nil {
                    self[t.endpoint].resetFrame = t.frame
                    self[t.endpoint].resetTime = t.time
                    self[t.endpoint].resetFrom = t.from
                }
            default: break
            }
        case .confirmation(let c):
            lastTime = max(lastTime, c.time)
            self[c.endpoint].confirm(c)
            if c.endpoint == .client, c.state == .established, !synAckFrames.isEmpty, clientAckFrame == nil { clientAckFrame = c.frame }
        case .anomaly(let a):
            lastTime = max(lastTime, a.time)
            anomaly(a)
        case .finished(let s):
            lastTime = max(lastTime, s.lastTime)
            midstream = s.midstream
            final = FinalFacts(s)
        }
    }

    func anomaly(_ a: Anomaly) {
        switch a.code {
        case .synRetransmission where a.endpoint == .client: addSyn(a.frame, a.time)
        case .synAckRetransmission where a.endpoint == .server: addSynAck(a.frame, a.time)
        case .refused: if refusedFrame == nil { refusedFrame = a.frame }
        case .peerUnresponsive:
            if vanished == nil {
                vanished = a.endpoint
                vanishedFrame = a.frame
                vanishedCount = a.actual ?? 0
                vanishedTime = a.time
            }
        case .trafficAfterPeerReset:
            if keptTalking == nil { keptTalking = a.endpoint; keptTalkingFrame = a.frame }
        case .retransmission:
            self[a.endpoint].retransmissions += 1
            if let f = a.frame, self[a.endpoint].retransmissionFrames.count < 20 { self[a.endpoint].retransmissionFrames.append(f) }
        case .keepAlive:
            self[a.endpoint].addKeepAlive(a.frame, a.time)
        case .reuseInTimeWait:
            if let f = a.frame { reuseInTimeWaitFrames.append(f) }
        case .zeroWindow:
            self[a.endpoint].startZeroWindow(ZeroWindowRun(frame: a.frame, time: a.time))
        case .zeroWindowProbe:
            // A probe from this endpoint into its peer's zero window.
            let r = a.endpoint.peer
            if self[r].zeroWindow != nil {
                self[r].zeroWindow?.probes += 1
                self[r].zeroWindow?.lastProbeFrame = a.frame
                self[r].zeroWindow?.lastProbeTime = a.time
            }
        default: break
        }
    }

    func addSyn(_ f: FrameRef?, _ t: Int64) {
        if let f, !synFrames.contains(f) { synFrames.append(f) }
        if firstSynTime == nil { firstSynTime = t }
        lastSynTime = t
    }

    func addSynAck(_ f: FrameRef?, _ t: Int64) {
        if let f, !synAckFrames.contains(f) { synAckFrames.append(f) }
        if firstSynAckTime == nil { firstSynAckTime = t }
        lastSynAckTime = t
    }
}
