import Foundation
import Testing

/// Inputs and options an attacker (or a slip of the keyboard) can give: never a crash, always a
/// sentence and an exit status, and nothing already computed is lost.
@Suite struct RobustnessCommandTests {
    /// Frames at both ends of the time range (Tests/Fixtures/robustness/make-extreme-times.py)
    /// once trapped on a subtraction; now it is a connection like any other, and a good capture
    /// read beside it keeps its results.
    static let extreme = "Tests/Fixtures/robustness/extreme-times.pcapng"

    @Test func extremeTimestampsAreAnalysedBesideAGoodCapture() throws {
        let r = try WireStateBinary.run(["analyze", Self.extreme, "Captures/refused.pcap"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("10.0.0.1:40000"))
        #expect(r.stdout.contains("Totals: 2 connections"))
        let j = try WireStateBinary.run(["analyze", "--format", "jsonl", Self.extreme])
        #expect(j.status == 0)
        #expect(j.stdout.contains("\"type\":\"connection\""))
        // Every other output made from the same run: none may trap on these times either.
        for args in [
            ["analyze", "--format", "zeek", Self.extreme], ["analyze", "--timeline", Self.extreme],
            ["diagram", Self.extreme, "--connection", "1"], ["diagram", Self.extreme, "--states"]
        ] {
            let r = try WireStateBinary.run(args)
            #expect(r.status == 0, "\(args): \(r.stderr.prefix(300))")
            #expect(!r.stdout.isEmpty)
        }
    }

    @Test func checkAndUpdateSurviveExtremeTimestamps() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ws-extreme-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for f in [Self.extreme, "Captures/refused.pcap"] {
            try FileManager.default.copyItem(
                at: WireStateBinary.repo.appendingPathComponent(f),
                to: dir.appendingPathComponent((f as NSString).lastPathComponent))
        }
        let update = try WireStateBinary.run(["check", "--update", dir.path])
        #expect(update.status == 0, "\(update.stdout)\(update.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("extreme-times.expect").path))
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("refused.expect").path))
        let check = try WireStateBinary.run(["check", dir.path])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }

    /// Each value once crashed or overflowed later; now each is a usage error naming its option.
    @Test(arguments: [
        (["analyze", "--msl", "1e10", "Captures/multi.pcap"], "--msl"),
        (["analyze", "--msl", "1e300", "Captures/multi.pcap"], "--msl"),
        (["analyze", "--msl", "4e9", "Captures/multi.pcap"], "--msl"),
        (["analyze", "--msl", "0", "Captures/multi.pcap"], "--msl"),
        (["analyze", "--msl", "nan", "Captures/multi.pcap"], "--msl"),
        (["analyze", "--closed-linger", "1e10", "Captures/multi.pcap"], "--closed-linger"),
        (["analyze", "--closed-linger", "-1", "Captures/multi.pcap"], "--closed-linger"),
        (["analyze", "--max-connections=-5", "Captures/multi.pcap"], "--max-connections"),
        (["check", "--msl", "1e300", "Captures/multi.pcap"], "--msl"),
        (["live", "-i", "lo", "--duration", "1e10"], "--duration"),
        (["live", "-i", "lo", "--idle-timeout", "1e10"], "--idle-timeout"),
        (["live", "-i", "lo", "--msl", "inf"], "--msl"),
        // The live-only options, audited at their edges (issue 14): each a usage error before
        // any capture opens (so these need no root).
        (["live", "-i", "lo", "--snaplen", "0"], "--snaplen"),
        (["live", "-i", "lo", "--snaplen", "99999999999"], "--snaplen"),
        (["live", "-i", "lo", "--count", "0"], "--count"),
        (["live", "-i", "lo", "--count", "99999999999999999999"], "--count"),
        (["live", "-i", "lo", "--buffer-size", "0"], "--buffer-size"),
        (["live", "-i", "lo", "--buffer-size", "99999999"], "--buffer-size"),
        (["live", "-i", "lo", "--duration", "nan"], "--duration"),
        (["live", "-i", "lo", "--duration", "inf"], "--duration"),
        (["live", "-i", "lo", "--duration=-1"], "--duration"),
        (["live", "-i", "lo", "--idle-timeout=-3"], "--idle-timeout"),
        (["live", "-i", "lo", "--closed-linger", "inf"], "--closed-linger"),
        (["live", "-i", "lo", "--vxlan-port", "70000"], "--vxlan-port"),
        (["live", "-i", "lo", "--tunnel-port", "vxlan=-1"], "--tunnel-port")
    ])
    func outOfRangeOptionsAreUsageErrors(_ args: [String], _ option: String) throws {
        let r = try WireStateBinary.run(args)
        #expect(r.status == 64, "\(args): \(r.stderr)")
        #expect(r.stdout.isEmpty)
        let first = try #require(r.stderr.split(separator: "\n").first)
        #expect(first.hasPrefix("Error:") && first.contains(option), "\(first)")
    }

    /// `--msl` takes effect: with a 1 s MSL the client's TIME_WAIT in client-close.pcap (which
    /// ends well within 2 s) is still TIME_WAIT, and reading it after a later capture cannot
    /// change that, but a 0.00001 s MSL expires it before the capture ends.
    @Test func theMslOptionTakesEffect() throws {
        let normal = try WireStateBinary.run(["analyze", "--format", "jsonl", "Captures/client-close.pcap"])
        let short = try WireStateBinary.run(["analyze", "--format", "jsonl", "--msl", "0.00001", "Captures/client-close.pcap"])
        #expect(normal.stdout.contains("\"client_state\":\"TIME_WAIT\""))
        #expect(short.stdout.contains("\"client_state\":\"CLOSED\""), "\(short.stdout)")
        #expect(short.stdout.contains("\"cause\":\"2·MSL elapsed\""))
    }

    /// A cap that is reached is reported in the totals and on each evicted connection.
    @Test func aReachedConnectionCapIsReported() throws {
        let r = try WireStateBinary.run(["analyze", "--max-connections", "2", "Captures/multi.pcap"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("evicted at the connection cap (--max-connections)"), "\(r.stdout)")
        let j = try WireStateBinary.run(["analyze", "--format", "jsonl", "--max-connections", "2", "Captures/multi.pcap"])
        let summary = try #require(j.stdout.split(separator: "\n").last)
        #expect(summary.contains("\"evicted\":"))
        #expect(!summary.contains("\"evicted\":0"))
        #expect(j.stdout.contains("\"end\":\"evicted\""))
        // A cap that is not reached changes nothing.
        let capped = try WireStateBinary.run(["analyze", "--format", "jsonl", "--max-connections", "100", "Captures/multi.pcap"])
        let free = try WireStateBinary.run(["analyze", "--format", "jsonl", "--max-connections", "0", "Captures/multi.pcap"])
        #expect(capped.stdout == free.stdout)
    }
}
