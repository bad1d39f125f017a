import WireStateTracker

/// How long each endpoint spent in each RFC 9293 state, in nanoseconds of capture time.
public struct StateTimes: Sendable, Equatable {
    public var client = [Int64](repeating: 0, count: TCPState.allCases.count)
    public var server = [Int64](repeating: 0, count: TCPState.allCases.count)

    public init() {}

    public subscript(role: Role, state: TCPState) -> Int64 {
        get { role == .client ? client[Int(state.rawValue)] : server[Int(state.rawValue)] }
        set { if role == .client { client[Int(state.rawValue)] = newValue } else { server[Int(state.rawValue)] = newValue } }
    }
}

/// Times states from the event stream, so the tracker's hot path pays nothing for it: each
/// transition closes the interval of the state it leaves; the final state runs to the
/// connection's last segment (or its last timed transition, such as TIME_WAIT expiry, if later).
/// Holds one entry per connection still open, dropped when the connection finishes; it also
/// remembers each open connection's `uid` for the records that name it.
public struct StateClock {
    struct Running {
        var uid: String?
        var times = StateTimes()
        var since: (client: Int64, server: Int64)
    }

    private var running: [UInt64: Running] = [:]
    /// Whether to compute uids as connections open (a SHA-1 each): the text report needs none.
    public var keepsUIDs: Bool

    public init(keepsUIDs: Bool = true) {
        self.keepsUIDs = keepsUIDs
    }

    public var openCount: Int { running.count }

    /// The uid of a connection still open (nil once it finished, or if never seen opening).
    public func uid(_ id: UInt64) -> String? { running[id]?.uid }

    public mutating func consume(_ event: TrackerEvent) {
        switch event {
        case .opened(let s):
            running[s.ref.id] = Running(uid: keepsUIDs ? ConnectionUID.make(s) : nil, since: (s.firstTime, s.firstTime))
        case .transition(let t):
            guard var r = running[t.connection.id] else { return }
            if t.endpoint == .client {
                r.times[.client, t.from] = CaptureTime.adding(max(0, CaptureTime.elapsed(from: r.since.client, to: t.time)), to: r.times[.client, t.from])
                r.since.client = max(r.since.client, t.time)
            } else {
                r.times[.server, t.from] = CaptureTime.adding(max(0, CaptureTime.elapsed(from: r.since.server, to: t.time)), to: r.times[.server, t.from])
                r.since.server = max(r.since.server, t.time)
            }
            running[t.connection.id] = r
        default:
            break
        }
    }

    /// Closes the connection's clock and returns its times only (no uid computed).
    public mutating func finishTimes(_ s: ConnectionSummary) -> StateTimes {
        guard var r = running.removeValue(forKey: s.ref.id) else { return StateTimes() }
        Self.close(&r, s)
        return r.times
    }

    /// Closes the connection's clock and returns its uid and times.
    public mutating func finish(_ s: ConnectionSummary) -> (uid: String, times: StateTimes) {
        guard var r = running.removeValue(forKey: s.ref.id) else {
            return (ConnectionUID.make(s), StateTimes())
        }
        Self.close(&r, s)
        return (r.uid ?? ConnectionUID.make(s), r.times)
    }

    /// The final states run to the last segment. Saturating: capture times can be 2⁶³ ns apart.
    private static func close(_ r: inout Running, _ s: ConnectionSummary) {
        r.times[.client, s.clientState] = CaptureTime.adding(max(0, CaptureTime.elapsed(from: r.since.client, to: s.lastTime)),
                                                             to: r.times[.client, s.clientState])
        r.times[.server, s.serverState] = CaptureTime.adding(max(0, CaptureTime.elapsed(from: r.since.server, to: s.lastTime)),
                                                             to: r.times[.server, s.serverState])
    }
}
