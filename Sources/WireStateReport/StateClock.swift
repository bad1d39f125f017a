import WireStateTracker

/// How long each endpoint spent in each RFC 9293 state, in nanoseconds of capture time.
/// Stored inline (22 values, client's then server's, by `TCPState.rawValue`): one per open
/// connection and one per transition updated, so heap arrays here cost two allocations per
/// connection and a copy-on-write per transition.
public struct StateTimes: Sendable, Equatable {
    private var values:
        (
            Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64,
            Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64
        ) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    public init() {}

    public subscript(role: Role, state: TCPState) -> Int64 {
        get {
            let i = (role == .client ? 0 : 11) + min(Int(state.rawValue), 10)
            return withUnsafeBytes(of: values) { $0.load(fromByteOffset: i * 8, as: Int64.self) }
        }
        set {
            let i = (role == .client ? 0 : 11) + min(Int(state.rawValue), 10)
            withUnsafeMutableBytes(of: &values) { $0.storeBytes(of: newValue, toByteOffset: i * 8, as: Int64.self) }
        }
    }

    /// Adds `other`'s time in every state, saturating (`CaptureTime.adding`), in place: the
    /// subscript copies the whole value (176 bytes) out to read one entry, and the run's summary
    /// added 22 entries per connection.
    public mutating func add(_ other: StateTimes) {
        withUnsafeMutableBytes(of: &values) { to in
            withUnsafeBytes(of: other.values) { from in
                for i in 0..<22 {
                    let sum = CaptureTime.adding(
                        from.load(fromByteOffset: i * 8, as: Int64.self), to: to.load(fromByteOffset: i * 8, as: Int64.self))
                    to.storeBytes(of: sum, toByteOffset: i * 8, as: Int64.self)
                }
            }
        }
    }

    /// One role's times, in the order of `TCPState.allCases`, valid during `body` (one copy of the
    /// value for all eleven, instead of one per subscript).
    public func withTimes<R>(of role: Role, _ body: (UnsafeBufferPointer<Int64>) -> R) -> R {
        withUnsafeBytes(of: values) { raw in
            let all = raw.bindMemory(to: Int64.self)
            return body(UnsafeBufferPointer(rebasing: all[(role == .client ? 0 : 11)..<(role == .client ? 11 : 22)]))
        }
    }

    public static func == (a: StateTimes, b: StateTimes) -> Bool {
        withUnsafeBytes(of: a.values) { x in withUnsafeBytes(of: b.values) { y in x.elementsEqual(y) } }
    }
}

/// Times states from the event stream, so the tracker's hot path pays nothing for it: each
/// transition closes the interval of the state it leaves; the final state runs to the
/// connection's last segment (or its last timed transition, such as TIME_WAIT expiry, if later).
/// Holds one entry per connection still open, dropped when the connection finishes; it also
/// remembers each open connection's `uid` for the records that name it.
public struct StateClock {
    struct Running {
        var uid: UIDText?
        var times = StateTimes()
        var since: (client: Int64, server: Int64)

        /// Closes the interval `role` spent in `state`, ending at `time`.
        mutating func leave(_ state: TCPState, of role: Role, at time: Int64) {
            let start = role == .client ? since.client : since.server
            times[role, state] = CaptureTime.adding(max(0, CaptureTime.elapsed(from: start, to: time)), to: times[role, state])
            if role == .client { since.client = max(since.client, time) } else { since.server = max(since.server, time) }
        }
    }

    private var running: [ConnectionKey: Running] = [:]
    /// Whether to compute uids as connections open (a SHA-1 each): the text report needs none.
    public var keepsUIDs: Bool

    public init(keepsUIDs: Bool = true) {
        self.keepsUIDs = keepsUIDs
    }

    public var openCount: Int { running.count }

    /// The uid of a connection still open (nil once it finished, or if never seen opening).
    public func uid(_ id: UInt64) -> String? { running[ConnectionKey(id)]?.uid?.string }

    /// The uid of a connection still open, inline (one lookup, no string).
    func uidText(_ id: UInt64) -> UIDText? { running[ConnectionKey(id)]?.uid }

    public mutating func consume(_ event: TrackerEvent) {
        switch event {
        case .opened(let s):
            running[ConnectionKey(s.ref.id)] = Running(uid: keepsUIDs ? ConnectionUID.text(s) : nil, since: (s.firstTime, s.firstTime))
        case .transition(let t):
            _ = transition(t)
        default:
            break
        }
    }

    /// A transition closes the interval of the state it leaves; returns the connection's uid.
    /// One hash lookup, the entry changed in place (a copy out of the dictionary and back costs
    /// a second lookup and two copies of its 200 bytes).
    @discardableResult
    mutating func transition(_ t: Transition) -> UIDText? {
        guard let i = running.index(forKey: ConnectionKey(t.connection.id)) else { return nil }
        running.values[i].leave(t.from, of: t.endpoint, at: t.time)
        return running.values[i].uid
    }

    /// Closes the connection's clock and returns its times only (no uid computed).
    public mutating func finishTimes(_ s: ConnectionSummary) -> StateTimes {
        guard var r = running.removeValue(forKey: ConnectionKey(s.ref.id)) else { return StateTimes() }
        Self.close(&r, s)
        return r.times
    }

    /// Closes the connection's clock and returns its uid and times.
    public mutating func finish(_ s: ConnectionSummary) -> (uid: String, times: StateTimes) {
        let (uid, times) = finishText(s)
        return (uid.string, times)
    }

    /// `finish`, with the uid inline.
    mutating func finishText(_ s: ConnectionSummary) -> (uid: UIDText, times: StateTimes) {
        guard var r = running.removeValue(forKey: ConnectionKey(s.ref.id)) else {
            return (ConnectionUID.text(s), StateTimes())
        }
        Self.close(&r, s)
        return (r.uid ?? ConnectionUID.text(s), r.times)
    }

    /// The final states run to the last segment. Saturating: capture times can be 2⁶³ ns apart.
    private static func close(_ r: inout Running, _ s: ConnectionSummary) {
        r.times[.client, s.clientState] = CaptureTime.adding(
            max(0, CaptureTime.elapsed(from: r.since.client, to: s.lastTime)),
            to: r.times[.client, s.clientState])
        r.times[.server, s.serverState] = CaptureTime.adding(
            max(0, CaptureTime.elapsed(from: r.since.server, to: s.lastTime)),
            to: r.times[.server, s.serverState])
    }
}
