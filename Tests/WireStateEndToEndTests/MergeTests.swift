import Foundation
import Testing

/// `wirestate merge` (issue 10, item 6): the JSON Lines of N `--shard` runs, joined, are byte for
/// byte what one run prints: the same connection numbers, the same record order, the same summary.
@Suite struct MergeTests {
    /// Runs `analyze --format jsonl` over `inputs` once, and as `n` shards merged (the shard files
    /// given to merge in a shuffled order); returns both outputs.
    static func oneRunAndMerged(_ options: [String], _ inputs: [String], shards n: Int, tag: String) throws -> (one: String, merged: String) {
        let dir = try NamesAndTerminalTests.temporaryDirectory("merge-\(tag)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let one = try WireStateBinary.run(["analyze", "--format", "jsonl"] + options + inputs)
        #expect(one.status == 0, "\(one.stderr)")
        var files: [String] = []
        for k in 1...n {
            let r = try WireStateBinary.run(["analyze", "--format", "jsonl", "--shard", "\(k)/\(n)"] + options + inputs)
            #expect(r.status == 0, "shard \(k)/\(n): \(r.stderr)")
            let path = dir.appendingPathComponent("shard-\(k).jsonl").path
            try r.stdout.write(toFile: path, atomically: true, encoding: .utf8)
            files.append(path)
        }
        // Any order: merge sorts the shards by the K/N their summaries name.
        var rng = SystemRandomNumberGenerator()
        let merged = try WireStateBinary.run(["merge"] + files.shuffled(using: &rng))
        #expect(merged.status == 0, "\(merged.stderr)")
        return (one.stdout, merged.stdout)
    }

    /// Where two outputs first differ, as a short message (nil when they are the same): the whole
    /// outputs are too long to read in a failure.
    static func firstDifference(_ one: String, _ merged: String) -> String? {
        guard one != merged else { return nil }
        let a = one.split(separator: "\n"), b = merged.split(separator: "\n")
        let i = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
        return "line \(i + 1) of \(a.count)/\(b.count): one run \(i < a.count ? a[i].prefix(300) : "-") | merged \(i < b.count ? b[i].prefix(300) : "-")"
    }

    static func connectionCount(_ jsonl: String) -> Int {
        jsonl.split(separator: "\n").filter { $0.hasPrefix("{\"type\":\"connection\"") }.count
    }

    /// Every capture in Captures/ as one run, with the default MSL, and with one so short that
    /// TIME_WAIT expiries of several shards' connections fall in one sweep between the segments
    /// of others (ordered by deadline, then by connection number), and with no linger, so that
    /// connections also retire in those sweeps.
    @Test(arguments: [
        ([String](), 3), (["--msl", "0.001"], 7), (["--msl", "0.001", "--closed-linger", "0"], 4),
        (["--msl", "0.001", "--closed-linger", "0"], 2)
    ])
    func mergedShardsAreByteForByteOneRun(_ options: [String], _ n: Int) throws {
        let captures = try ShardTests.captures()
        let (one, merged) = try Self.oneRunAndMerged(options, captures, shards: n, tag: "all-\(n)")
        #expect(Self.connectionCount(one) > 50)
        #expect(Self.firstDifference(one, merged) == nil)
    }

    /// The benchmark's generated traffic (short and bulk connections, resets, refused and
    /// retried SYNs, IPv6, VLAN): thousands of connections whose deadlines interleave.
    @Test func mergedShardsOfGeneratedTrafficAreOneRun() throws {
        let dir = try NamesAndTerminalTests.temporaryDirectory("merge-gen")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("gen.pcap").path
        _ = try StreamingMemoryTests.generate(path, packets: 20_000, seed: 5)
        for (options, n) in [([String](), 5), (["--msl", "0.05", "--closed-linger", "0.01"], 3)] {
            let (one, merged) = try Self.oneRunAndMerged(options, [path], shards: n, tag: "gen-\(n)")
            #expect(Self.connectionCount(one) > 1000)
            #expect(Self.firstDifference(one, merged) == nil, "\(options) in \(n) shards")
        }
    }

    /// With `--filter`, ids are the file's own in one run and in every shard; merge keeps them.
    @Test func mergedFilteredShardsAreTheFilteredRun() throws {
        let captures = try ShardTests.captures()
        let filter = ["--filter", "tcp portrange 47000-47150"]
        let (one, merged) = try Self.oneRunAndMerged(filter, captures, shards: 3, tag: "filter")
        #expect(Self.connectionCount(one) > 20)
        // The filter hides earlier connections, so the file's ids are not 1, 2, 3, …
        #expect(!one.contains("{\"type\":\"connection\",\"schema\":1,\"id\":2,"))
        #expect(Self.firstDifference(one, merged) == nil)
    }

    /// Shard output is one run's plus the merge keys, which merge takes out again.
    @Test func shardRecordsCarryMergeKeysAndTheMergeHasNone() throws {
        let r = try WireStateBinary.run(["analyze", "--format", "jsonl", "--shard", "2/3", "Captures/multi.pcap"])
        let lines = r.stdout.split(separator: "\n")
        for line in lines where !line.hasPrefix("{\"type\":\"input\"") {
            #expect(line.contains(",\"merge_key\":"), "\(line.prefix(80))")
        }
        let summary = try #require(lines.last)
        #expect(summary.hasSuffix(",\"merge_key\":{\"shard\":\"2/3\",\"ids\":\"shard\"}}"))
        let (one, merged) = try Self.oneRunAndMerged([], ["Captures/multi.pcap"], shards: 3, tag: "keys")
        #expect(!merged.contains("merge_key"))
        #expect(Self.firstDifference(one, merged) == nil)
    }

    /// Compressed shard files are read like compressed captures.
    @Test func gzippedShardFilesMerge() throws {
        let dir = try NamesAndTerminalTests.temporaryDirectory("merge-gz")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = ["Captures/multi.pcap", "Captures/half-close.pcap"]
        var files: [String] = []
        for k in 1...2 {
            let path = dir.appendingPathComponent("s\(k).jsonl").path
            let r = try WireStateBinary.run(["analyze", "--format", "jsonl", "--shard", "\(k)/2"] + input)
            try r.stdout.write(toFile: path, atomically: true, encoding: .utf8)
            let gz = try WireStateBinary.run(executable: URL(fileURLWithPath: "/usr/bin/env"), ["gzip", path], in: dir)
            #expect(gz.status == 0)
            files.append(path + ".gz")
        }
        let merged = try WireStateBinary.run(["merge"] + files)
        let one = try WireStateBinary.run(["analyze", "--format", "jsonl"] + input)
        #expect(merged.status == 0, "\(merged.stderr)")
        #expect(Self.firstDifference(one.stdout, merged.stdout) == nil)
    }

    /// What is not N shards of one input is refused with the file (and line) to blame, exit 2,
    /// and nothing on standard output; a usage mistake is exit 64.
    @Test func whatIsNotACompleteSetOfShardsIsRefusedByName() throws {
        let dir = try NamesAndTerminalTests.temporaryDirectory("merge-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        func write(_ name: String, _ args: [String]) throws -> String {
            let r = try WireStateBinary.run(["analyze", "--format", "jsonl"] + args)
            let path = dir.appendingPathComponent(name).path
            try r.stdout.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let a1 = try write("a1.jsonl", ["--shard", "1/3", "Captures/multi.pcap"])
        let a2 = try write("a2.jsonl", ["--shard", "2/3", "Captures/multi.pcap"])
        let a3 = try write("a3.jsonl", ["--shard", "3/3", "Captures/multi.pcap"])
        let other = try write("other.jsonl", ["--shard", "3/3", "Captures/half-close.pcap"])
        let b1 = try write("b1.jsonl", ["--shard", "1/2", "Captures/multi.pcap"])
        let plain = try write("plain.jsonl", ["Captures/multi.pcap"])
        let full = try String(contentsOfFile: a2, encoding: .utf8)
        let cut = dir.appendingPathComponent("cut.jsonl").path
        try String(full.prefix(full.count / 2)).write(toFile: cut, atomically: true, encoding: .utf8)
        let garbage = dir.appendingPathComponent("garbage.jsonl").path
        try "{\"type\":\"connection\",\"schema\":1}\nnot json\n".write(toFile: garbage, atomically: true, encoding: .utf8)

        let cases: [([String], String)] = [
            ([a1, a2], "a1.jsonl: missing shard 3/3 of 3"),
            ([a1, a2, a3, a2], "a2.jsonl: shard 2/3 is given twice"),
            ([a1, a2, other], "other.jsonl: not a shard of the same input"),
            ([a1, a2, b1], "b1.jsonl: shard 1/2, but"),
            ([plain], "plain.jsonl:"),
            ([a1, cut, a3], "cut.jsonl:"),
            ([garbage], "garbage.jsonl:1: a connection record without a merge key"),
            ([a1, a2, dir.appendingPathComponent("absent.jsonl").path], "absent.jsonl: No such file or directory")
        ]
        for (files, message) in cases {
            let r = try WireStateBinary.run(["merge"] + files)
            #expect(r.status == 2, "\(message)")
            #expect(r.stderr.contains(message), "\(r.stderr)")
            #expect(r.stdout.isEmpty, "\(message)")
        }
        for usage in [["merge"], ["merge", "-"]] {
            let r = try WireStateBinary.run(usage)
            #expect(r.status == 64, "\(usage)")
        }
    }
}
