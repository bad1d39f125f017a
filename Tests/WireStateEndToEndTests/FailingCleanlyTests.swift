import Foundation
import Testing

/// A mistake is one line on stderr, exit 2 and no report; compressed captures are read directly.
@Suite struct FailingCleanlyTests {
    /// A directory of its own per test case (they run in parallel).
    static func dir() throws -> URL { try NamesAndTerminalTests.temporaryDirectory("clean-\(UUID().uuidString)") }
    static let multi = WireStateBinary.repo.appendingPathComponent("Captures/multi.pcap").path

    static func sh(_ script: String, in dir: URL) throws -> WireStateBinary.Result {
        try NamesAndTerminalTests.shell(script, in: dir)
    }

    @Test(arguments: [("gzip", "gz"), ("zstd", "zst"), ("xz", "xz"), ("bzip2", "bz2")])
    func compressedCapturesAreReadByTheirMagicBytes(_ tool: String, _ ext: String) throws {
        let d = try Self.dir()
        defer { try? FileManager.default.removeItem(at: d) }
        // Named .pcap on purpose: the magic bytes decide, not the name.
        let made = try Self.sh("\(tool) -c '\(Self.multi)' > c.pcap && cp c.pcap c.pcap.\(ext)", in: d)
        try #require(made.status == 0, "\(made.stderr)")
        let plain = try WireStateBinary.run(["analyze", "--format", "jsonl", Self.multi])
        for file in ["c.pcap", "c.pcap.\(ext)"] {
            let r = try Self.sh("exec \"$0\" analyze --format jsonl \(file)", in: d)
            #expect(r.status == 0, "\(r.stderr)")
            // The same records, but the input record names the file.
            #expect(
                r.stdout.split(separator: "\n").filter { !$0.contains("\"type\":\"input\"") }
                    == plain.stdout.split(separator: "\n").filter { !$0.contains("\"type\":\"input\"") })
        }
        // Through a pipe too: nothing is rewound, nothing is written to disk.
        let piped = try Self.sh("cat c.pcap | exec \"$0\" analyze --quiet -", in: d)
        #expect(piped.status == 0)
        #expect(piped.stdout.contains("Totals: 6 connections"))
    }

    @Test func aTruncatedCompressedCaptureNamesTheDecoderAndKeepsWhatWasRead() throws {
        let d = try Self.dir()
        defer { try? FileManager.default.removeItem(at: d) }
        _ = try Self.sh("gzip -c '\(Self.multi)' | head -c 600 > cut.pcap.gz", in: d)
        let r = try Self.sh("exec \"$0\" analyze cut.pcap.gz", in: d)
        #expect(r.status == 2)
        #expect(r.stderr.contains("cut.pcap.gz: frame ") && r.stderr.contains("gzip data ends early"), "\(r.stderr)")
        #expect(r.stdout.contains("Totals: "), "what was read before the cut is reported")
    }

    @Test(arguments: [
        ("page.pcap", "printf '<!DOCTYPE html>\\n<html><body>Sign in</body></html>\\n' > page.pcap", "HTML"),
        ("dump.pcap", "printf '12:00:00.000 IP 10.0.0.1.80 > 10.0.0.2.5000: Flags [S]\\n' > dump.pcap", "text (a tcpdump or tshark printout?)"),
        ("empty.pcap", ": > empty.pcap", "empty file"),
        ("text.gz", "echo hello | gzip > text.gz", "gzip-compressed, but what it holds is not a capture"),
        ("a.zip", "printf 'PK\\003\\004rest' > a.zip", "zip archive"),
        ("missing.pcap", "true", "No such file or directory"),
        ("sub", "mkdir -p sub", "is a directory")
    ])
    func aFileThatIsNotACaptureIsOneLineAndNoReport(_ name: String, _ make: String, _ says: String) throws {
        let d = try Self.dir()
        defer { try? FileManager.default.removeItem(at: d) }
        _ = try Self.sh(make, in: d)
        // Beside a good capture: the mistake stops the run before anything is read.
        let r = try Self.sh("exec \"$0\" analyze '\(Self.multi)' \(name)", in: d)
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty, "no empty report: \(r.stdout)")
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("\(name): ") && r.stderr.contains(says), "\(r.stderr)")
    }

    @Test func aBadFilterIsRejectedOnceBeforeAnyFileIsRead() throws {
        let r = try WireStateBinary.run(["analyze", "--filter", "tcp port nonsense(", Self.multi, Self.multi, "no-such.pcap"])
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("bad filter 'tcp port nonsense('"))
    }

    @Test(arguments: [
        (["--quiet", "--timeline"], "--quiet prints only the totals"),
        (["--timeline", "--format", "jsonl"], "--timeline is part of the text report"),
        (["--state", "CLOSE_WAIT", "--format", "zeek"], "--state shapes the text report"),
        (["--quiet", "--format", "jsonl"], "--quiet is for the text report"),
        (["--msl", "0"], "--msl must be above 0"),
        (["--state", "WAITING"], "--state takes an RFC 9293 state"),
        (["--connection", "x-y"], "--connection takes an ID"),
        (["--sort", "size"], "--sort must be"),
        (["--code", "nope"], "no anomaly code 'nope'"),
        (["--time", "local"], "--time must be relative, absolute or delta")
    ])
    func invalidCombinationsAreUsageErrorsWithASentence(_ args: [String], _ sentence: String) throws {
        let r = try WireStateBinary.run(["analyze"] + args + ["Captures/multi.pcap"])
        #expect(r.status == 64, "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains(sentence), "\(r.stderr)")
    }

    @Test(arguments: [
        ["interfaces"], ["analyze", "Captures/multi.pcap"], ["analyze", "--format", "jsonl", "Captures/multi.pcap"],
        ["check", "Captures/multi.pcap"], ["diagram", "Captures/multi.pcap", "--connection", "1"]
    ])
    func everySubcommandReportsAFullDisk(_ args: [String]) throws {
        let r = try NamesAndTerminalTests.shell("exec \"$0\" \(args.joined(separator: " ")) > /dev/full", in: WireStateBinary.repo)
        #expect(r.status == 2, "\(args): \(r.stderr)")
        #expect(r.stderr.contains("cannot write the output"), "\(r.stderr)")
    }

    @Test func standardInputThatIsNotACaptureIsOneLineAndNoReport() throws {
        let r = try NamesAndTerminalTests.shell("echo 'GET / HTTP/1.1' | exec \"$0\" analyze -", in: WireStateBinary.repo)
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty, "\(r.stdout)")
        #expect(r.stderr == "wirestate: error: -: text (a tcpdump or tshark printout?), not a capture: record with `tcpdump -w FILE`, not `tcpdump > FILE`\n")
    }

    @Test func aCompressedPcapngThatNeedsTheOwnReaderIsReadToo() throws {
        let d = try Self.dir()
        defer { try? FileManager.default.removeItem(at: d) }
        let fixture = WireStateBinary.repo.appendingPathComponent("Tests/Fixtures/decoder/multi-interface.pcapng").path
        _ = try Self.sh("xz -c '\(fixture)' > mi.pcapng.xz", in: d)
        let r = try Self.sh("exec \"$0\" analyze --quiet mi.pcapng.xz", in: d)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("Totals: 5 connections"))
        // From a pipe it cannot be read twice: it says how to proceed.
        let piped = try Self.sh("exec \"$0\" analyze - < '\(fixture)'", in: d)
        #expect(piped.status == 2)
        #expect(piped.stderr.contains("give it by file name: standard input cannot be read twice"))
    }
}
