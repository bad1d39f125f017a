import Foundation
import Testing

/// Options whose only earlier tests were range checks or live runs: each test here passes the
/// option and asserts the output changes the way its help says, so an option that is parsed and
/// then ignored fails.
@Suite struct OptionEffectTests {
    /// `check --quiet` drops the "ok" lines of passing captures and keeps the summary.
    @Test func checkQuietDropsPassingLines() throws {
        let loud = try WireStateBinary.run(["check", "Captures/multi.pcap", "Captures/refused.pcap"])
        let quiet = try WireStateBinary.run(["check", "--quiet", "Captures/multi.pcap", "Captures/refused.pcap"])
        #expect(loud.status == 0 && quiet.status == 0)
        #expect(loud.stdout.contains("ok    Captures/multi.pcap"))
        #expect(!quiet.stdout.contains("ok    "), "stdout: \(quiet.stdout)")
        #expect(quiet.stdout.contains("check: 2 captures, 2 passed, 0 failed, 0 errors"))
    }

    /// `analyze --closed-linger`: a connection closed by RST is held that long, so a new SYN on the
    /// same tuple 5 s later is a second incarnation of it (port-reuse) with the default 10 s, and a
    /// connection of its own, without port-reuse, once the linger (1 s) has let it go.
    @Test func analyzeClosedLingerDecidesWhetherAReopenIsReuse() throws {
        let d = try FR.dir()
        let c: UInt32 = 1000, s: UInt32 = 5000
        func open(_ c: UInt32) -> [[UInt8]] {
            [
                FR.ipv4(FR.a, FR.b, FR.tcp(40000, 80, seq: c, ack: 0, flags: FR.syn)),
                FR.ipv4(FR.b, FR.a, FR.tcp(80, 40000, seq: s, ack: c + 1, flags: FR.syn | FR.ack)),
                FR.ipv4(FR.a, FR.b, FR.tcp(40000, 80, seq: c + 1, ack: s + 1, flags: FR.ack))
            ]
        }
        let first = open(c) + [FR.ipv4(FR.a, FR.b, FR.tcp(40000, 80, seq: c + 1, ack: s + 1, flags: 0x14))]
        var records = first.enumerated().map {
            FR.Record(
                nanos: 1_000_000_000 + Int64($0.offset) * 1_000_000,
                data: FR.ethernet($0.element))
        }
        records += open(90_000).enumerated().map {
            FR.Record(
                nanos: 6_000_000_000 + Int64($0.offset) * 1_000_000,
                data: FR.ethernet($0.element))
        }
        let path = try FR.write(FR.pcap(link: 1, records), "reopen.pcap", in: d)
        let held = try WireStateBinary.run(["analyze", "--format", "jsonl", path])
        let gone = try WireStateBinary.run(["analyze", "--format", "jsonl", "--closed-linger", "1", path])
        #expect(held.status == 0 && gone.status == 0, "\(held.stderr) \(gone.stderr)")
        #expect(held.stdout.contains("\"port-reuse\""), "stdout: \(held.stdout)")
        #expect(!gone.stdout.contains("\"port-reuse\""), "stdout: \(gone.stdout)")
        let count = { (t: String) in t.split(separator: "\n").filter { $0.contains("\"type\":\"connection\"") }.count }
        #expect(count(gone.stdout) == 2)
    }
}
