import WireStateDecoder
import WireStatePipeline
import WireStateTracker

/// The human report of `analyze`: a table of connections, an optional timeline, the anomalies, totals.
public struct TextReport {
    public var collector: AnalysisCollector
    public var inputs: [InputReport]

    public init(collector: AnalysisCollector, inputs: [InputReport]) {
        self.collector = collector
        self.inputs = inputs
    }

    /// `frame 12`, or `capture.pcap#12` when several inputs were read.
    public func frame(_ f: FrameRef?) -> String {
        guard let f else { return "—" }
        if inputs.count > 1, Int(f.source) < inputs.count {
            return "\(baseName(inputs[Int(f.source)].name))#\(f.number)"
        }
        return "\(f.number)"
    }

    func baseName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    static func stateCell(_ s: TCPState, _ e: Evidence) -> String {
        let mark: String
        switch e {
        case .observed: mark = ""
        case .inferred: mark = " (inferred)"
        case .unknown: mark = " (unknown)"
        }
        return s.name + mark
    }

    /// The connection table.
    public func table() -> String {
        let rows = collector.sortedConnections
        var lines: [[String]] = [["ID", "CLIENT", "SERVER", "CLIENT STATE", "SERVER STATE",
                                  "PKTS C>S", "PKTS S>C", "BYTES C>S", "BYTES S>C", "DURATION", "ANOMALIES"]]
        for c in rows {
            let id = c.ref.incarnation > 1 ? "\(c.ref.id).\(c.ref.incarnation)" : "\(c.ref.id)"
            var flags: [String] = []
            if c.midstream { flags.append("midstream") }
            if c.refused { flags.append("refused") }
            if c.tunnelID != 0 { flags.append(collector.tunnel(of: c).text) }
            let anomalies = c.anomalyCount == 0 ? "0"
                : "\(c.anomalyCount)" + (c.violationCount > 0 ? " (\(c.violationCount) violation\(c.violationCount == 1 ? "" : "s"))" : "")
            lines.append([id, c.client.description + (c.clientGuessed ? "?" : ""), c.server.description,
                          Self.stateCell(c.clientState, c.clientEvidence), Self.stateCell(c.serverState, c.serverEvidence),
                          "\(c.packetsFromClient)", "\(c.packetsFromServer)", "\(c.bytesFromClient)", "\(c.bytesFromServer)",
                          Format.duration(c.durationNanos),
                          anomalies + (flags.isEmpty ? "" : "  [" + flags.joined(separator: ", ") + "]")])
        }
        var widths = [Int](repeating: 0, count: lines[0].count)
        for l in lines { for (i, cell) in l.enumerated() { widths[i] = max(widths[i], cell.count) } }
        let numeric: Set<Int> = [0, 5, 6, 7, 8]
        var out = ""
        for l in lines {
            var cells: [String] = []
            for (i, cell) in l.enumerated() {
                if i == l.count - 1 { cells.append(cell) } else {
                    cells.append(numeric.contains(i) ? Format.padLeft(cell, widths[i]) : Format.pad(cell, widths[i]))
                }
            }
            out += cells.joined(separator: "  ") + "\n"
        }
        if rows.contains(where: \.clientGuessed) {
            out += "? client guessed from the ports: no SYN was captured\n"
        }
        return out
    }

    /// Per connection, every state change of each endpoint with frame and time.
    public func timeline() -> String {
        let start = collector.firstTime ?? 0
        var out = ""
        for c in collector.sortedConnections {
            let inc = c.ref.incarnation > 1 ? " (incarnation \(c.ref.incarnation))" : ""
            out += "connection \(c.ref.id)\(inc): \(c.client) → \(c.server)\n"
            for event in Self.runsAtTheirStart(collector.timeline[c.ref.id] ?? []) {
                let f: FrameRef?, t: Int64, text: String
                switch event {
                case .transition(let x):
                    (f, t) = (x.frame, x.time)
                    text = "\(Format.pad(x.endpoint.name, 6))  \(x.from.name) → \(x.to.name)  [\(x.evidence.name); \(x.cause.name)]"
                case .confirmation(let x):
                    (f, t) = (x.frame, x.time)
                    text = "\(Format.pad(x.endpoint.name, 6))  \(x.state.name) confirmed by its own segment"
                case .anomaly(let x):
                    (f, t) = (x.frame, x.time)
                    text = "  !     \(x.code.code) (\(x.severity.name)): \(x.message)" + Self.repeats(x, frame(x.lastFrame))
                default:
                    continue
                }
                out += "  frame \(Format.padLeft(frame(f), 6))  \(Format.offset(t, from: start))  \(text)\n"
            }
            out += "  final: client \(Self.stateCell(c.clientState, c.clientEvidence)), "
                + "server \(Self.stateCell(c.serverState, c.serverEvidence))\n\n"
        }
        return out
    }

    /// Anomalies in frame order, one line each.
    public func anomalyList() -> String {
        var all: [Anomaly] = []
        for c in collector.sortedConnections {
            // In frame order: a repeating finding arrives when its run ends, but is listed at its start.
            let list = (collector.anomalies[c.ref.id] ?? []).enumerated().sorted {
                ($0.element.frame?.number ?? .max, $0.offset) < ($1.element.frame?.number ?? .max, $1.offset)
            }
            all += list.map(\.element)
        }
        guard !all.isEmpty else { return "" }
        var out = "Anomalies:\n"
        for a in all {
            let id = a.connection.incarnation > 1 ? "\(a.connection.id).\(a.connection.incarnation)" : "\(a.connection.id)"
            out += "  conn \(id)  frame \(frame(a.frame))  \(a.code.code) (\(a.severity.name)): \(a.message)"
                + Self.repeats(a, frame(a.lastFrame)) + "\n"
        }
        return out
    }

    /// A repeating finding is delivered when its run ends; a timeline tells it where the run began.
    static func runsAtTheirStart(_ events: [TrackerEvent]) -> [TrackerEvent] {
        var out: [TrackerEvent] = []
        var runs: [Anomaly] = []
        for e in events {
            if case .anomaly(let a) = e, a.lastFrame != nil { runs.append(a) } else { out.append(e) }
        }
        for run in runs {
            guard let start = run.frame else { out.append(.anomaly(run)); continue }
            let at = out.firstIndex { e in
                let f: FrameRef?
                switch e {
                case .transition(let x): f = x.frame
                case .confirmation(let x): f = x.frame
                case .anomaly(let x): f = x.frame
                default: f = nil
                }
                return f.map { start < $0 } ?? false
            } ?? out.count
            out.insert(.anomaly(run), at: at)
        }
        return out
    }

    /// " (×12, through frame 80)" for a finding that held over a run of segments.
    static func repeats(_ a: Anomaly, _ last: String) -> String {
        a.count > 1 ? " (×\(a.count), through frame \(last))" : ""
    }

    /// The run's overview (`Summary:`): the same `RunSummary` the JSON `summary` record is made of.
    public func summary() -> String {
        var summary = RunSummary()
        for c in collector.sortedConnections { summary.add(c, times: collector.stateTimes[c.ref.id] ?? StateTimes()) }
        for c in collector.sortedConnections { for a in collector.anomalies[c.ref.id] ?? [] { summary.add(a) } }
        return summary.text()
    }

    /// Totals over the whole run.
    public func totals() -> String {
        var totals = RunTotals()
        for c in collector.connections { totals.add(c) }
        for list in collector.anomalies.values { for a in list { totals.add(a) } }
        return totals.text(inputs: inputs)
    }
}
