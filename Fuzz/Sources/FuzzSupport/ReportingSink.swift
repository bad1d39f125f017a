import WireStatePipeline
import WireStateReport
import WireStateDiagnose
import WireStateTracker

/// Every reporter at once on one pipeline: text through the collector (`analyze`), JSON Lines as
/// events arrive (`analyze --format jsonl`, flushed per event as `live` does), and the running
/// totals `live` prints, the Zeek conn.log and the diagnoses; all write into `DiscardSink`s.
public struct ReportingSink: EventSink {
    public var collector = AnalysisCollector(keepTimeline: true)
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
        collector.consume(event)
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
        let report = TextReport(collector: collector, inputs: inputs)
        var text = DiscardSink()
        text.write(report.table())
        text.write(report.timeline())
        text.write(report.anomalyList())
        text.write(report.totals())
        text.write(totals.text(inputs: inputs))
        for f in diagnosis.findings() {
            text.write(DiagnosisReport.text(f))
            let line = DiagnosisReport.json(f, sourceNames: json.sourceNames)
            precondition(!line.unicodeScalars.contains { $0.value < 0x20 }, "raw control character in a diagnosis record")
            text.write(line)
        }
        return json.out.bytes + zeek.out.bytes + text.bytes
    }
}
