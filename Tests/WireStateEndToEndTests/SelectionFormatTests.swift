import Foundation
import Testing

/// Issue 12, the browsing options with `--format jsonl`/`zeek` and `--quiet`: they shape the text
/// table only, so each is refused with a sentence naming it (never silently ignored), while the
/// terminal options (`--color`, `--no-pager`) are accepted everywhere and change nothing there.
@Suite struct SelectionFormatTests {
    static let multi = "Captures/multi.pcap"

    static let tableOptions: [[String]] = [
        ["--connection", "1"], ["--state", "CLOSE_WAIT"], ["--severity", "notable"], ["--code", "refused"],
        ["--midstream"], ["--reset"], ["--sort", "packets"], ["--sort", "start"], ["--limit", "3"],
        ["--anomalies"], ["--time", "absolute"], ["--time", "relative"]
    ]

    @Test(arguments: tableOptions)
    func tableOptionsAreRefusedWithRecordFormats(_ option: [String]) throws {
        for format in ["jsonl", "zeek"] {
            let r = try WireStateBinary.run(["analyze", "--format", format] + option + [Self.multi])
            #expect(r.status == 64, "\(option) \(format): \(r.stderr)")
            #expect(r.stdout.isEmpty)
            #expect(
                r.stderr.contains("\(option[0]) shapes the text report; with --format \(format) select records downstream"),
                "\(r.stderr)")
        }
    }

    @Test(arguments: tableOptions.filter { $0 != ["--anomalies"] })
    func tableOptionsAreRefusedWithQuiet(_ option: [String]) throws {
        let r = try WireStateBinary.run(["analyze", "--quiet"] + option + [Self.multi])
        #expect(r.status == 64, "\(option): \(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains("--quiet prints only the totals, which cover every connection, so \(option[0]) would change nothing"), "\(r.stderr)")
    }

    @Test func terminalOptionsAreAcceptedWithJSONLinesAndChangeNothing() throws {
        let plain = try WireStateBinary.run(["analyze", "--format", "jsonl", Self.multi])
        #expect(plain.status == 0)
        let records = plain.stdout.split(separator: "\n")
        #expect(records.filter { $0.contains("\"type\":\"connection\"") }.count == 6)
        let other = try WireStateBinary.run(["analyze", "--format", "jsonl", "--no-pager", "--color", "always", Self.multi])
        #expect(other.status == 0, "\(other.stderr)")
        #expect(other.stdout == plain.stdout)
        #expect(!other.stdout.contains("\u{1B}["))
    }

    @Test func theTextReportStillTakesThem() throws {
        let r = try WireStateBinary.run(["analyze", "--sort", "start", "--time", "relative", "--state", "CLOSE_WAIT", Self.multi])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("Showing 1 of 6 connections (--state CLOSE_WAIT)"), "\(r.stdout)")
    }
}
