import WireStateDecoder
import WireStatePipeline
import WireStateTracker

/// What `analyze`'s text report is made from, kept as the run goes so that its memory follows
/// the connections open at once and the rows the table will show, not the file's length.
///
/// - The totals and the `Summary:` block are counted as each connection finishes, in the order
///   connections finish: the order the JSON Lines `summary` record counts them in, so that both
///   say the same on any capture (the summary's talker list and handshake samples are bounded,
///   and past their bounds what they hold depends on that order: `RunSummary`).
/// - The selection's criteria are tested when a connection finishes, on its row and the kinds
///   of anomaly it showed; the rows that pass go to `ShownRows`, which keeps the first `--limit`
///   of them in show order (50 unless asked) and drops the rest at once.
/// - `--timeline` and `--anomalies` need a connection's events: they are held while it is open,
///   and kept after it finishes only while its row is among those shown.
///
/// Each open connection costs 16 bytes here (`entered`: when its endpoints entered their
/// states), and an entry in `pending` once it has an anomaly (or, with `--timeline` or
/// `--anomalies`, an event); both are emptied as it finishes. In the file's order (the
/// default) a connection whose id comes after `--limit` rows already held cannot be shown, so
/// its events are not held at all (`ShownRows.excludes`): `--timeline` then keeps the events of
/// 50 connections and of none of the others, open or finished.
public struct TextReportSink: EventSink {
    /// One line of a connection's timeline: what `--timeline` and `--anomalies` print. Smaller
    /// than a `TrackerEvent` (96 bytes against 512: a transition does not carry the room of a
    /// connection summary).
    public enum TimelineEntry: Sendable, Equatable {
        case transition(Transition)
        case confirmation(Confirmation)
        case anomaly(Anomaly)

        /// The frame the line is about (a repeating finding: the first of its run).
        var frame: FrameRef? {
            switch self {
            case .transition(let x): return x.frame
            case .confirmation(let x): return x.frame
            case .anomaly(let x): return x.frame
            }
        }
    }

    /// Every connection's, counted as it finishes.
    public private(set) var totals = RunTotals()
    public private(set) var summary = RunSummary()
    /// Connections finished, and those of them that passed the selection's criteria.
    public private(set) var connections = 0
    public private(set) var matched = 0
    /// The earliest first-segment time of any connection: the origin of relative times.
    public private(set) var firstTime: Int64?
    /// The run's tunnel table (`TextRow.tunnelID`).
    public private(set) var tunnels: [TunnelPath] = []
    private var rows: ShownRows
    private let selection: ConnectionSelection
    private let keepsTimeline: Bool
    private let keepsAnomalies: Bool
    /// The timeline of each connection whose row is held (with `--timeline` or `--anomalies`):
    /// in memory up to a bound, then in a temporary file (`HeldTimelines`).
    public private(set) var details: HeldTimelines
    /// What an open connection has shown so far.
    private struct Pending {
        var kinds = AnomalyKinds()
        var entries: [TimelineEntry] = []
        /// Its earlier lines, already in the temporary file (`flushPending`).
        var chain: HeldTimelines.Chain?
    }
    private var pending: [ConnectionKey: Pending] = [:]
    /// Lines the open connections hold in memory (`entries`), at most `details.memoryBound`.
    private var pendingLines = 0
    /// When each open connection's endpoints entered the states they are in: the summary's time
    /// in each state is added as a state is left (`RunSummary.addStateTime`). Why not a
    /// `StateClock`: it keeps 176 bytes of times per open connection, and looking them up at every
    /// transition was 18% of the text report's run (1M packets: 0.78 s against 0.65 s without).
    private struct Entered {
        var client: Int64
        var server: Int64
        subscript(_ role: Role) -> Int64 {
            get { role == .client ? client : server }
            set { if role == .client { client = newValue } else { server = newValue } }
        }
    }
    private var entered: [ConnectionKey: Entered] = [:]

    /// `timeline`: keep every transition, confirmation and anomaly of the rows shown;
    /// `anomalies`: keep their anomalies (both: `analyze --timeline --anomalies`). Past
    /// `linesInMemory` lines kept, later connections' lines go to a temporary file.
    public init(
        selection: ConnectionSelection, timeline: Bool = false, anomalies: Bool = false,
        linesInMemory: Int = HeldTimelines.defaultMemoryBound
    ) {
        self.selection = selection
        details = HeldTimelines(memoryBound: linesInMemory)
        rows = ShownRows(order: selection)
        keepsTimeline = timeline
        keepsAnomalies = timeline || anomalies
    }

    /// Open connections with something held for them (tests: 0 once the run is over).
    public var pendingCount: Int { pending.count }

    /// The rows to show, in show order.
    public func shownRows() -> BlockStore<TextRow> { rows.sorted() }

    /// Sorts the rows to show in place, once the run is over (`ShownRows.sortForShowing`), so
    /// that `shownRows()` does not copy them.
    public mutating func sortRowsForShowing() { rows.sortForShowing() }

