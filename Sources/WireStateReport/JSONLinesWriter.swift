import WireStateDecoder
import WireStatePipeline
import WireStateTracker

/// Streams events as JSON Lines, one object per line, flushing per event when asked (live pipes).
///
/// Records: `connection` (when a connection is finished), `transition`, `confirmation`, `anomaly`,
/// and at the end `input` per file and one `summary`. States are RFC names in upper case with
/// underscores; frames count from 1 like Wireshark's.
public struct JSONLinesWriter<Out: TextSink>: EventSink {
    public var out: Out
    /// Input names by source index, to name files when there are several.
    public var sourceNames: [String] = []
    public var flushEachEvent: Bool
    public private(set) var connections = 0
    public private(set) var anomalies = 0
    public private(set) var evicted = 0
    /// The run's tunnel table (`ConnectionSummary.tunnelID`).
    public private(set) var tunnels: [TunnelPath] = []

    public init(out: Out, flushEachEvent: Bool = false) {
        self.out = out
        self.flushEachEvent = flushEachEvent
    }

    public mutating func tunnelsChanged(_ paths: [TunnelPath]) { tunnels = paths }

    public mutating func consume(_ event: TrackerEvent) {
        switch event {
        case .opened: return
        case .transition(let t): out.write(Self.line(t, sourceNames))
        case .confirmation(let c): out.write(Self.line(c, sourceNames))
        case .anomaly(let a):
            anomalies += 1
            out.write(Self.line(a, sourceNames))
        case .finished(let s):
            connections += 1
            if s.endReason == .evicted { evicted += 1 }
            out.write(Self.line(s, sourceNames, tunnels: tunnels))
        }
        out.write("\n")
        if flushEachEvent { out.flush() }
    }

    static func frameFields(_ key: String, _ f: FrameRef?, _ names: [String]) -> String {
        guard let f else { return "\"\(key)\":null" }
        var s = "\"\(key)\":\(f.number)"
        if names.count > 1, Int(f.source) < names.count {
            s += ",\"\(key == "frame" ? "file" : key + "_file")\":" + Format.json(names[Int(f.source)])
        }
        return s
    }

    public static func line(_ c: ConnectionSummary, _ names: [String] = [], tunnels: [TunnelPath] = []) -> String {
        "{\"type\":\"connection\",\"id\":\(c.ref.id),\"incarnation\":\(c.ref.incarnation)"
            + ",\"client\":" + Format.json(c.client.description) + ",\"server\":" + Format.json(c.server.description)
            + ",\"client_state\":\"\(c.clientState.name)\",\"server_state\":\"\(c.serverState.name)\""
            + ",\"client_evidence\":\"\(c.clientEvidence.name)\",\"server_evidence\":\"\(c.serverEvidence.name)\""
            + ",\"packets_client_to_server\":\(c.packetsFromClient),\"packets_server_to_client\":\(c.packetsFromServer)"
            + ",\"bytes_client_to_server\":\(c.bytesFromClient),\"bytes_server_to_client\":\(c.bytesFromServer)"
            + "," + frameFields("first_frame", c.firstFrame, names) + "," + frameFields("last_frame", c.lastFrame, names)
            + ",\"start\":\(Format.time(c.firstTime)),\"duration\":\(Format.fixed(Double(c.durationNanos) / 1e9, 9))"
            + ",\"anomalies\":\(c.anomalyCount),\"violations\":\(c.violationCount)"
            + ",\"midstream\":\(c.midstream),\"client_guessed\":\(c.clientGuessed),\"refused\":\(c.refused),\"reset\":\(c.reset)"
            + ",\"end\":\"\((c.endReason ?? .endOfCapture).name)\"" + TunnelFormat.connectionField(TunnelFormat.path(c.tunnelID, in: tunnels)) + "}"
    }

    public static func line(_ t: Transition, _ names: [String] = []) -> String {
        "{\"type\":\"transition\",\"connection\":\(t.connection.id),\"incarnation\":\(t.connection.incarnation)"
            + ",\"endpoint\":\"\(t.endpoint.name)\",\"from\":\"\(t.from.name)\",\"to\":\"\(t.to.name)\""
            + ",\"evidence\":\"\(t.evidence.name)\",\"cause\":" + Format.json(t.cause.name) + ",\"cause_code\":\"\(t.cause.code)\""
            + "," + frameFields("frame", t.frame, names) + ",\"time\":\(Format.time(t.time))}"
    }

    public static func line(_ c: Confirmation, _ names: [String] = []) -> String {
        "{\"type\":\"confirmation\",\"connection\":\(c.connection.id),\"incarnation\":\(c.connection.incarnation)"
            + ",\"endpoint\":\"\(c.endpoint.name)\",\"state\":\"\(c.state.name)\",\"evidence\":\"\(c.evidence.name)\""
            + "," + frameFields("frame", c.frame, names) + ",\"time\":\(Format.time(c.time))}"
    }

    public static func line(_ a: Anomaly, _ names: [String] = []) -> String {
        "{\"type\":\"anomaly\",\"connection\":\(a.connection.id),\"incarnation\":\(a.connection.incarnation)"
            + ",\"code\":\"\(a.code.code)\",\"severity\":\"\(a.severity.name)\",\"endpoint\":\"\(a.endpoint.name)\""
            + "," + frameFields("frame", a.frame, names)
            + (a.relatedFrame.map { "," + frameFields("related_frame", $0, names) } ?? "")
            + (a.count > 1 ? ",\"count\":\(a.count)," + frameFields("last_frame", a.lastFrame, names) : "")
            + ",\"time\":\(Format.time(a.time))"
            + ",\"client_before\":\"\(a.clientBefore.name)\",\"server_before\":\"\(a.serverBefore.name)\""
            + ",\"client_after\":\"\(a.clientAfter.name)\",\"server_after\":\"\(a.serverAfter.name)\""
            + ",\"message\":" + Format.json(a.message) + "}"
    }

    /// Closing records: one per input, then the run's summary.
    public mutating func writeEnd(inputs: [InputReport]) {
        var total = DecodeCounters()
        for i in inputs {
            total.merge(i.counters)
            var s = "{\"type\":\"input\",\"file\":" + Format.json(i.name) + ",\"link_type\":" + Format.json(i.linkType)
                + ",\"frames\":\(i.counters.frames),\"tcp\":\(i.counters.tcp.count),\"complete\":\(i.complete)"
            if let e = i.error {
                s += ",\"error\":" + Format.json(e.message) + ",\"error_frame\":" + (e.frame.map(String.init) ?? "null")
            }
            out.write(s + TunnelFormat.countersFields(i.counters.encapsulations) + "}\n")
        }
        out.write("{\"type\":\"summary\",\"connections\":\(connections),\"anomalies\":\(anomalies)"
                  + ",\"frames\":\(total.frames),\"tcp\":\(total.tcp.count),\"not_ip\":\(total.notIP.count)"
                  + ",\"not_tcp\":\(total.notTCP.count),\"later_fragments\":\(total.laterFragments.count)"
                  + ",\"truncated\":\(total.truncated.count),\"malformed\":\(total.malformed.count)"
                  + ",\"errors\":\(inputs.filter { !$0.complete }.count),\"evicted\":\(evicted)"
                  + TunnelFormat.countersFields(total.encapsulations) + "}\n")
        out.flush()
    }
}
