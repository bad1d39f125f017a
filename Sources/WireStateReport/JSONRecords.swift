import WireStateDecoder
import WireStatePipeline
import WireStateTracker

/// The four per-event record types of schema 1 (docs/json-schema.md, docs/schema/*.json), built
/// into a `JSONLine`. Field order is part of the byte-for-byte output tests hold.
extension JSONLine {
    typealias Writer = JSONLinesWriter<StringSink>

    mutating func head(_ type: StaticString, _ connection: ConnectionRef) {
        raw("{\"type\":\""); raw(type); raw("\",\"schema\":"); int(Writer.schemaVersion)
        raw(",\"connection\":"); unsigned(connection.id); raw(",\"incarnation\":"); int(connection.incarnation)
    }

    /// `"frame":12` (and `"file":…` when there are several inputs); `null` when unknown.
    mutating func frame(_ key: StaticString, _ fileKey: StaticString, _ f: FrameRef?, _ names: [String]) {
        raw("\""); raw(key); raw("\":")
        guard let f else { raw("null"); return }
        unsigned(f.number)
        if names.count > 1, Int(f.source) < names.count {
            raw(",\""); raw(fileKey); raw("\":"); string(names[Int(f.source)])
        }
    }

    /// `,"time_ns":…,"time_utc":"…"`.
    mutating func timeFields(_ key: StaticString, _ nanos: Int64) {
        raw(",\""); raw(key); raw("_ns\":"); int(nanos)
        raw(",\""); raw(key); raw("_utc\":"); rfc3339(nanos)
    }

    /// An address, quoted, byte for byte as `IPAddress.description`: IPv4 digit by digit, without
    /// the four interpolated strings `description` builds (IPv6 takes `description`).
    mutating func address(_ a: IPAddress) {
        guard !a.isIPv6 else { string(a.description); return }
        raw("\""); ipv4(a); raw("\"")
    }

    /// A socket address, quoted, as `SocketAddress.description`.
    mutating func socket(_ s: SocketAddress) {
        guard !s.address.isIPv6 else { string(s.description); return }
        raw("\""); ipv4(s.address); raw(":"); unsigned(UInt64(s.port)); raw("\"")
    }

    private mutating func ipv4(_ a: IPAddress) {
        let v = UInt32(truncatingIfNeeded: a.low)
        unsigned(UInt64(v >> 24)); raw(".")
        unsigned(UInt64(v >> 16 & 0xff)); raw(".")
        unsigned(UInt64(v >> 8 & 0xff)); raw(".")
        unsigned(UInt64(v & 0xff))
    }

    mutating func uid(_ uid: UIDValue) {
        raw(",\"uid\":")
        switch uid {
        case .none: raw("null")
        case .inline(let u): quoted(u.text)
        case .string(let s): string(s)
        }
    }

    /// Text known to need no escaping (a uid, a Community ID), quoted.
    mutating func quoted(_ t: Text28) {
        append(UInt8(ascii: "\""))
        t.withBytes { append(contentsOf: $0) }
        append(UInt8(ascii: "\""))
    }

    mutating func transition(_ t: Transition, _ names: [String], uid u: UIDValue) {
        head("transition", t.connection)
        raw(",\"endpoint\":\""); rawString(t.endpoint.name); raw("\",\"from\":\""); rawString(t.from.name)
        raw("\",\"to\":\""); rawString(t.to.name); raw("\",\"evidence\":\""); rawString(t.evidence.name)
        raw("\",\"cause\":"); string(t.cause.name); raw(",\"cause_code\":\""); rawString(t.cause.code); raw("\",")
        frame("frame", "file", t.frame, names)
        raw(",\"time\":"); epochSeconds(t.time)
        timeFields("time", t.time); uid(u); raw("}")
    }

    mutating func confirmation(_ c: Confirmation, _ names: [String], uid u: UIDValue) {
        head("confirmation", c.connection)
        raw(",\"endpoint\":\""); rawString(c.endpoint.name); raw("\",\"state\":\""); rawString(c.state.name)
        raw("\",\"evidence\":\""); rawString(c.evidence.name); raw("\",")
        frame("frame", "file", c.frame, names)
        raw(",\"time\":"); epochSeconds(c.time)
        timeFields("time", c.time); uid(u); raw("}")
    }

