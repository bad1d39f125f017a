import Foundation
import Testing

/// What a person at a terminal sees: width-fitted rows, the pager, colour, the progress line and
/// Ctrl-C. Each runs the binary on a pseudo-terminal (Tests/Fixtures/terminal/pty-run.py).
@Suite(.serialized) struct TerminalTests {
    struct Screen { var status: Int; var output: String }

    static func onTerminal(
        _ args: [String], cols: Int = 150, rows: Int = 60, env: [String] = [],
        stdin: String? = nil, slow: Double? = nil, interrupt: Double? = nil
    ) throws -> Screen {
        var helper = [
            "python3", WireStateBinary.repo.appendingPathComponent("Tests/Fixtures/terminal/pty-run.py").path,
            "--cols", "\(cols)", "--rows", "\(rows)"
        ]
        for e in env { helper += ["--env", e] }
        if let stdin { helper += ["--stdin", stdin] }
        if let slow { helper += ["--slow", "\(slow)"] }
        if let interrupt { helper += ["--interrupt", "\(interrupt)"] }
        let r = try WireStateBinary.run(
            executable: URL(fileURLWithPath: "/usr/bin/env"),
            helper + ["--", WireStateBinary.url.path] + args, in: WireStateBinary.repo)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stderr)")
        return Screen(status: json["status"] as? Int ?? -1, output: (json["output"] as? String ?? "").replacingOccurrences(of: "\r\n", with: "\n"))
    }

    static func visible(_ line: Substring) -> Int {
        line.replacingOccurrences(of: #"\u{1b}\[[0-9;]*m"#, with: "", options: .regularExpression).count
    }

    @Test(arguments: [80, 100, 119])
    func tableRowsFitTheTerminalAndNeverWrap(_ cols: Int) throws {
        let s = try Self.onTerminal(["analyze", "--no-pager", "Captures/multi.pcap", "Captures/half-open.pcap"], cols: cols)
        #expect(s.status == 0)
        let lines = s.output.split(separator: "\n")
        let header = try #require(lines.first { $0.hasPrefix("ID ") })
        let rows = lines.drop { !$0.hasPrefix("ID ") }.prefix { $0.hasPrefix("ID ") || $0.first == " " }
        #expect(rows.count == 8)
        for row in rows { #expect(Self.visible(row) <= cols, "\(row)") }
        #expect(!header.contains("BYTES C>S"), "counts merged below 120 columns")
        #expect(header.contains("CLIENT STATE") && header.contains("SERVER STATE") && header.hasSuffix("ANOMALIES"))
        // The same command in a pipe has every column.
        let piped = try WireStateBinary.run(["analyze", "Captures/multi.pcap"])
        #expect(piped.stdout.contains("BYTES C>S") && piped.stdout.contains("START"))
    }

    @Test func theStartColumnShowsOnAWideTerminal() throws {
        let s = try Self.onTerminal(["analyze", "--no-pager", "Captures/multi.pcap"], cols: 200)
        #expect(s.output.contains("ID  START      CLIENT"))
        let abs = try Self.onTerminal(["analyze", "--no-pager", "--time", "absolute", "Captures/multi.pcap"], cols: 200)
        #expect(abs.output.range(of: #"\n 1  \d\d:\d\d:\d\d\.\d{6}  127\.0\.0\.1"#, options: .regularExpression) != nil, "\(abs.output)")
    }

    @Test func aLongReportGoesThroughThePagerOnlyOnATerminal() throws {
        let pager = "PAGER=sed s/^/PAGED:/"
        let long = try Self.onTerminal(["analyze", "Captures/multi.pcap"], rows: 10, env: [pager])
        #expect(long.output.contains("PAGED:Totals: 6 connections"), "\(long.output)")
        // The report is written as it is made: what comes after the first screen goes through the
        // pager too, every line of it.
        let longer = try Self.onTerminal(["analyze", "--limit", "0", "--timeline", "--anomalies", "Captures/multi.pcap"], rows: 10, env: [pager])
        let all = try WireStateBinary.run(["analyze", "--limit", "0", "--timeline", "--anomalies", "Captures/multi.pcap"])
        let paged = longer.output.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(paged.allSatisfy { $0.hasPrefix("PAGED:") }, "\(longer.output)")
        #expect(paged.map { String($0.dropFirst(6)) } == all.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init))
        let fits = try Self.onTerminal(["analyze", "Captures/multi.pcap"], rows: 80, env: [pager])
        #expect(!fits.output.contains("PAGED:") && fits.output.contains("Totals: 6 connections"))
        let off = try Self.onTerminal(["analyze", "--no-pager", "Captures/multi.pcap"], rows: 10, env: [pager])
        #expect(!off.output.contains("PAGED:") && off.output.contains("Totals: 6 connections"))
        // Not a terminal: never paged.
        let piped = try NamesAndTerminalTests.shell("PAGER='sed s/^/PAGED:/' exec \"$0\" analyze Captures/multi.pcap", in: WireStateBinary.repo)
        #expect(!piped.stdout.contains("PAGED:"))
    }

    @Test func colourOnATerminalOnly() throws {
        let yellow = "\u{1b}[33mCLOSE_WAIT"
        let tty = try Self.onTerminal(["analyze", "--no-pager", "Captures/multi.pcap"], env: ["NO_COLOR="])
        #expect(tty.output.contains(yellow), "a stuck state is coloured")
        let red = try Self.onTerminal(["analyze", "--no-pager", "--anomalies", "Captures/half-open.pcap"], env: ["NO_COLOR="])
        #expect(red.output.contains("\u{1b}[33mpeer-unresponsive (suspicious)"))
        let noColor = try Self.onTerminal(["analyze", "--no-pager", "Captures/multi.pcap"], env: ["NO_COLOR=1"])
        #expect(!noColor.output.contains("\u{1b}["))
        let never = try Self.onTerminal(["analyze", "--no-pager", "--color", "never", "Captures/multi.pcap"], env: ["NO_COLOR="])
        #expect(!never.output.contains("\u{1b}["))
        let pipe = try WireStateBinary.run(["analyze", "Captures/multi.pcap"])
        #expect(!pipe.stdout.contains("\u{1b}["))
        let always = try WireStateBinary.run(["analyze", "--color", "always", "Captures/multi.pcap"])
        #expect(always.stdout.contains(yellow))
    }

    /// multi.pcap's recorded frames 400 times over, each copy later in time (20,400 frames), as
    /// wirestate-bench builds its big input: enough frames for the progress check to run.
    static func longCapture() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ws-long-\(getpid()).pcap").path
        let script = """
            import struct, sys
            d = open('Captures/multi.pcap', 'rb').read()
            out = [d[:24]]
            recs, o = [], 24
            while o < len(d):
                sec, frac, cap, orig = struct.unpack('<IIII', d[o:o+16]); recs.append((sec, frac, d[o+16:o+16+cap], orig)); o += 16 + cap
            for k in range(400):
                for sec, frac, data, orig in recs:
                    out.append(struct.pack('<IIII', sec + k, frac, len(data), orig) + data)
            open(sys.argv[1], 'wb').write(b''.join(out))
            """
        let r = try WireStateBinary.run(executable: URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script, path], in: WireStateBinary.repo)
        try #require(r.status == 0, "\(r.stderr)")
        return path
    }

    @Test func aSlowInputShowsProgressOnStderrAndAFastOneDoesNot() throws {
        let long = try Self.longCapture()
        defer { try? FileManager.default.removeItem(atPath: long) }
        let slow = try Self.onTerminal(["analyze", "--no-pager", "-"], stdin: long, slow: 2.5)
        #expect(slow.status == 0)
        #expect(slow.output.contains("reading -: ") && slow.output.contains("connections open"), "\(slow.output)")
        #expect(slow.output.contains("\u{1b}[K"), "the line is redrawn in place and erased")
        let fast = try Self.onTerminal(["analyze", "--no-pager", "Captures/multi.pcap"])
        #expect(!fast.output.contains("reading "))
        let quiet = try Self.onTerminal(["analyze", "--quiet", "-"], stdin: long, slow: 2.5)
        #expect(!quiet.output.contains("reading "))
    }

    @Test func ctrlCPrintsThePartialReportAndExits130() throws {
        // Half the capture arrives at once, the rest never does before Ctrl-C.
        let s = try Self.onTerminal(["analyze", "--no-pager", "-"], stdin: "Captures/multi.pcap", slow: 30, interrupt: 1.5)
        #expect(s.status == 130, "\(s.output)")
        #expect(s.output.contains("Partial: interrupted (Ctrl-C)"))
        #expect(s.output.contains("wirestate: interrupted: the report is partial"))
        #expect(s.output.contains("Totals: 3 connections"), "what was read before Ctrl-C: \(s.output)")
        #expect(!s.output.contains("error:"), "the read the signal broke is not damage")
    }
}
