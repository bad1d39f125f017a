import WireStateTracker

/// Where an event stands in the order of a run that sees every flow, comparable across the runs
/// of different shards of the same input (`wirestate merge`, `--threads`, docs/scaling.md).
///
/// Every shard counts every TCP segment of the input, its own or not, so `step` names the same
/// segment in all of them. Events of one step come in phases: the deadlines that came due, then
/// the segment's own connection; an input's end (at the count of segments read so far) reports
/// its due deadlines, then every held connection. Within a phase of deadlines, one run takes them
/// by deadline time, then by connection number, which is the order of the connections' creation
/// steps; so (step, phase, deadline, creation step of the event's connection) orders the events
/// of all shards as one run does, and events with equal keys all come from one shard, in order.
public struct EventOrder: Sendable, Equatable {
    /// The segment (counted from 1 over the whole input, fragments reassembled) during which the
    /// event happened; at an input's end, the count of segments read.
    public var step: UInt64
    public var phase: Phase
    /// The deadline that came due (`Phase.deadline`, `.endDeadline`), else 0.
    public var deadline: Int64
    /// The step that created the event's connection: ranks connections as one run numbers them.
    public var created: UInt64

    public enum Phase: UInt8, Sendable {
        case deadline = 0, segment = 1, endDeadline = 2, end = 3
    }

    public init(step: UInt64, phase: Phase, deadline: Int64 = 0, created: UInt64 = 0) {
        self.step = step
        self.phase = phase
        self.deadline = deadline
        self.created = created
    }

    /// The place of the events of an origin the tracker recorded at `step` (at an input's end
    /// when `ending`).
    public init(_ origin: EventOrigin.Kind, step: UInt64, ending: Bool) {
        switch origin {
        case .deadline(let d): self.init(step: step, phase: ending ? .endDeadline : .deadline, deadline: d)
        // After every due deadline of its step (an input's end, or a live tick, when `ending`).
        case .idle: self.init(step: step, phase: ending ? .endDeadline : .deadline, deadline: .max)
        case .segment: self.init(step: step, phase: .segment)
        case .end: self.init(step: step, phase: .end)
        }
    }

    /// Whether one run gives `a` before `b`, for events of different shards (or workers). A
    /// segment's events all belong to one shard, which wrote them in order, so there the creation
    /// step plays no part (a new connection's events come before those of the one it evicted).
    @inline(__always)
    public static func precedes(_ a: EventOrder, _ b: EventOrder) -> Bool {
        if (a.step, a.phase.rawValue, a.deadline) != (b.step, b.phase.rawValue, b.deadline) {
            return (a.step, a.phase.rawValue, a.deadline) < (b.step, b.phase.rawValue, b.deadline)
        }
        return a.phase == .segment ? false : a.created < b.created
    }
}

/// Gives each event of a tracker step its `EventOrder`, from the tracker's origins and the step
/// that created each open connection (kept here, per open connection, dropped when it finishes).
/// `Pipeline` (for the sink's merge keys) and each `--threads` worker keep one.
struct EventTagger {
    private var created: [UInt64: UInt64] = [:]

    /// Calls `body` with each event's index in `events` and its place, in order.
    mutating func tag(
        _ events: [TrackerEvent], _ origins: [EventOrigin], step: UInt64, ending: Bool, _ body: (Int, EventOrder) -> Void
    ) {
        var next = 0
        var position = EventOrder(step: step, phase: ending ? .end : .segment)
        for (i, event) in events.enumerated() {
            while next < origins.count, origins[next].firstEvent <= i {
                position = EventOrder(origins[next].kind, step: step, ending: ending)
                next += 1
            }
            switch event {
            case .opened(let s):
                created[s.ref.id] = step
                position.created = step
            case .finished(let s): position.created = created.removeValue(forKey: s.ref.id) ?? step
            case .transition(let t): position.created = created[t.connection.id] ?? step
            case .confirmation(let c): position.created = created[c.connection.id] ?? step
            case .anomaly(let a): position.created = created[a.connection.id] ?? step
            }
            body(i, position)
        }
    }
}
