import WireStateCapture
import WireStateDecoder
import WireStateTracker

/// A ladder (sequence) diagram of one connection: the two endpoints as columns, one arrow per
/// segment, each endpoint's state written down its column as it changes, anomalies beside the
/// segment that proves them. Runs of plain data segments (no state change, no anomaly) are folded
/// into one row with a count, so long connections stay readable. Rendered as text, Mermaid and SVG.
public struct LadderDiagram {
    public struct Segment {
        public var frame: UInt64
        public var fromClient: Bool
        public var flags: TCPFlags
        /// Relative to each side's ISN (or its first sequence number, midstream), as Wireshark shows them.
        public var seq: UInt32
        public var ack: UInt32?
        public var len: UInt32
    }

    public struct StateMark {
        public var role: Role
        public var state: TCPState
        public var evidence: Evidence
    }

    public enum Row {
        case segment(Segment, states: [StateMark], anomalies: [Anomaly])
        /// `count` data segments in each direction folded (frames first…last).
        case folded(count: Int, fromClient: Int, fromServer: Int, first: UInt64, last: UInt64, bytes: UInt64)
        /// State changes and anomalies without a frame (timers, end-of-capture findings).
        case note(states: [StateMark], anomalies: [Anomaly])
    }

    public var connection: ConnectionSummary
    public var rows: [Row] = []

    /// Runs longer than this are folded.
    public static let foldThreshold = 4

    /// Builds the rows from the connection's segments (in frame order) and its timeline events.
    public init(connection: ConnectionSummary, segments: [Segment], events: [TrackerEvent]) {
        self.connection = connection
        var states: [UInt64: [StateMark]] = [:], anomalies: [UInt64: [Anomaly]] = [:]
        // Confirmations do not stop a fold (data segments confirm states all the time).
        var confirmations: [UInt64: [StateMark]] = [:]
        var loose: [StateMark] = [], looseAnomalies: [Anomaly] = []
        for e in events {
            switch e {
            case .transition(let t):
                let m = StateMark(role: t.endpoint, state: t.to, evidence: t.evidence)
                if let f = t.frame { states[f.number, default: []].append(m) } else { loose.append(m) }
            case .confirmation(let c):
                confirmations[c.frame.number, default: []].append(StateMark(role: c.endpoint, state: c.state, evidence: c.evidence))
            case .anomaly(let a):
                if let f = a.frame { anomalies[f.number, default: []].append(a) } else { looseAnomalies.append(a) }
            default: break
            }
        }
        var run: [Segment] = []
        func flush() {
            if run.count >= Self.foldThreshold {
                let c = run.filter(\.fromClient).count
                rows.append(
                    .folded(
                        count: run.count, fromClient: c, fromServer: run.count - c, first: run.first!.frame,
                        last: run.last!.frame, bytes: run.reduce(0) { $0 + UInt64($1.len) }))
            } else {
                for s in run { rows.append(.segment(s, states: [], anomalies: [])) }
            }
            run.removeAll()
        }
        for s in segments {
            let st = states[s.frame] ?? [], an = anomalies[s.frame] ?? []
            let plain =
                s.len > 0 && st.isEmpty && an.isEmpty
                && s.flags.subtracting([.ack, .psh]).isEmpty && s.flags.contains(.ack)
            if plain { run.append(s); continue }
            flush()
            rows.append(.segment(s, states: Self.last(st + (confirmations[s.frame] ?? [])), anomalies: an))
        }
        flush()
        if !loose.isEmpty || !looseAnomalies.isEmpty { rows.append(.note(states: Self.last(loose), anomalies: looseAnomalies)) }
    }

    /// Per endpoint, the state it ended the frame in (several moves at one frame show the last).
    static func last(_ marks: [StateMark]) -> [StateMark] {
        var out: [StateMark] = []
        for role in Role.allCases { if let m = marks.last(where: { $0.role == role }) { out.append(m) } }
        return out
    }

    /// Reads the connection's segments from its capture file: the frames between its first and
    /// last, on its 4-tuple.
    public static func segments(path: String, of c: ConnectionSummary) throws -> [Segment] {
        let file = try PcapFile(path: path)
        guard let link = LinkType(dlt: file.dataLinkType) else { return [] }
        var decoder = PacketDecoder(linkType: link)
        var out: [Segment] = []
        var seg = TCPSegment.empty
        var isn: (client: UInt32?, server: UInt32?) = (nil, nil)
        while let f = try file.next() {
            if f.number < c.firstFrame.number { continue }
            if f.number > c.lastFrame.number { break }
            guard decoder.decode(f.bytes, wireLength: f.wireLength, frame: f.number, into: &seg) == .tcp else { continue }
            let fromClient = seg.source == c.client && seg.destination == c.server
            guard fromClient || (seg.source == c.server && seg.destination == c.client) else { continue }
            if fromClient { if isn.client == nil { isn.client = seg.sequence } } else if isn.server == nil { isn.server = seg.sequence }
            if seg.flags.contains(.ack) {
                if fromClient, isn.server == nil { isn.server = seg.acknowledgment &- 1 }
                if !fromClient, isn.client == nil { isn.client = seg.acknowledgment &- 1 }
            }
            let own = (fromClient ? isn.client : isn.server) ?? seg.sequence
            let peer = (fromClient ? isn.server : isn.client) ?? seg.acknowledgment
            out.append(
                Segment(
                    frame: f.number, fromClient: fromClient, flags: seg.flags, seq: seg.sequence &- own,
                    ack: seg.flags.contains(.ack) ? seg.acknowledgment &- peer : nil, len: seg.payloadLength))
        }
        return out
    }

