import WireStateDecoder

/// The flow table: finds each segment's connection, runs it, and retires finished connections.
///
/// Pure and synchronous: segments in, `TrackerEvent`s out (appended to `events`, which the caller
/// drains; the buffer keeps its capacity, so steady-state tracking allocates nothing per packet).
/// Memory stays flat on endless input: connections leave the table when both endpoints are CLOSED
/// (after `closedLinger`, so stragglers join the right connection), when TIME_WAIT expires, or
/// after `idleTimeout` without packets.
public struct ConnectionTracker {
    public struct Configuration: Sendable {
        /// Maximum segment lifetime; TIME_WAIT lasts 2·MSL of capture time. Linux: 30 s (60 s TIME_WAIT).
        public var msl: Int64 = 30_000_000_000
        /// How long a connection with both endpoints CLOSED stays to collect stragglers.
        public var closedLinger: Int64 = 10_000_000_000
        /// Evict connections idle this long (nil: never; a saved capture is finite).
        public var idleTimeout: Int64? = nil
        /// How often (in capture time) the table is swept for expiries.
        public var sweepInterval: Int64 = 1_000_000_000

        public init(msl: Int64 = 30_000_000_000, closedLinger: Int64 = 10_000_000_000, idleTimeout: Int64? = nil) {
            self.msl = msl
            self.closedLinger = closedLinger
            self.idleTimeout = idleTimeout
        }
    }

    public var configuration: Configuration
    /// Events produced since the caller last drained them.
    public var events: [TrackerEvent] = []
    var table = FlowTable()
    var nextID: UInt64 = 1
    var nextSweep: Int64 = .min
    var lastTime: Int64 = 0
    private var evictions: [FlowKey] = []
    private var tunnels = TunnelInterner()

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        events.reserveCapacity(64)
    }

    /// Times are kept within ±2⁶² ns (±146 years around 1970) so that adding MSLs, lingers and
    /// sweep intervals can never overflow, whatever timestamps a damaged or crafted file carries.
    @inline(__always)
    static func clamp(_ t: Int64) -> Int64 { min(max(t, -(1 << 62)), 1 << 62) }

    /// Every tunnel path seen; `ConnectionSummary.tunnelID` n is entry n - 1.
    public var tunnelPaths: [TunnelPath] { tunnels.paths }

    /// Connections currently held (active, in TIME_WAIT, or lingering after close).
    public var connectionCount: Int { table.count }

    /// Feeds one decoded segment seen at `time` (nanoseconds) in `frame`.
    public mutating func process(_ s: TCPSegment, frame: FrameRef, time rawTime: Int64) {
        let time = Self.clamp(rawTime)
        if time > lastTime { lastTime = time }
        if time >= nextSweep {
            sweep(now: time)
            nextSweep = time + configuration.sweepInterval
        }
        let key = FlowKey(s.source, s.destination, tunnel: tunnels.id(s.tunnel))
        // One hash lookup; the connection is then changed in place through the index.
        if let index = table.index(of: key) {
            if let reuse = table.values[index].handle(s, frame: frame, time: time, msl: configuration.msl, &events) {
                retire(key, reason: .reused)
                start(key, s, frame: frame, time: time, incarnation: reuse.incarnation, inTimeWait: reuse.inTimeWait)
            }
        } else {
            start(key, s, frame: frame, time: time, incarnation: 1, inTimeWait: false)
        }
    }

    private mutating func start(_ key: FlowKey, _ s: TCPSegment, frame: FrameRef, time: Int64,
                                incarnation: UInt32, inTimeWait: Bool) {
        let ref = ConnectionRef(id: nextID, incarnation: incarnation)
        nextID += 1
        let (clientIsSource, guessed) = Self.chooseClient(s)
        let ctx = StepContext(ref: ref, frame: frame, time: time)
        var c = Connection(first: s, ref: ref, clientIsSource: clientIsSource, guessed: guessed, ctx)
        c.summary.tunnelID = key.tunnel
        events.append(.opened(c.summary))
        let mark = events.count
        if incarnation > 1 {
            c.client.emit(.portReuse, ctx, &events, actual: incarnation)
            if inTimeWait { c.client.emit(.reuseInTimeWait, ctx, &events) }
            c.stamp(out: &events, from: mark, before: (.closed, .closed))
        }
        c.pickUp(s, fromClient: clientIsSource, ctx, &events)
        c.process(s, fromClient: clientIsSource, ctx, &events)
        table.insert(key, c)
    }

    /// Who is the client: the sender of a bare SYN; the receiver of a SYN+ACK; otherwise guessed
    /// from the ports (a well-known or lower port is the server's), as Zeek and Suricata do.
    static func chooseClient(_ s: TCPSegment) -> (clientIsSource: Bool, guessed: Bool) {
        if s.flags.contains(.syn) && !s.flags.contains(.rst) {
            return (!s.flags.contains(.ack), false) // SYN+FIN too: its sender was opening
        }
        let sp = s.source.port, dp = s.destination.port
        if dp < 1024 && sp >= 1024 { return (true, true) }
        if sp < 1024 && dp >= 1024 { return (false, true) }
        if dp != sp { return (dp < sp, true) }
        return (true, true)
    }

    /// Expires TIME_WAIT and retires finished or idle connections, as of capture time `now`.
    public mutating func sweep(now rawNow: Int64) {
        let now = Self.clamp(rawNow)
        evictions.removeAll(keepingCapacity: true)
        for i in table.values.indices {
            table.values[i].expire(at: now, msl: configuration.msl, &events)
            if let closedAt = table.values[i].closedAt, now - closedAt >= configuration.closedLinger {
                evictions.append(table.keys[i])
            } else if let idle = configuration.idleTimeout, now - table.values[i].summary.lastTime >= idle {
                evictions.append(table.keys[i])
            }
        }
        for key in evictions {
            guard let i = table.index(of: key) else { continue }
            retire(key, reason: table.values[i].closedAt != nil ? .closed : .idle)
        }
    }

    private mutating func retire(_ key: FlowKey, reason: EndReason) {
        guard var c = table.remove(key) else { return }
        c.checkOneSided(&events)
        events.append(.finished(c.finalSummary(reason)))
    }

    /// The input ended: TIME_WAIT is judged at the last timestamp seen, and every connection still
    /// held is reported, in the order connections were first seen.
    public mutating func finish() {
        sweep(now: lastTime)
        // Sort small (id, key) pairs, not whole connections.
        var order: [(id: UInt64, key: FlowKey)] = []
        order.reserveCapacity(table.count)
        for i in table.values.indices { order.append((table.values[i].ref.id, table.keys[i])) }
        order.sort { $0.id < $1.id }
        for (_, key) in order {
            guard let i = table.index(of: key) else { continue }
            retire(key, reason: table.values[i].closedAt != nil ? .closed : .endOfCapture)
        }
    }

    /// Snapshots of the connections currently held (for live tables), in first-seen order.
    public func activeSummaries() -> [ConnectionSummary] {
        table.values.map { $0.finalSummary(.endOfCapture) }.sorted { $0.ref.id < $1.ref.id }
            .map { var s = $0; s.endReason = nil; return s }
    }
}
