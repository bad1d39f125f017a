/// What a rule found during a step: everything its `Anomaly` says except the endpoints' states.
///
/// The states after the step are known only once the step is over, so a rule cannot build the
/// anomaly itself. It records a `Finding`, a type with no state fields, and `Connection.finishStep`
/// builds each anomaly once, whole, with both endpoints' states before and after the step: no
/// anomaly is ever stored half built and patched later.
struct Finding {
    var code: AnomalyCode
    /// The endpoint it is about.
    var endpoint: Role
    var frame: FrameRef?
    var relatedFrame: FrameRef?
    var time: Int64
    var expected: UInt32?
    var actual: UInt32?
    /// Where its anomaly goes in the events: how many events came before it, so that anomalies keep
    /// their order among the step's transitions and confirmations.
    var position: Int
}

/// Where a step writes: the events, in order, and the findings of the step in progress.
///
/// Both buffers belong to the tracker and keep their capacity (the caller drains `events`;
/// `finishStep` empties `findings`), so steady-state tracking allocates nothing per packet.
/// Functions that only change state and never find anything (TIME_WAIT expiry, a new incarnation
/// taking over, the end of a listener) take the events alone, so the compiler shows they report
/// nothing outside a step.
struct StepOutput {
    var events: [TrackerEvent] = []
    private(set) var findings: [Finding] = []

    init() {
        events.reserveCapacity(64)
        findings.reserveCapacity(16)
    }

    /// A finding about `role` at the step's frame.
    mutating func report(
        _ code: AnomalyCode, about role: Role, _ ctx: StepContext, expected: UInt32?, actual: UInt32?,
        related: FrameRef?
    ) {
        findings.append(
            Finding(
                code: code, endpoint: role, frame: ctx.frame, relatedFrame: related, time: ctx.time,
                expected: expected, actual: actual, position: events.count))
    }

    /// Empties the findings (keeping their capacity) once `Connection.finishStep` has built them.
    /// Most steps find nothing, and `removeAll` costs about 50 instructions even on an empty array.
    @inline(__always)
    mutating func clearFindings() { if !findings.isEmpty { findings.removeAll(keepingCapacity: true) } }
}
