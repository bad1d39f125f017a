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
        /// The most connections held at once (nil: no cap). When a new connection would exceed it,
        /// one is evicted first, in this order: the least recently active connection whose
        /// handshake never completed (or whose endpoints both closed), else the least recently
        /// active of all. Every eviction is counted and ends its connection with reason `evicted`.
        public var maxConnections: Int? = nil
        /// Whether each connection follows Zeek's view of it (`ConnectionFacts.zeek`: conn_state,
        /// history, byte counts), about 5% of the time per segment. Off, those stay empty; only an
        /// output that prints none of them turns it off (`analyze --quiet`). Nothing else changes.
        public var zeekView = true

        public init(
            msl: Int64 = 30_000_000_000, closedLinger: Int64 = 10_000_000_000, idleTimeout: Int64? = nil,
            maxConnections: Int? = nil, zeekView: Bool = true
        ) {
            self.msl = msl
            self.closedLinger = closedLinger
            self.idleTimeout = idleTimeout
            self.maxConnections = maxConnections
            self.zeekView = zeekView
        }
    }

    public var configuration: Configuration
    /// Events produced since the caller last drained them.
    public var events: [TrackerEvent] {
        get { output.events }
        set { output.events = newValue }
        // In place: draining with `removeAll(keepingCapacity:)` must not copy the buffer.
        _modify { yield &output.events }
    }
    /// The events and the findings of the step in progress (`StepOutput`).
    var output = StepOutput()
    var table = FlowTable()
    /// When time alone next changes a held connection (TIME_WAIT, linger after close).
    var deadlines = DeadlineQueue()
    var nextID: UInt64 = 1
    var lastTime: Int64 = 0
    /// Connections evicted to stay under `maxConnections`.
    public private(set) var evictedCount: UInt64 = 0
    /// The connections a `finishSome` in progress still has to retire, and the next one.
    private var finishing: (order: [(id: UInt64, key: FlowKey)], next: Int)?
    private var tunnels = TunnelInterner()
    /// Whether to record `origins` (runs whose output is merged afterwards: `--shard`). Off, it
    /// costs one untaken branch per deadline and per segment.
    public var recordsOrigins = false
    /// Where each run of `events` came from, in order, when `recordsOrigins` is on; the caller
    /// empties it with the events.
    public var origins: [EventOrigin] = []

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Times are kept within `CaptureTime.range` so that adding MSLs, lingers and idle timeouts can
    /// never overflow, whatever timestamps a damaged or crafted file carries.
    @inline(__always)
    static func clamp(_ t: Int64) -> Int64 { CaptureTime.clamp(t) }

    /// What one held connection costs in the table: the connection, its key, its LRU links and
    /// list, and its share of the hash slots (at most half full: two 4-byte slots).
    public static var bytesPerConnection: Int {
        MemoryLayout<Connection>.stride + MemoryLayout<FlowKey>.stride + MemoryLayout<FlowTable.Link>.stride + 2 * 4
    }

    /// Every tunnel path seen; `ConnectionSummary.tunnelID` n is entry n - 1.
    public var tunnelPaths: [TunnelPath] { tunnels.paths }

    /// Connections currently held (active, in TIME_WAIT, or lingering after close).
    public var connectionCount: Int { table.count }

    /// Feeds one decoded segment seen at `time` (nanoseconds) in `frame`.
    public mutating func process(_ s: TCPSegment, frame: FrameRef, time rawTime: Int64) {
        let time = Self.clamp(rawTime)
        if time > lastTime { lastTime = time }
        advance(to: time)
        if recordsOrigins { origins.append(EventOrigin(firstEvent: output.events.count, kind: .segment)) }
        let key = FlowKey(s.source, s.destination, tunnel: tunnels.id(s.tunnel))
        // One hash lookup; the connection is then changed in place through the index.
        if let index = table.index(of: key) {
            if let reuse = table.values[index].handle(s, frame: frame, time: time, msl: configuration.msl, &output) {
                retire(at: index, reason: .reused)
                start(key, s, frame: frame, time: time, incarnation: reuse.incarnation, inTimeWait: reuse.inTimeWait)
            } else {
                settle(index)
            }
        } else {
            start(key, s, frame: frame, time: time, incarnation: 1, inTimeWait: false)
        }
    }

    /// After a connection changed: its eviction list, and its deadline if that moved earlier
    /// (a later one is found lazily when the earlier entry comes due).
    @inline(__always)
    private mutating func settle(_ index: Int) {
        // Fields are read through the array, not by copying the connection out of it.
        table.touch(index, eviction: table.values[index].evictionClass)
        if let d = table.values[index].nextDeadline(msl: configuration.msl, linger: configuration.closedLinger),
            d < table.values[index].scheduled
        {
            table.values[index].scheduled = d
            deadlines.push(.init(time: d, key: table.keys[index], id: table.values[index].ref.id))
            if deadlines.count > 2 * table.count + 1024 { compactDeadlines() }
        }
    }

    /// Keeps only the live deadline of each held connection (amortised: it runs after at least
    /// `table.count + 1024` stale entries piled up).
    private mutating func compactDeadlines() {
        var live: [DeadlineQueue.Entry] = []
        live.reserveCapacity(table.count)
        for i in table.values.indices where table.values[i].scheduled != .max {
            live.append(.init(time: table.values[i].scheduled, key: table.keys[i], id: table.values[i].ref.id))
        }
        deadlines.rebuild(live)
    }
    private mutating func start(
        _ key: FlowKey, _ s: TCPSegment, frame: FrameRef, time: Int64,
        incarnation: UInt32, inTimeWait: Bool
    ) {
        let ref = ConnectionRef(id: nextID, incarnation: incarnation)
        nextID += 1
        let (clientIsSource, guessed) = Self.chooseClient(s)
        let ctx = StepContext(ref: ref, frame: frame, time: time)
        var c = Connection(first: s, ref: ref, clientIsSource: clientIsSource, guessed: guessed, ctx)
        c.summary.tunnelID = key.tunnel
        c.summary.facts.keepsZeekView = configuration.zeekView
        output.events.append(.opened(c.summary))
        if incarnation > 1 { c.announceIncarnation(inTimeWait: inTimeWait, ctx, &output) }
        c.pickUp(s, fromClient: clientIsSource, ctx, &output)
        c.process(s, fromClient: clientIsSource, ctx, &output)
        if let cap = configuration.maxConnections, table.count >= max(cap, 1) { evictOne() }
        table.insert(key, c, eviction: c.evictionClass)
        if let index = table.index(of: key) { settle(index) }
    }

    /// Makes room for one connection (see `Configuration.maxConnections` for the order).
    private mutating func evictOne() {
        guard let victim = table.leastRecent(.attempt) ?? table.leastRecent(.live) else { return }
        evictedCount += 1
        retire(at: victim, reason: .evicted)
    }

    /// Who is the client: the sender of a bare SYN; the receiver of a SYN+ACK; otherwise guessed
    /// from the ports (a well-known or lower port is the server's), as Zeek and Suricata do.
    static func chooseClient(_ s: TCPSegment) -> (clientIsSource: Bool, guessed: Bool) {
        if s.flags.contains(.syn) && !s.flags.contains(.rst) {
            return (!s.flags.contains(.ack), false)  // SYN+FIN too: its sender was opening
        }
        let sp = s.source.port, dp = s.destination.port
        if dp < 1024 && sp >= 1024 { return (true, true) }
        if sp < 1024 && dp >= 1024 { return (false, true) }
        if dp != sp { return (dp < sp, true) }
        return (true, true)
    }

    /// A segment of a flow this run does not analyse went by at `time` (`--shard`, another
    /// shard's flow): the clock advances exactly as `process` would advance it, so that expiries
    /// and the end of the run fall where they fall in a run that sees every flow.
    public mutating func pass(time rawTime: Int64) {
        let time = Self.clamp(rawTime)
        if time > lastTime { lastTime = time }
        advance(to: time)
    }

    /// Expires TIME_WAIT and retires finished or idle connections, as of capture time `now`
    /// (live capture calls it while the wire is quiet).
    public mutating func sweep(now rawNow: Int64) {
        advance(to: Self.clamp(rawNow))
    }

    /// Runs every deadline due by `now`, then the idle timeout. Costs nothing per packet when
    /// nothing is due: the queue's top and the LRU lists' heads are all it reads.
    @inline(__always)
    private mutating func advance(to now: Int64) {
        while let due = deadlines.earliest, due <= now, let entry = deadlines.pop() {
            guard let i = table.index(of: entry.key), table.values[i].ref.id == entry.id,
                table.values[i].scheduled == entry.time
            else { continue }  // stale: moved or gone
            if recordsOrigins { origins.append(EventOrigin(firstEvent: output.events.count, kind: .deadline(entry.time))) }
            table.values[i].scheduled = .max
            table.values[i].expire(at: now, msl: configuration.msl, &output.events)
            if let closedAt = table.values[i].closedAt,
                CaptureTime.elapsed(from: closedAt, to: now) >= configuration.closedLinger
            {
                retire(at: i, reason: .closed)
            } else if let d = table.values[i].nextDeadline(msl: configuration.msl, linger: configuration.closedLinger) {
                table.values[i].scheduled = d
                deadlines.push(.init(time: d, key: entry.key, id: entry.id))
            }
        }
        if let idle = configuration.idleTimeout {
            for list in [EvictionClass.attempt, .live] {
                while let i = table.leastRecent(list),
                    CaptureTime.elapsed(from: table.values[i].summary.lastTime, to: now) >= idle
                {
                    if recordsOrigins { origins.append(EventOrigin(firstEvent: output.events.count, kind: .idle)) }
                    table.values[i].expire(at: now, msl: configuration.msl, &output.events)
                    retire(at: i, reason: table.values[i].closedAt != nil ? .closed : .idle)
                }
            }
        }
    }

    /// Reports the connection at dense index `index` as finished and removes it. Its last steps
    /// run in place in the table: copying a kilobyte-sized `Connection` out to finish it cost
    /// four copies per connection (out of the table, the swap that keeps storage dense, the return).
    private mutating func retire(at index: Int, reason: EndReason) {
        table.values[index].settleAtEnd(&output)
        table.values[index].releaseHeldRun(&output.events)
        table.values[index].checkOneSided(&output)
        table.values[index].endListeningResponders(&output.events)
        output.events.append(.finished(table.values[index].finalSummary(reason)))
        table.remove(at: index)
    }

    /// The input ended: TIME_WAIT is judged at the last timestamp seen, and every connection still
    /// held is reported, in the order connections were first seen.
    public mutating func finish() {
        while finishSome(.max) {}
    }

    /// `finish()` in steps of at most `limit` connections, so that a consumer can take the events
    /// between steps: tens of thousands of connections held at the end would otherwise pile up
    /// their final events (about 500 bytes each) all at once. Returns whether any remain.
    public mutating func finishSome(_ limit: Int) -> Bool {
        if finishing == nil {
            sweep(now: lastTime)
            // Sort small (id, key) pairs, not whole connections.
            var order: [(id: UInt64, key: FlowKey)] = []
            order.reserveCapacity(table.count)
            for i in table.values.indices { order.append((table.values[i].ref.id, table.keys[i])) }
            order.sort { $0.id < $1.id }
            finishing = (order, 0)
        }
        guard case (let order, var next)? = finishing else { return false }
        finishing = nil
        let end = next + min(max(limit, 1), order.count - next)
        while next < end {
            let key = order[next].key
            next += 1
            guard let i = table.index(of: key) else { continue }
            if recordsOrigins { origins.append(EventOrigin(firstEvent: output.events.count, kind: .end)) }
            retire(at: i, reason: table.values[i].closedAt != nil ? .closed : .endOfCapture)
        }
        if next < order.count {
            finishing = (order, next)
            return true
        }
        return false  // done; a later call starts a new finish (the pipeline finishes between recordings)
    }

    /// Snapshots of the connections currently held (for live tables), in first-seen order.
    public func activeSummaries() -> [ConnectionSummary] {
        table.values.map { $0.finalSummary(.endOfCapture) }.sorted { $0.ref.id < $1.ref.id }
            .map {
                var s = $0; s.endReason = nil; return s
            }
    }
}
