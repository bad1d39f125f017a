import WireStateDecoder
import WireStatePipeline
import WireStateTracker

/// The four per-event record types of schema 1 (docs/json-schema.md, docs/schema/*.json), built
/// into a `JSONLine`. Field order is part of the byte-for-byte output tests hold.
extension JSONLine {
    typealias Writer = JSONLinesWriter<StringSink>

    /// One enum case's spelling from `table` (`EncodedNames`).
    @inline(__always)
    mutating func name(_ table: EncodedNames, _ raw: UInt8) {
        append(contentsOf: table.bytes(raw))
    }

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

    /// `,"time_ns":…,"time_utc":"…"`. The three renderings of a record's time share their
    /// digits: after `epochSeconds` wrote `1700000000.123456789`, the nanoseconds are those
    /// digits without the dot and the RFC 3339 fraction is their last nine, copied (writing
    /// digits was a sixth of `--format jsonl`'s instructions).
    mutating func timeFields(_ key: StaticString, _ nanos: Int64) {
        raw(",\""); raw(key); raw("_ns\":")
        if let (seconds, dot) = writtenDigits(of: nanos) {
            repeatBytes(from: seconds, count: dot - seconds)
            repeatBytes(from: dot + 1, count: 9)
            raw(",\""); raw(key); raw("_utc\":"); rfc3339(nanos, fractionAt: dot + 1)
        } else {
            int(nanos)
            raw(",\""); raw(key); raw("_utc\":"); rfc3339(nanos)
        }
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
        let n = self.names
        head("transition", t.connection)
        raw(",\"endpoint\":\""); name(n.role, t.endpoint.rawValue); raw("\",\"from\":\""); name(n.state, t.from.rawValue)
        raw("\",\"to\":\""); name(n.state, t.to.rawValue); raw("\",\"evidence\":\""); name(n.evidence, t.evidence.rawValue)
        raw("\",\"cause\":"); name(n.causeSentence, t.cause.rawValue); raw(",\"cause_code\":\""); name(n.causeCode, t.cause.rawValue); raw("\",")
        frame("frame", "file", t.frame, names)
        raw(",\"time\":"); epochSeconds(t.time)
        timeFields("time", t.time); uid(u); raw("}")
    }

    mutating func confirmation(_ c: Confirmation, _ names: [String], uid u: UIDValue) {
        let n = self.names
        head("confirmation", c.connection)
        raw(",\"endpoint\":\""); name(n.role, c.endpoint.rawValue); raw("\",\"state\":\""); name(n.state, c.state.rawValue)
        raw("\",\"evidence\":\""); name(n.evidence, c.evidence.rawValue); raw("\",")
        frame("frame", "file", c.frame, names)
        raw(",\"time\":"); epochSeconds(c.time)
        timeFields("time", c.time); uid(u); raw("}")
    }

    mutating func anomaly(_ a: Anomaly, _ names: [String], uid u: UIDValue) {
        let n = self.names
        head("anomaly", a.connection)
        raw(",\"code\":\""); name(n.anomalyCode, a.code.rawValue); raw("\",\"severity\":\""); name(n.severity, a.severity.rawValue)
        raw("\",\"endpoint\":\""); name(n.role, a.endpoint.rawValue); raw("\",")
        frame("frame", "file", a.frame, names)
        if let related = a.relatedFrame { raw(","); frame("related_frame", "related_frame_file", related, names) }
        if a.count > 1 { raw(",\"count\":"); int(a.count); raw(","); frame("last_frame", "last_frame_file", a.lastFrame, names) }
        raw(",\"time\":"); epochSeconds(a.time)
        raw(",\"client_before\":\""); name(n.state, a.clientBefore.rawValue); raw("\",\"server_before\":\""); name(n.state, a.serverBefore.rawValue)
        raw("\",\"client_after\":\""); name(n.state, a.clientAfter.rawValue); raw("\",\"server_after\":\""); name(n.state, a.serverAfter.rawValue)
        raw("\",\"message\":"); string(a.message)
        timeFields("time", a.time); uid(u); raw("}")
    }

    mutating func stateTimes(_ times: StateTimes, _ role: Role) {
        let n = self.names
        raw("{")
        var first = true
        times.withTimes(of: role) { t in
            for s in TCPState.allCases where t[Int(s.rawValue)] > 0 {
                if !first { raw(",") }
                first = false
                raw("\""); name(n.state, s.rawValue); raw("\":"); int(t[Int(s.rawValue)])
            }
        }
        raw("}")
    }

    mutating func connection(_ c: ConnectionSummary, _ names: [String], uid u: UIDValue, times: StateTimes?, tunnels: [TunnelPath]) {
        let f = c.facts
        let n = self.names
        raw("{\"type\":\"connection\",\"schema\":"); int(Writer.schemaVersion)
        raw(",\"id\":"); unsigned(c.ref.id); raw(",\"incarnation\":"); int(c.ref.incarnation)
        raw(",\"client\":"); socket(c.client); raw(",\"server\":"); socket(c.server)
        raw(",\"client_state\":\""); name(n.state, c.clientState.rawValue); raw("\",\"server_state\":\""); name(n.state, c.serverState.rawValue)
        raw("\",\"client_evidence\":\""); name(n.evidence, c.clientEvidence.rawValue); raw("\",\"server_evidence\":\"");
        name(n.evidence, c.serverEvidence.rawValue)
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
        raw(",\"zeek_conn_state\":\""); name(n.zeekState, f.zeek.connState.rawValue); raw("\",\"zeek_history\":"); string(f.zeek.history.text); raw("}")
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
