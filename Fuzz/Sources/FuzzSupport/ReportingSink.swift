import WireStatePipeline
import WireStateReport
import WireStateDiagnose
import WireStateTracker

/// Every reporter at once on one pipeline: the text report's sink twice (`analyze --limit 0
/// --timeline`, its timelines mostly spilled to a temporary file, and `--sort bytes --limit 3 --anomalies`, whose rows displace each other), JSON Lines as
/// events arrive (`analyze --format jsonl`, flushed per event as `live` does), and the running
/// totals `live` prints, the Zeek conn.log and the diagnoses; all write into `DiscardSink`s.
public struct ReportingSink: EventSink {
    // Few lines in memory: the timelines past them go through the temporary file (`HeldTimelines`).
    public var text = TextReportSink(selection: ReportingSink.everyRow, timeline: true, linesInMemory: 16)
    public var fewest = TextReportSink(selection: ReportingSink.threeLargest, anomalies: true, linesInMemory: 2)
    static var everyRow: ConnectionSelection {
        var s = ConnectionSelection()
        s.limit = nil
        return s
    }
    static var threeLargest: ConnectionSelection {
        var s = ConnectionSelection()
        s.sort = .bytes
        s.limit = 3
        return s
    }
    public var json = JSONLinesWriter(out: DiscardSink(), flushEachEvent: true)
    public var totals = RunTotals()
    /// `analyze --format zeek`: the conn.log writer.
    public var zeek = ZeekConnLog(out: DiscardSink())
    /// `wirestate diagnose`'s rules, on the same events (their arithmetic meets every extreme time).
    public var diagnosis = DiagnosisCollector()

    public init(sourceNames: [String]) {
        json.sourceNames = sourceNames
    }

    public mutating func consume(_ event: TrackerEvent) {
        text.consume(event)
        fewest.consume(event)
        json.consume(event)
        totals.consume(event)
        zeek.consume(event)
        diagnosis.consume(event)
    }

    /// Ends the run as `analyze` does for each format: the JSON closing records, and every part of
    /// the text report. Returns the bytes written, so none of it is dead code.
    public mutating func finish(inputs: [InputReport]) -> Int {
        json.writeEnd(inputs: inputs)
        zeek.writeEnd(inputs: inputs)
        var out = DiscardSink()
        for sink in [text, fewest] {
            precondition(sink.pendingCount == 0, "the text report held events of a finished connection")
            let report = TextReport(sink: sink, inputs: inputs)
            report.table(to: &out)
            report.timeline(to: &out)
            report.anomalyList(to: &out, lead: "\n")
            precondition(sink.details.readFailures == 0, "a spilled timeline could not be read back")
            out.write(report.totals())
            out.write(report.summary())
        }
        out.write(totals.text(inputs: inputs))
        for f in diagnosis.findings() {
            out.write(DiagnosisReport.text(f))
            let line = DiagnosisReport.json(f, sourceNames: json.sourceNames)
            precondition(!line.unicodeScalars.contains { $0.value < 0x20 }, "raw control character in a diagnosis record")
            out.write(line)
        }
        return json.out.bytes + zeek.out.bytes + out.bytes
    }
}
