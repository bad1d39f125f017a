import WireStateDecoder
import WireStatePipeline
import WireStateTracker

/// The human report of `analyze`: a table of connections, an optional timeline, the anomalies, totals.
public struct TextReport {
    /// What the run kept for the report: rows, timelines, totals, the summary.
    public var sink: TextReportSink
    public var inputs: [InputReport]
    /// Width, clock and colour of the output (`ReportView`).
    public var view = ReportView()
    /// The connections the table, timeline and anomaly list show, in show order: those the
    /// sink's selection kept (`ConnectionSelection`, `ShownRows`). Totals and the summary always
    /// cover them all.
    public var rows: BlockStore<TextRow>

    public init(sink: TextReportSink, inputs: [InputReport]) {
        self.sink = sink
        self.inputs = inputs
        rows = sink.shownRows()
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

    /// The connection table (`ConnectionTable`: fitted to `view.width`).
    public func table() -> String {
        ConnectionTable(report: self, rows: rows, view: view).render()
    }

    /// The same, written a line at a time (`analyze` writes the report as it makes it).
    public func table<Out: TextSink>(to out: inout Out) {
        ConnectionTable(report: self, rows: rows, view: view).write(to: &out)
    }

    /// Per connection, every state change of each endpoint with frame and time.
    public func timeline() -> String {
        var out = StringSink()
        timeline(to: &out)
        return out.text
    }

    /// The same, written a connection at a time: with `--limit 0` the timelines of every
    /// connection are read back from where the sink kept them (`HeldTimelines`) one by one.
    public func timeline<Out: TextSink>(to out: inout Out) {
        let start = sink.firstTime ?? 0
        for c in rows {
            if out.isClosed { return }
            var previous = c.firstTime
            let inc = c.incarnation > 1 ? " (incarnation \(c.incarnation))" : ""
            var text = "connection \(c.id)\(inc): \(c.client) → \(c.server)\n"
            for event in Self.runsAtTheirStart(sink.details.entries(of: c.id)) {
                let f: FrameRef?, t: Int64, line: String
                switch event {
                case .transition(let x):
                    (f, t) = (x.frame, x.time)
                    line = "\(Format.pad(x.endpoint.name, 6))  \(x.from.name) → \(x.to.name)  [\(x.evidence.name); \(x.cause.name)]"
                case .confirmation(let x):
                    (f, t) = (x.frame, x.time)
                    line = "\(Format.pad(x.endpoint.name, 6))  \(x.state.name) confirmed by its own segment"
                case .anomaly(let x):
                    (f, t) = (x.frame, x.time)
                    line =
                        "  " + view.paint("!     \(x.code.code) (\(x.severity.name)): \(x.message)", x.severity)
                        + Self.repeats(x, frame(x.lastFrame))
                }
                text += "  frame \(Format.padLeft(frame(f), 6))  \(stamp(t, start: start, previous: previous))  \(line)\n"
                previous = t
            }
            text +=
                "  final: client \(Self.stateCell(c.clientState, c.clientEvidence)), "
                + "server \(Self.stateCell(c.serverState, c.serverEvidence))\n\n"
            out.write(text)
        }
    }

    /// Anomalies in frame order, one line each.
    public func anomalyList() -> String {
        var out = StringSink()
        anomalyList(to: &out)
        return out.text
    }

    /// The same, written a connection at a time; `lead` goes before the heading, and nothing at
    /// all is written when no shown connection had an anomaly.
    public func anomalyList<Out: TextSink>(to out: inout Out, lead: String = "") {
        var started = false
        for c in rows {
            if out.isClosed { return }
            // In frame order: a repeating finding arrives when its run ends, but is listed at its start.
            let list = sink.anomalies(of: c.id).enumerated().sorted {
                ($0.element.frame?.number ?? .max, $0.offset) < ($1.element.frame?.number ?? .max, $1.offset)
            }
            guard !list.isEmpty else { continue }
            var text = started ? "" : lead + "Anomalies:\n"
            started = true
            for a in list.lazy.map(\.element) {
                let id = a.connection.incarnation > 1 ? "\(a.connection.id).\(a.connection.incarnation)" : "\(a.connection.id)"
                text +=
                    "  conn \(id)  frame \(frame(a.frame))  " + view.paint("\(a.code.code) (\(a.severity.name))", a.severity)
                    + ": \(a.message)" + Self.repeats(a, frame(a.lastFrame)) + "\n"
            }
            out.write(text)
        }
    }

    /// A timeline's time column as `view.time` asks: offset from the run's start, UTC, or since the
    /// connection's previous line.
    func stamp(_ t: Int64, start: Int64, previous: Int64) -> String {
        switch view.time {
        case .relative: return Format.offset(t, from: start)
        case .absolute: return Format.rfc3339(t)
        case .delta: return Format.offset(t, from: previous)
        }
    }

    /// A repeating finding is delivered when its run ends; a timeline tells it where the run began.
    static func runsAtTheirStart(_ events: [TextReportSink.TimelineEntry]) -> [TextReportSink.TimelineEntry] {
        var out: [TextReportSink.TimelineEntry] = []
        var runs: [Anomaly] = []
        for e in events {
            if case .anomaly(let a) = e, a.lastFrame != nil { runs.append(a) } else { out.append(e) }
        }
        for run in runs {
            guard let start = run.frame else { out.append(.anomaly(run)); continue }
            let at = out.firstIndex { e in e.frame.map { start < $0 } ?? false } ?? out.count
            out.insert(.anomaly(run), at: at)
        }
        return out
    }

    /// " (×12, through frame 80)" for a finding that held over a run of segments.
    static func repeats(_ a: Anomaly, _ last: String) -> String {
        a.count > 1 ? " (×\(a.count), through frame \(last))" : ""
    }

    /// The run's overview (`Summary:`): the same `RunSummary` the JSON `summary` record is made
    /// of, counted in the same order (as connections finish).
    public func summary() -> String { sink.summary.text() }

    /// Totals over the whole run.
    public func totals() -> String { sink.totals.text(inputs: inputs) }
}
