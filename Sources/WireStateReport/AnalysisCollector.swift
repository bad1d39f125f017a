import WireStateDecoder
import WireStatePipeline
import WireStateTracker

/// Keeps what the text reports need: every finished connection, and (on request) each one's
/// transitions and anomalies. Memory grows with the number of connections, which is what a
/// table of all connections costs; live mode streams instead.
public struct AnalysisCollector: EventSink {
    public var keepTimeline: Bool
    public private(set) var connections: [ConnectionSummary] = []
    public private(set) var transitions: [UInt64: [Transition]] = [:]
    public private(set) var anomalies: [UInt64: [Anomaly]] = [:]
    /// Per connection, transitions, confirmations and anomalies in the order the tracker emitted them.
    public private(set) var timeline: [UInt64: [TrackerEvent]] = [:]
    public private(set) var firstTime: Int64?
    /// The run's tunnel table (`ConnectionSummary.tunnelID`).
    public private(set) var tunnels: [TunnelPath] = []
    /// Time per state of each finished connection, by id (the clock holds only open ones).
    public private(set) var stateTimes: [UInt64: StateTimes] = [:]
    private var clock = StateClock(keepsUIDs: false)

    public init(keepTimeline: Bool = true) {
        self.keepTimeline = keepTimeline
    }

    public mutating func tunnelsChanged(_ paths: [TunnelPath]) { tunnels = paths }

    /// The tunnels `c` was seen in (empty on a plain link).
    public func tunnel(of c: ConnectionSummary) -> TunnelPath { TunnelFormat.path(c.tunnelID, in: tunnels) }

    public mutating func consume(_ event: TrackerEvent) {
        clock.consume(event)
        switch event {
        case .opened(let s):
            if firstTime == nil || s.firstTime < firstTime! { firstTime = s.firstTime }
        case .transition(let t):
            if keepTimeline {
                transitions[t.connection.id, default: []].append(t)
                timeline[t.connection.id, default: []].append(event)
            }
        case .confirmation(let c):
            if keepTimeline { timeline[c.connection.id, default: []].append(event) }
        case .anomaly(let a):
            anomalies[a.connection.id, default: []].append(a)
            if keepTimeline { timeline[a.connection.id, default: []].append(event) }
        case .finished(let s):
            connections.append(s)
            stateTimes[s.ref.id] = clock.finishTimes(s)
        }
    }

    /// Connections in the order they were first seen. After `sortByID` this is `connections`
    /// itself, shared, not a sorted copy (a copy is 512 bytes a connection, and the text report
    /// asked for one three times).
    public var sortedConnections: [ConnectionSummary] {
        if isSortedByID { return connections }
        return connections.sorted { $0.ref.id < $1.ref.id }
    }

    private var isSortedByID: Bool {
        var previous: UInt64 = 0
        for c in connections {
            if c.ref.id < previous { return false }
            previous = c.ref.id
        }
        return true
    }

    /// Puts `connections` in the order they were first seen, in place, once the run is over.
    public mutating func sortByID() {
        if !isSortedByID { connections.sort { $0.ref.id < $1.ref.id } }
    }
}
