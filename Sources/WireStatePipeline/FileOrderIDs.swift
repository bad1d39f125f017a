import WireStateDecoder
import WireStateTracker

/// Connection ids that are the file's own order whether or not `--filter` narrowed it.
///
/// The tracker numbers connections as it meets them, so a filter that hides earlier connections
/// would renumber the rest, and `--connection 7` would name a different connection with and without
/// it. With a filter, a second tracker (the shadow) is fed every frame, matched or not, and numbers
/// connections exactly as an unfiltered run does; when the filtered tracker opens a connection, it
/// is at the same frame as the shadow's connection on the same 4-tuple and tunnel, whose id it
/// takes. Only `--filter` runs pay for it (a second tracking pass, no second read or decode); the
/// lookup is per connection, not per packet.
struct FileOrderIDs {
    var shadow: ConnectionTracker
    /// The shadow's current connection per flow, endpoints in a fixed order.
    private var current: [Flow: ConnectionRef] = [:]
    /// Filtered tracker id → the file's own.
    private var renumbered: [UInt64: ConnectionRef] = [:]

    struct Flow: Hashable {
        var a: SocketAddress, b: SocketAddress
        var tunnel: TunnelPath?
    }

    init(configuration: ConnectionTracker.Configuration) {
        shadow = ConnectionTracker(configuration: configuration)
    }

    static func flow(_ s: ConnectionSummary, tunnels: [TunnelPath]) -> Flow {
        let t = s.tunnelID != 0 && Int(s.tunnelID) - 1 < tunnels.count ? tunnels[Int(s.tunnelID) - 1] : nil
        let (a, b) = s.client.description <= s.server.description ? (s.client, s.server) : (s.server, s.client)
        return Flow(a: a, b: b, tunnel: t)
    }

    mutating func process(_ segment: TCPSegment, frame: FrameRef, time: Int64) {
        shadow.process(segment, frame: frame, time: time)
        drainShadow()
    }

    mutating func sweep(now: Int64) { shadow.sweep(now: now); drainShadow() }
    mutating func finish() { shadow.finish(); drainShadow() }

    private mutating func drainShadow() {
        guard !shadow.events.isEmpty else { return }
        for e in shadow.events {
            switch e {
            case .opened(let s):
                current[Self.flow(s, tunnels: shadow.tunnelPaths)] = s.ref
            case .finished(let s):
                // Memory stays with the connections held, as the tracker's own does.
                let flow = Self.flow(s, tunnels: shadow.tunnelPaths)
                if current[flow] == s.ref { current.removeValue(forKey: flow) }
            default:
                break
            }
        }
        shadow.events.removeAll(keepingCapacity: true)
    }

    /// `event` from the filtered tracker with the file's own connection id.
    mutating func renumber(_ event: TrackerEvent, tunnels: [TunnelPath]) -> TrackerEvent {
        switch event {
        case .opened(var s):
            let own = current[Self.flow(s, tunnels: tunnels)] ?? s.ref
            renumbered[s.ref.id] = own
            s.ref = own
            return .opened(s)
        case .finished(var s):
            s.ref = renumbered.removeValue(forKey: s.ref.id) ?? s.ref
            return .finished(s)
        case .transition(var t):
            t.connection = renumbered[t.connection.id] ?? t.connection
            return .transition(t)
        case .confirmation(var c):
            c.connection = renumbered[c.connection.id] ?? c.connection
            return .confirmation(c)
        case .anomaly(var a):
            a.connection = renumbered[a.connection.id] ?? a.connection
            return .anomaly(a)
        }
    }
}