    // MARK: Labels

    public static func label(_ s: Segment) -> String {
        let flags = s.flags.subtracting([.psh, .ece, .cwr, .ns, .urg]).names
        return "\(flags) seq=\(s.seq)" + (s.ack.map { " ack=\($0)" } ?? "") + " len=\(s.len)"
    }

    static func mark(_ m: StateMark) -> String {
        m.evidence == .observed ? m.state.name : "(\(m.state.name))"
    }

    static func foldedLabel(count: Int, fromClient: Int, fromServer: Int, bytes: UInt64) -> String {
        "… \(count) data segments folded (\(fromClient) →, \(fromServer) ←, \(bytes) bytes)"
    }

    // MARK: Text

    /// A terminal ladder: frame, client state, the arrow with its label, server state.
    public func text() -> String {
        let w = 44
        var out = "connection \(connection.ref.id): client \(connection.client)  ⇄  server \(connection.server)\n"
        out += Format.pad("frame", 7) + Format.pad("client", 16) + String(repeating: " ", count: w + 2) + "server\n"
        func line(_ frame: String, _ cs: String, _ mid: String, _ ss: String) -> String {
            Format.padLeft(frame, 5) + "  " + Format.pad(cs, 15) + " " + mid + " " + ss + "\n"
        }
        for row in rows {
            switch row {
            case .segment(let s, let states, let anomalies):
                let lab = Self.label(s)
                let body = lab.count + 4 > w ? String(lab.prefix(w - 4)) : lab
                let dashes = max(1, w - body.count - 3)
                let mid =
                    s.fromClient
                    ? "─" + body + " " + String(repeating: "─", count: dashes) + "▶"
                    : "◀" + String(repeating: "─", count: dashes) + " " + body + "─"
                let cs = states.first { $0.role == .client }.map(Self.mark) ?? "│"
                let ss = states.first { $0.role == .server }.map(Self.mark) ?? "│"
                out += line("\(s.frame)", cs, mid, ss)
                for a in anomalies { out += line("", "│", "  ! \(a.code.code): \(a.message)", "") }
            case .folded(let n, let c, let s, let first, let last, let bytes):
                out += line("\(first)-\(last)", "│", Self.foldedLabel(count: n, fromClient: c, fromServer: s, bytes: bytes), "│")
            case .note(let states, let anomalies):
                let cs = states.first { $0.role == .client }.map(Self.mark) ?? "│"
                let ss = states.first { $0.role == .server }.map(Self.mark) ?? "│"
                out += line("—", cs, Format.pad("(no frame: timer or end of capture)", w), ss)
                for a in anomalies { out += line("", "│", "  ! \(a.code.code): \(a.message)", "") }
            }
        }
        out +=
            "final: client \(connection.clientState.name) (\(connection.clientEvidence.name)), "
            + "server \(connection.serverState.name) (\(connection.serverEvidence.name)); (STATE) = inferred\n"
        return out
    }

    // MARK: Mermaid

    /// A Mermaid `sequenceDiagram`: notes over each participant for states, red-marked notes
    /// (`⚠`) for anomalies.
    public func mermaid() -> String {
        var out = "sequenceDiagram\n"
        out += "    participant C as client \(connection.client)\n    participant S as server \(connection.server)\n"
        func notes(_ states: [StateMark]) {
            for m in states {
                out += "    Note over \(m.role == .client ? "C" : "S"): \(m.evidence == .observed ? "■" : "□") \(m.state.name)\n"
            }
        }
        for row in rows {
            switch row {
            case .segment(let s, let states, let anomalies):
                out += "    \(s.fromClient ? "C->>S" : "S->>C"): #\(s.frame) \(Self.label(s))\n"
                notes(states)
                for a in anomalies { out += "    Note over C,S: ⚠ \(a.code.code)\n" }
            case .folded(let n, let c, let s, let first, let last, let bytes):
                out += "    Note over C,S: frames \(first)-\(last) \(Self.foldedLabel(count: n, fromClient: c, fromServer: s, bytes: bytes))\n"
            case .note(let states, let anomalies):
                notes(states)
                for a in anomalies { out += "    Note over C,S: ⚠ \(a.code.code)\n" }
            }
        }
        return out
    }
}