    /// The tunnels a row's connection was seen in (empty on a plain link).
    public func tunnel(of row: TextRow) -> TunnelPath { TunnelFormat.path(row.tunnelID, in: tunnels) }

    /// The anomalies of a shown row, in the order they were reported.
    public func anomalies(of id: UInt64) -> [Anomaly] {
        details.entries(of: id).compactMap { if case .anomaly(let a) = $0 { return a } else { return nil } }
    }

    public mutating func tunnelsChanged(_ paths: [TunnelPath]) { tunnels = paths }

    public mutating func consume(_ event: TrackerEvent) {
        withUnsafePointer(to: event) { take(UnsafeBufferPointer(start: $0, count: 1)) }
    }

    /// A step's events, read in place: the protocol's default hands each to `consume`, copying
    /// it (472 bytes) out of the array first, and a switch on an event handed as a value copied
    /// it once more.
    public mutating func consume(all events: [TrackerEvent]) {
        events.withUnsafeBufferPointer { take($0) }
    }

    @inline(__always)
    private mutating func take(_ events: UnsafeBufferPointer<TrackerEvent>) {
        for i in events.indices { take(events, i) }
    }

    /// One event, switched on where it lies (a switch on an event passed by value copied it).
    @inline(__always)
    private mutating func take(_ events: UnsafeBufferPointer<TrackerEvent>, _ i: Int) {
        switch events[i] {
        case .opened(let s):
            if firstTime == nil || s.firstTime < firstTime! { firstTime = s.firstTime }
            entered[ConnectionKey(s.ref.id)] = Entered(client: s.firstTime, server: s.firstTime)
        case .transition(let t):
            if let i = entered.index(forKey: ConnectionKey(t.connection.id)) {
                let start = entered.values[i][t.endpoint]
                summary.addStateTime(t.endpoint, t.from, CaptureTime.elapsed(from: start, to: t.time))
                entered.values[i][t.endpoint] = max(start, t.time)
            }
            if keepsTimeline && !rows.excludes(id: t.connection.id) {
                pending[ConnectionKey(t.connection.id), default: Pending()].entries.append(.transition(t))
                heldLine()
            }
        case .confirmation(let c):
            if keepsTimeline && !rows.excludes(id: c.connection.id) {
                pending[ConnectionKey(c.connection.id), default: Pending()].entries.append(.confirmation(c))
                heldLine()
            }
        case .anomaly(let a):
            totals.add(a)
            summary.add(a)
            let keep = keepsAnomalies && !rows.excludes(id: a.connection.id)
            Self.add(a, to: &pending[ConnectionKey(a.connection.id), default: Pending()], keepingIt: keep)
            if keep { heldLine() }
        case .finished(let s):
            finish(s)
        }
    }

    /// Static: a method of `self` handed `&pending[…]` would borrow `self` beside it, and the
    /// dictionary was copied for every anomaly (measured: four times the run's time).
    private static func add(_ a: Anomaly, to p: inout Pending, keepingIt: Bool) {
        p.kinds.insert(a)
        if keepingIt { p.entries.append(.anomaly(a)) }
    }

    /// One more line held for an open connection. Without a limit (`--limit 0`), past the bound
    /// every open connection's lines go to the temporary file: each matching row is kept, so what
    /// is written is read. With a limit they stay in memory (as many as the connections open at
    /// once hold): most are dropped when their connection finishes, and writing them would fill
    /// the disk with lines nobody reads.
    @inline(__always)
    private mutating func heldLine() {
        pendingLines += 1
        if rows.limit == nil && pendingLines > details.memoryBound && details.canSpill { flushPending() }
    }

    /// Moves the open connections' lines to the file, each after its earlier ones. Amortised: it
    /// runs once per `memoryBound` lines held, and visits the open connections.
    private mutating func flushPending() {
        for i in pending.indices where !pending.values[i].entries.isEmpty {
            guard let chain = details.spill(pending.values[i].entries, after: pending.values[i].chain) else { return }
            pendingLines -= pending.values[i].entries.count
            pending.values[i].chain = chain
            pending.values[i].entries = []
        }
    }

    private mutating func finish(_ s: ConnectionSummary) {
        totals.add(s)
        if let e = entered.removeValue(forKey: ConnectionKey(s.ref.id)) {
            summary.addStateTime(.client, s.clientState, CaptureTime.elapsed(from: e.client, to: s.lastTime))
            summary.addStateTime(.server, s.serverState, CaptureTime.elapsed(from: e.server, to: s.lastTime))
        }
        summary.add(s, times: nil)
        connections += 1
        let held = pending.removeValue(forKey: ConnectionKey(s.ref.id))
        pendingLines -= held?.entries.count ?? 0
        let row = TextRow(s)
        guard selection.matches(row, kinds: held?.kinds ?? AnomalyKinds()) else { return }
        matched += 1
        let entries = held?.entries ?? []
        switch rows.offer(row) {
        case .dropped:
            return
        case .keptDisplacing(let gone):
            details.drop(gone.id)
        case .kept:
            break
        }
        details.keep(entries, after: held?.chain, for: row.id)
    }
}
