import WireStateDecoder
import WireStatePipeline
import WireStateTracker

/// Keeps everything: every finished connection, and (on request) each one's transitions and
/// anomalies. For `wirestate diagram` (one connection, all of its events) and for tests that look
/// at a whole run. Memory grows with the number of connections: `analyze`'s text report uses
/// `TextReportSink`, which keeps only the rows it can show.
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

    public init(keepTimeline: Bool = true) {
        self.keepTimeline = keepTimeline
    }

    public mutating func tunnelsChanged(_ paths: [TunnelPath]) { tunnels = paths }

    /// The tunnels `c` was seen in (empty on a plain link).
    public func tunnel(of c: ConnectionSummary) -> TunnelPath { TunnelFormat.path(c.tunnelID, in: tunnels) }

    public mutating func consume(_ event: TrackerEvent) {
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
        }
    }

    /// Connections in the order they were first seen.
    public var sortedConnections: [ConnectionSummary] { connections.sorted { $0.ref.id < $1.ref.id } }
}
