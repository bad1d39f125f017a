import Testing
import WireStateReport

/// The text report is written as it is made, and stops making what can no longer be written
/// (the pager quit): a report of a million rows does not run to its end for nobody.
@Suite struct TextReportWritingTests {
    /// Counts writes, and is closed after `openFor` of them.
    struct ClosingSink: TextSink {
        var openFor: Int
        var writes = 0
        var text = ""
        mutating func write(_ s: String) {
            writes += 1
            text += s
        }
        var isClosed: Bool { writes >= openFor }
    }

    static func report() -> TextReport {
        var s = ConnectionSelection()
        s.limit = 0
        var sink = TextReportSink(selection: s, timeline: true)
        ConnectionSelectionTests.replay(into: &sink)
        return TextReport(sink: sink, inputs: [])
    }

    @Test func eachPartStopsOnceItsOutputIsClosed() {
        let report = Self.report()
        #expect(report.rows.count > 10)
        var open = ClosingSink(openFor: .max)
        report.table(to: &open)
        #expect(open.writes >= report.rows.count + 1, "a line per row and the header")
        #expect(open.text == report.table())
        for part in ["table", "timeline", "anomalies"] {
            var closing = ClosingSink(openFor: 3)
            switch part {
            case "table": report.table(to: &closing)
            case "timeline": report.timeline(to: &closing)
            default: report.anomalyList(to: &closing)
            }
            #expect(closing.writes == 3, "\(part): \(closing.writes) writes after the output closed at 3")
        }
    }
}
