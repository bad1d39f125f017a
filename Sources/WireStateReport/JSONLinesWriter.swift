import WireStateDecoder
import WireStatePipeline
import WireStateTracker

/// Streams events as JSON Lines, one object per line, flushing per event when asked (live pipes).
///
/// Records: `connection` (when a connection is finished), `transition`, `confirmation`, `anomaly`,
/// and at the end `input` per file and one `summary`. States are RFC names in upper case with
/// underscores; frames count from 1 like Wireshark's. Every record carries `"schema":1`;
/// docs/json-schema.md and docs/schema/*.json describe each record type (fields are only ever
/// added within a schema version).
public struct JSONLinesWriter<Out: TextSink>: EventSink {
    /// The record layout version every line carries.
    public static var schemaVersion: Int { 1 }
    public var out: Out
    /// Input names by source index, to name files when there are several.
    public var sourceNames: [String] = []
    public var flushEachEvent: Bool
    public private(set) var connections = 0
    public private(set) var anomalies = 0
    public private(set) var evicted = 0
    /// The run's tunnel table (`ConnectionSummary.tunnelID`).
    public private(set) var tunnels: [TunnelPath] = []
    /// Per open connection: its uid and state clock (dropped when it finishes).
    public private(set) var clock = StateClock()
    public private(set) var summary = RunSummary()

    /// `--shard`: every record carries `"merge_key"` and the summary names the shard, so that
    /// `wirestate merge` can rebuild one run's output from the shards' (`MergeKey`).
    public var mergeKeys: MergeKey.Run?
    /// The next event's place in the one-run order (`EventSink.order`).
    private var position = EventOrder(step: 0, phase: .segment)

    public init(out: Out, flushEachEvent: Bool = false) {
        self.out = out
        self.flushEachEvent = flushEachEvent
    }

    public mutating func tunnelsChanged(_ paths: [TunnelPath]) { tunnels = paths }

    public mutating func order(_ position: EventOrder) { self.position = position }

    /// The record being built; reused, so a record costs no allocation once it has grown.
    private var record = JSONLine()

    public mutating func consume(_ event: TrackerEvent) {
        record.reset()
        switch event {
        case .opened:
            clock.consume(event)
            return
        case .transition(let t): record.transition(t, sourceNames, uid: UIDValue(clock.transition(t)))
        case .confirmation(let c): record.confirmation(c, sourceNames, uid: UIDValue(clock.uidText(c.connection.id)))
        case .anomaly(let a):
            anomalies += 1
            summary.add(a)
            record.anomaly(a, sourceNames, uid: UIDValue(clock.uidText(a.connection.id)))
        case .finished(let s):
            connections += 1
            if s.endReason == .evicted { evicted += 1 }
            let (uid, times) = clock.finishText(s)
            summary.add(s, times: times)
            record.connection(s, sourceNames, uid: .inline(uid), times: times, tunnels: tunnels)
        }
        if mergeKeys != nil { appendMergeKey() }
        record.raw("\n")
        record.withBytes { out.write(bytes: $0) }
        if flushEachEvent { out.flush() }
    }

    /// `,"merge_key":[step,phase,deadline,creation step]` inside the record's closing brace.
    private mutating func appendMergeKey() {
        record.dropLast()
        record.raw(",\"merge_key\":[")
        record.unsigned(position.step); record.raw(",")
        record.int(position.phase.rawValue); record.raw(",")
        record.int(position.deadline); record.raw(",")
        record.unsigned(position.created); record.raw("]}")
    }

    public static func line(
        _ c: ConnectionSummary, _ names: [String] = [], uid: String? = nil,
        times: StateTimes? = nil, tunnels: [TunnelPath] = []
    ) -> String {
        var b = JSONLine()
        b.connection(c, names, uid: UIDValue(uid), times: times, tunnels: tunnels)
        return b.string
    }

    public static func line(_ t: Transition, _ names: [String] = [], uid: String? = nil) -> String {
        var b = JSONLine()
        b.transition(t, names, uid: UIDValue(uid))
        return b.string
    }

    public static func line(_ c: Confirmation, _ names: [String] = [], uid: String? = nil) -> String {
        var b = JSONLine()
        b.confirmation(c, names, uid: UIDValue(uid))
        return b.string
    }

    public static func line(_ a: Anomaly, _ names: [String] = [], uid: String? = nil) -> String {
        var b = JSONLine()
        b.anomaly(a, names, uid: UIDValue(uid))
        return b.string
    }

    /// Closing records: one per input, then the run's summary.
    public mutating func writeEnd(inputs: [InputReport]) {
        var total = DecodeCounters()
        for i in inputs {
            total.merge(i.counters)
            var s =
                "{\"type\":\"input\",\"schema\":\(Self.schemaVersion),\"file\":" + Format.json(i.name) + ",\"link_type\":" + Format.json(i.linkType)
                + ",\"frames\":\(i.counters.frames),\"tcp\":\(i.counters.tcp.count),\"complete\":\(i.complete)"
            if let e = i.error {
                s += ",\"error\":" + Format.json(e.message) + ",\"error_frame\":" + (e.frame.map(String.init) ?? "null")
            }
            out.write(s + TunnelFormat.countersFields(i.counters.encapsulations) + "}\n")
        }
        out.write(
            "{\"type\":\"summary\",\"schema\":\(Self.schemaVersion),\"connections\":\(connections),\"anomalies\":\(anomalies)"
                + ",\"frames\":\(total.frames),\"tcp\":\(total.tcp.count),\"not_ip\":\(total.notIP.count)"
                + ",\"not_tcp\":\(total.notTCP.count),\"later_fragments\":\(total.laterFragments.count)"
                + ",\"truncated\":\(total.truncated.count),\"malformed\":\(total.malformed.count)"
                + ",\"errors\":\(inputs.filter { !$0.complete }.count),\"evicted\":\(evicted)"
                + TunnelFormat.countersFields(total.encapsulations) + "," + summary.jsonMembers()
                + (mergeKeys.map { ",\"merge_key\":" + $0.json } ?? "") + "}\n")
        out.flush()
    }
}
