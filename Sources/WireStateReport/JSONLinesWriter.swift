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

    public init(out: Out, flushEachEvent: Bool = false) {
        self.out = out
        self.flushEachEvent = flushEachEvent
    }

    public mutating func tunnelsChanged(_ paths: [TunnelPath]) { tunnels = paths }

    public mutating func consume(_ event: TrackerEvent) {
        clock.consume(event)
        switch event {
        case .opened: return
        case .transition(let t): out.write(Self.line(t, sourceNames, uid: clock.uid(t.connection.id)))
        case .confirmation(let c): out.write(Self.line(c, sourceNames, uid: clock.uid(c.connection.id)))
        case .anomaly(let a):
            anomalies += 1
            summary.add(a)
            out.write(Self.line(a, sourceNames, uid: clock.uid(a.connection.id)))
        case .finished(let s):
            connections += 1
            if s.endReason == .evicted { evicted += 1 }
            let (uid, times) = clock.finish(s)
            summary.add(s, times: times)
            out.write(Self.line(s, sourceNames, uid: uid, times: times, tunnels: tunnels))
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

    /// `"time_ns":…,"time_utc":"…"`: integer nanoseconds (exact in any JSON reader that keeps
    /// 64-bit integers) and RFC 3339 with nanoseconds, beside the older epoch-seconds field.
    static func timeFields(_ key: String, _ nanos: Int64) -> String {
        ",\"\(key)_ns\":\(nanos),\"\(key)_utc\":\"\(Format.rfc3339(nanos))\""
    }

    static func uidField(_ uid: String?) -> String {
        ",\"uid\":" + (uid.map { Format.json($0) } ?? "null")
    }

    static func optional(_ v: Int64?) -> String { v.map(String.init) ?? "null" }

    static func stateTimes(_ times: StateTimes, _ role: Role) -> String {
        "{" + TCPState.allCases.filter { times[role, $0] > 0 }.map { "\"\($0.name)\":\(times[role, $0])" }
            .joined(separator: ",") + "}"
    }

    public static func line(_ c: ConnectionSummary, _ names: [String] = [], uid: String? = nil,
                            times: StateTimes? = nil, tunnels: [TunnelPath] = []) -> String {
        let f = c.facts
        return "{\"type\":\"connection\",\"schema\":\(schemaVersion),\"id\":\(c.ref.id),\"incarnation\":\(c.ref.incarnation)"
            + ",\"client\":" + Format.json(c.client.description) + ",\"server\":" + Format.json(c.server.description)
            + ",\"client_state\":\"\(c.clientState.name)\",\"server_state\":\"\(c.serverState.name)\""
            + ",\"client_evidence\":\"\(c.clientEvidence.name)\",\"server_evidence\":\"\(c.serverEvidence.name)\""
            + ",\"packets_client_to_server\":\(c.packetsFromClient),\"packets_server_to_client\":\(c.packetsFromServer)"
            + ",\"bytes_client_to_server\":\(c.bytesFromClient),\"bytes_server_to_client\":\(c.bytesFromServer)"
            + "," + frameFields("first_frame", c.firstFrame, names) + "," + frameFields("last_frame", c.lastFrame, names)
            + ",\"start\":\(Format.time(c.firstTime)),\"duration\":\(Format.fixed(Double(c.durationNanos) / 1e9, 9))"
            + ",\"anomalies\":\(c.anomalyCount),\"violations\":\(c.violationCount)"
            + ",\"midstream\":\(c.midstream),\"client_guessed\":\(c.clientGuessed),\"refused\":\(c.refused),\"reset\":\(c.reset)"
            + ",\"end\":\"\((c.endReason ?? .endOfCapture).name)\"" + TunnelFormat.connectionField(TunnelFormat.path(c.tunnelID, in: tunnels))
            + ",\"uid\":" + Format.json(uid ?? ConnectionUID.make(c))
            + ",\"community_id\":" + Format.json(CommunityID.v1(c.client, c.server))
            + ",\"client_ip\":" + Format.json(c.client.address.description) + ",\"client_port\":\(c.client.port)"
            + ",\"server_ip\":" + Format.json(c.server.address.description) + ",\"server_port\":\(c.server.port)"
            + timeFields("start", c.firstTime) + timeFields("last", c.lastTime) + ",\"duration_ns\":\(c.durationNanos)"
            + ",\"reset_by\":\"\(f.resetBy?.name ?? "none")\",\"closed_by\":\"\(f.closedBy?.name ?? "none")\""
            + ",\"syn_to_synack_ns\":" + optional(f.synToSynAck) + ",\"synack_to_ack_ns\":" + optional(f.synAckToAck)
            + ",\"handshake_rtt_ns\":" + optional(f.handshakeRTT)
            + ",\"client_state_ns\":" + stateTimes(times ?? StateTimes(), .client)
            + ",\"server_state_ns\":" + stateTimes(times ?? StateTimes(), .server)
            + ",\"zeek_conn_state\":\"\(f.zeek.connState.name)\",\"zeek_history\":" + Format.json(f.zeek.history.text) + "}"
    }

    public static func line(_ t: Transition, _ names: [String] = [], uid: String? = nil) -> String {
        "{\"type\":\"transition\",\"schema\":\(schemaVersion),\"connection\":\(t.connection.id),\"incarnation\":\(t.connection.incarnation)"
            + ",\"endpoint\":\"\(t.endpoint.name)\",\"from\":\"\(t.from.name)\",\"to\":\"\(t.to.name)\""
            + ",\"evidence\":\"\(t.evidence.name)\",\"cause\":" + Format.json(t.cause.name) + ",\"cause_code\":\"\(t.cause.code)\""
            + "," + frameFields("frame", t.frame, names) + ",\"time\":\(Format.time(t.time))"
            + timeFields("time", t.time) + uidField(uid) + "}"
    }

    public static func line(_ c: Confirmation, _ names: [String] = [], uid: String? = nil) -> String {
        "{\"type\":\"confirmation\",\"schema\":\(schemaVersion),\"connection\":\(c.connection.id),\"incarnation\":\(c.connection.incarnation)"
            + ",\"endpoint\":\"\(c.endpoint.name)\",\"state\":\"\(c.state.name)\",\"evidence\":\"\(c.evidence.name)\""
            + "," + frameFields("frame", c.frame, names) + ",\"time\":\(Format.time(c.time))"
            + timeFields("time", c.time) + uidField(uid) + "}"
    }

    public static func line(_ a: Anomaly, _ names: [String] = [], uid: String? = nil) -> String {
        "{\"type\":\"anomaly\",\"schema\":\(schemaVersion),\"connection\":\(a.connection.id),\"incarnation\":\(a.connection.incarnation)"
            + ",\"code\":\"\(a.code.code)\",\"severity\":\"\(a.severity.name)\",\"endpoint\":\"\(a.endpoint.name)\""
            + "," + frameFields("frame", a.frame, names)
            + (a.relatedFrame.map { "," + frameFields("related_frame", $0, names) } ?? "")
            + (a.count > 1 ? ",\"count\":\(a.count)," + frameFields("last_frame", a.lastFrame, names) : "")
            + ",\"time\":\(Format.time(a.time))"
            + ",\"client_before\":\"\(a.clientBefore.name)\",\"server_before\":\"\(a.serverBefore.name)\""
            + ",\"client_after\":\"\(a.clientAfter.name)\",\"server_after\":\"\(a.serverAfter.name)\""
            + ",\"message\":" + Format.json(a.message) + timeFields("time", a.time) + uidField(uid) + "}"
    }

    /// Closing records: one per input, then the run's summary.
    public mutating func writeEnd(inputs: [InputReport]) {
        var total = DecodeCounters()
        for i in inputs {
            total.merge(i.counters)
            var s = "{\"type\":\"input\",\"schema\":\(Self.schemaVersion),\"file\":" + Format.json(i.name) + ",\"link_type\":" + Format.json(i.linkType)
                + ",\"frames\":\(i.counters.frames),\"tcp\":\(i.counters.tcp.count),\"complete\":\(i.complete)"
            if let e = i.error {
                s += ",\"error\":" + Format.json(e.message) + ",\"error_frame\":" + (e.frame.map(String.init) ?? "null")
            }
            out.write(s + TunnelFormat.countersFields(i.counters.encapsulations) + "}\n")
        }
        out.write("{\"type\":\"summary\",\"schema\":\(Self.schemaVersion),\"connections\":\(connections),\"anomalies\":\(anomalies)"
                  + ",\"frames\":\(total.frames),\"tcp\":\(total.tcp.count),\"not_ip\":\(total.notIP.count)"
                  + ",\"not_tcp\":\(total.notTCP.count),\"later_fragments\":\(total.laterFragments.count)"
                  + ",\"truncated\":\(total.truncated.count),\"malformed\":\(total.malformed.count)"
                  + ",\"errors\":\(inputs.filter { !$0.complete }.count),\"evicted\":\(evicted)"
                  + TunnelFormat.countersFields(total.encapsulations) + "," + summary.jsonMembers() + "}\n")
        out.flush()
    }
}