    mutating func anomaly(_ a: Anomaly, _ names: [String], uid u: UIDValue) {
        head("anomaly", a.connection)
        raw(",\"code\":\""); rawString(a.code.code); raw("\",\"severity\":\""); rawString(a.severity.name)
        raw("\",\"endpoint\":\""); rawString(a.endpoint.name); raw("\",")
        frame("frame", "file", a.frame, names)
        if let related = a.relatedFrame { raw(","); frame("related_frame", "related_frame_file", related, names) }
        if a.count > 1 { raw(",\"count\":"); int(a.count); raw(","); frame("last_frame", "last_frame_file", a.lastFrame, names) }
        raw(",\"time\":"); epochSeconds(a.time)
        raw(",\"client_before\":\""); rawString(a.clientBefore.name); raw("\",\"server_before\":\""); rawString(a.serverBefore.name)
        raw("\",\"client_after\":\""); rawString(a.clientAfter.name); raw("\",\"server_after\":\""); rawString(a.serverAfter.name)
        raw("\",\"message\":"); string(a.message)
        timeFields("time", a.time); uid(u); raw("}")
    }

    mutating func stateTimes(_ times: StateTimes, _ role: Role) {
        raw("{")
        var first = true
        for s in TCPState.allCases where times[role, s] > 0 {
            if !first { raw(",") }
            first = false
            raw("\""); rawString(s.name); raw("\":"); int(times[role, s])
        }
        raw("}")
    }

    mutating func connection(_ c: ConnectionSummary, _ names: [String], uid u: UIDValue, times: StateTimes?, tunnels: [TunnelPath]) {
        let f = c.facts
        raw("{\"type\":\"connection\",\"schema\":"); int(Writer.schemaVersion)
        raw(",\"id\":"); unsigned(c.ref.id); raw(",\"incarnation\":"); int(c.ref.incarnation)
        raw(",\"client\":"); socket(c.client); raw(",\"server\":"); socket(c.server)
        raw(",\"client_state\":\""); rawString(c.clientState.name); raw("\",\"server_state\":\""); rawString(c.serverState.name)
        raw("\",\"client_evidence\":\""); rawString(c.clientEvidence.name); raw("\",\"server_evidence\":\""); rawString(c.serverEvidence.name)
        raw("\",\"packets_client_to_server\":"); int(c.packetsFromClient); raw(",\"packets_server_to_client\":"); int(c.packetsFromServer)
        raw(",\"bytes_client_to_server\":"); int(c.bytesFromClient); raw(",\"bytes_server_to_client\":"); int(c.bytesFromServer)
        raw(","); frame("first_frame", "first_frame_file", c.firstFrame, names)
        raw(","); frame("last_frame", "last_frame_file", c.lastFrame, names)
        raw(",\"start\":"); epochSeconds(c.firstTime)
        raw(",\"duration\":"); fixed(Double(c.durationNanos) / 1e9, 9)
        raw(",\"anomalies\":"); int(c.anomalyCount); raw(",\"violations\":"); int(c.violationCount)
        raw(",\"midstream\":"); bool(c.midstream); raw(",\"client_guessed\":"); bool(c.clientGuessed)
        raw(",\"refused\":"); bool(c.refused); raw(",\"reset\":"); bool(c.reset)
        raw(",\"end\":\""); rawString((c.endReason ?? .endOfCapture).name); raw("\"")
        if c.tunnelID != 0 { rawString(TunnelFormat.connectionField(TunnelFormat.path(c.tunnelID, in: tunnels))) }
        if case .none = u { uid(.inline(ConnectionUID.text(c))) } else { uid(u) }
        raw(",\"community_id\":"); communityID(c.client, c.server)
        raw(",\"client_ip\":"); address(c.client.address); raw(",\"client_port\":"); int(c.client.port)
        raw(",\"server_ip\":"); address(c.server.address); raw(",\"server_port\":"); int(c.server.port)
        timeFields("start", c.firstTime); timeFields("last", c.lastTime)
        raw(",\"duration_ns\":"); int(c.durationNanos)
        raw(",\"reset_by\":\""); rawString(f.resetBy?.name ?? "none"); raw("\",\"closed_by\":\""); rawString(f.closedBy?.name ?? "none")
        raw("\",\"syn_to_synack_ns\":"); optional(f.synToSynAck); raw(",\"synack_to_ack_ns\":"); optional(f.synAckToAck)
        raw(",\"handshake_rtt_ns\":"); optional(f.handshakeRTT)
        raw(",\"client_state_ns\":"); stateTimes(times ?? StateTimes(), .client)
        raw(",\"server_state_ns\":"); stateTimes(times ?? StateTimes(), .server)
        raw(",\"zeek_conn_state\":\""); rawString(f.zeek.connState.name); raw("\",\"zeek_history\":"); string(f.zeek.history.text); raw("}")
    }
}

/// A record's uid: inline from the writer's clock, or a string from a caller of `line(…)`.
enum UIDValue {
    case none
    case inline(UIDText)
    case string(String)

    init(_ u: UIDText?) { self = u.map { .inline($0) } ?? .none }
    init(_ s: String?) { self = s.map { .string($0) } ?? .none }
}
