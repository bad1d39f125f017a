import WireStatePipeline
import WireStateTracker

/// Collects what the findings need from the tracker's events, and evaluates the findings on
/// demand (at the end of a file run, or whenever a live display asks).
///
/// Pure: no I/O, no clock; time is the capture's. It keeps a few frames and intervals per
/// connection (`ConnectionNotes`), never packets, and nothing of the tracker's state.
public struct DiagnosisCollector: EventSink {
    public var options: DiagnoseOptions
    /// Input names by source index, to name frames when there are several files.
    public var sourceNames: [String] = []
    /// In the order connections opened (so by id), with where each id is.
    var notes: [ConnectionNotes] = []
    var index: [UInt64: Int] = [:]
    /// The latest capture time any event or connection reached: "now", for a state still held.
    public private(set) var endTime: Int64? = nil
    public private(set) var startTime: Int64? = nil
    /// Connections seen in all (including those already dropped by `forgetFinished`).
    public private(set) var connectionCount = 0

    public init(options: DiagnoseOptions = DiagnoseOptions()) {
        self.options = options
    }

    public mutating func consume(_ event: TrackerEvent) {
        switch event {
        case .opened(let s):
            index[s.ref.id] = notes.count
            notes.append(ConnectionNotes(s))
            connectionCount += 1
            seen(s.firstTime)
        case .transition(let t):
            deliver(event, to: t.connection.id)
            seen(t.time)
        case .confirmation(let c):
            deliver(event, to: c.connection.id)
            seen(c.time)
        case .anomaly(let a):
            deliver(event, to: a.connection.id)
            seen(a.time)
        case .finished(let s):
            if index[s.ref.id] == nil {
                index[s.ref.id] = notes.count
                notes.append(ConnectionNotes(s))
            }
            deliver(event, to: s.ref.id)
            seen(s.lastTime)
        }
    }

    private mutating func deliver(_ event: TrackerEvent, to id: UInt64) {
        guard let i = index[id] else { return }
        notes[i].consume(event)
    }

    /// Live capture: time moves on without packets, so a state held since is held longer.
    public mutating func advance(to now: Int64) { seen(now) }

    private mutating func seen(_ t: Int64) {
        if endTime.map({ t > $0 }) ?? true { endTime = t }
        if startTime.map({ t < $0 }) ?? true { startTime = t }
    }

    /// Live capture: drops finished connections that ended before `horizon` and that no finding
    /// can still need, so memory follows the connections of the recent past.
    public mutating func forgetFinished(before horizon: Int64) {
        guard notes.contains(where: { $0.final != nil && $0.lastTime < horizon }) else { return }
        notes.removeAll { $0.final != nil && $0.lastTime < horizon }
        index = [:]
        for (i, n) in notes.enumerated() { index[n.ref.id] = i }
    }

    /// The findings as of the latest time seen, ranked: severity, then importance, then subject.
    public func findings() -> [Finding] {
        var d = Diagnoser(options: options, notes: notes, end: endTime ?? 0, sourceNames: sourceNames)
        return d.run().sorted(by: Finding.ranked)
    }
}
