import WireStateTracker

/// One diagnosis: what is wrong with one subject, proven by frames, with what to do about it.
public struct Finding: Sendable, Equatable {
    public var code: DiagnosisCode
    public var severity: DiagnosisSeverity
    public var subjectKind: DiagnosisSubject
    /// `10.0.0.5:8080` for a listener, `10.0.0.7` for a host.
    public var subject: String
    /// The other side when the subject is a host (the `addr:port` it talks to), else nil.
    public var peer: String?
    /// What is wrong, in one sentence.
    public var summary: String
    /// `observed` when the frames prove it; `inferred` when part of it rests on what the capture
    /// does not show (a FIN presumed delivered, a one-sided capture, a peer presumed gone): the
    /// evidence lines then say which part.
    public var evidence: Evidence
    /// Counts, durations, frames and connection ids, one sentence each.
    public var details: [String]
    /// Connections involved (run-wide ids, as `analyze` numbers them), at most `listLimit`.
    public var connections: [UInt64]
    /// How many connections are involved in all.
    public var connectionCount: Int
    /// Frames that prove it, at most `listLimit`, in capture order.
    public var frames: [FrameRef]
    /// The longest time the symptom was held (nil when it is not a duration).
    public var durationNanos: Int64?
    /// The threshold it was measured against (nil when none applies).
    public var thresholdNanos: Int64?
    public var firstTime: Int64
    public var lastTime: Int64
    public var causes: [String]
    public var nextSteps: [String]
    /// A finer group within one code and subject, or nil: abortive-close reports its resets after
    /// an idle period (`idle`) apart from the others. Not a field of the JSON record: there the
    /// idle group is the one with `threshold_ns` (`--idle-reset`) and `duration_ns` (the longest idle).
    public var label: String? = nil

    /// Ranking: severity, then the code's importance, then the subject, so output is stable.
    static func ranked(_ a: Finding, _ b: Finding) -> Bool {
        if a.severity != b.severity { return a.severity > b.severity }
        if a.code != b.code { return a.code < b.code }
        if a.subject != b.subject { return a.subject < b.subject }
        if a.peer != b.peer { return (a.peer ?? "") < (b.peer ?? "") }
        return (a.label ?? "") < (b.label ?? "")
    }
}
