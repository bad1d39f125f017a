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

    /// The 4-tuple with the lower endpoint first, so both directions find the same entry.
    struct FlowKey: Hashable {
        var a: SocketAddress
        var b: SocketAddress
        init(_ x: SocketAddress, _ y: SocketAddress) {
            if (x.address, x.port) < (y.address, y.port) { a = x; b = y } else { a = y; b = x }
        }
    }

    public var configuration: Configuration
    /// Events produced since the caller last drained them.
    public var events: [TrackerEvent] = []
    var table: [FlowKey: Connection] = [:]
    var nextID: UInt64 = 1
    var nextSweep: Int64 = .min
    var lastTime: Int64 = 0
    private var evictions: [FlowKey] = []

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        events.reserveCapacity(64)
    }

    /// Connections currently held (active, in TIME_WAIT, or lingering after close).
    public var connectionCount: Int { table.count }

    /// Feeds one decoded segment seen at `time` (nanoseconds) in `frame`.
    public mutating func process(_ s: TCPSegment, frame: FrameRef, time: Int64) {
        if time > lastTime { lastTime = time }
        if time >= nextSweep {
            sweep(now: time)
            nextSweep = time + configuration.sweepInterval
        }
        let key = FlowKey(s.source, s.destination)
        if table[key] != nil {
            // Expiry first, so a SYN after 2·MSL finds CLOSED, not TIME_WAIT.
            table[key]!.expire(at: time, msl: configuration.msl, &events)
            if let reuse = reuseVerdict(table[key]!, s) {
                retire(key, reason: .reused)
                start(key, s, frame: frame, time: time, incarnation: reuse.incarnation, inTimeWait: reuse.inTimeWait)
                return
            }
            let fromClient = table[key]!.summary.client == s.source
            let ctx = StepContext(ref: table[key]!.ref, frame: frame, time: time)
            table[key]!.process(s, fromClient: fromClient, ctx, &events)
        } else {
            start(key, s, frame: frame, time: time, incarnation: 1, inTimeWait: false)
        }
    }

    /// A bare SYN with a new ISN from an endpoint that is CLOSED or in TIME_WAIT, on a tuple whose
    /// other endpoint is also CLOSED or in TIME_WAIT, starts a new incarnation (RFC 6191; anchors §0.5).
    /// The same ISN is a retransmission of the old SYN and stays with the old connection.
    func reuseVerdict(_ c: Connection, _ s: TCPSegment) -> (incarnation: UInt32, inTimeWait: Bool)? {
        guard s.flags.contains(.syn), !s.flags.contains(.ack), !s.flags.contains(.rst), !s.flags.contains(.fin)
        else { return nil }
        let fromClient = c.summary.client == s.source
        let sender = fromClient ? c.client : c.server
        let receiver = fromClient ? c.server : c.client
        let done: (TCPState) -> Bool = { $0 == .closed || $0 == .timeWait }
        guard done(sender.state), done(receiver.state) else { return nil }
        guard sender.active || receiver.active else { return nil }
        if sender.sentSyn && !sender.sentSynAck && s.sequence == sender.iss { return nil }
        return (c.ref.incarnation + 1, sender.state == .timeWait || receiver.state == .timeWait)
    }

    private mutating func start(_ key: FlowKey, _ s: TCPSegment, frame: FrameRef, time: Int64,
                                incarnation: UInt32, inTimeWait: Bool) {
        let ref = ConnectionRef(id: nextID, incarnation: incarnation)
        nextID += 1
        let (clientIsSource, guessed) = Self.chooseClient(s)
        let ctx = StepContext(ref: ref, frame: frame, time: time)
        var c = Connection(first: s, ref: ref, clientIsSource: clientIsSource, guessed: guessed, ctx)
        events.append(.opened(c.summary))
        let mark = events.count
        if incarnation > 1 {
            c.client.emit(.portReuse, ctx, &events, actual: incarnation)
            if inTimeWait { c.client.emit(.reuseInTimeWait, ctx, &events) }
            c.stamp(out: &events, from: mark, before: (.closed, .closed))
        }
        c.pickUp(s, fromClient: clientIsSource, ctx, &events)
        c.process(s, fromClient: clientIsSource, ctx, &events)
        table[key] = c
    }

    /// Who is the client: the sender of a bare SYN; the receiver of a SYN+ACK; otherwise guessed
    /// from the ports (a well-known or lower port is the server's), as Zeek and Suricata do.
    static func chooseClient(_ s: TCPSegment) -> (clientIsSource: Bool, guessed: Bool) {
        if s.flags.contains(.syn) && !s.flags.contains(.rst) && !s.flags.contains(.fin) {
            return (!s.flags.contains(.ack), false)
        }
        let sp = s.source.port, dp = s.destination.port
        if dp < 1024 && sp >= 1024 { return (true, true) }
        if sp < 1024 && dp >= 1024 { return (false, true) }
        if dp != sp { return (dp < sp, true) }
        return (true, true)
    }

    /// Expires TIME_WAIT and retires finished or idle connections, as of capture time `now`.
    public mutating func sweep(now: Int64) {
        evictions.removeAll(keepingCapacity: true)
        var i = table.startIndex
        while i != table.endIndex {
            table.values[i].expire(at: now, msl: configuration.msl, &events)
            let c = table.values[i]
            if let closedAt = c.closedAt, now - closedAt >= configuration.closedLinger {
                evictions.append(table.keys[i])
            } else if let idle = configuration.idleTimeout, now - c.summary.lastTime >= idle {
                evictions.append(table.keys[i])
            }
            i = table.index(after: i)
        }
        for key in evictions {
            let reason: EndReason = table[key]?.closedAt != nil ? .closed : .idle
            retire(key, reason: reason)
        }
    }

    private mutating func retire(_ key: FlowKey, reason: EndReason) {
        guard var c = table.removeValue(forKey: key) else { return }
        c.checkOneSided(&events)
        events.append(.finished(c.finalSummary(reason)))
    }

    /// The input ended: TIME_WAIT is judged at the last timestamp seen, and every connection still
    /// held is reported, in the order connections were first seen.
    public mutating func finish() {
        sweep(now: lastTime)
        let remaining = table.sorted { $0.value.ref.id < $1.value.ref.id }
        for (key, value) in remaining {
            retire(key, reason: value.closedAt != nil ? .closed : .endOfCapture)
        }
    }

    /// Snapshots of the connections currently held (for live tables), in first-seen order.
    public func activeSummaries() -> [ConnectionSummary] {
        table.values.map { $0.finalSummary(.endOfCapture) }.sorted { $0.ref.id < $1.ref.id }
            .map { var s = $0; s.endReason = nil; return s }
    }
}
