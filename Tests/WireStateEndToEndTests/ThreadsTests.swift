import Foundation
import Testing
import WireStateDecoder
import WireStateTracker

@testable import WireStatePipeline

/// `analyze --threads N` (issue 10, item 3): tracking spread over N worker threads gives the one
/// thread's output byte for byte: the same connection ids, the same record order, in every format.
@Suite struct ThreadsTests {
    /// The tunnel fixtures (real conversations wrapped in every encapsulation): their connections
    /// carry tunnel numbers, which the workers number apart and the merge renumbers.
    static func tunnelFixtures() throws -> [String] {
        let dir = WireStateBinary.repo.appendingPathComponent("Tests/Fixtures/decoder")
        return try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .filter { $0.hasPrefix("tun-") && $0.hasSuffix(".pcap") }.sorted().map { "Tests/Fixtures/decoder/" + $0 }
    }

    static func output(_ args: [String]) throws -> String {
        let r = try WireStateBinary.run(["analyze"] + args)
        #expect(r.status == 0, "\(args.prefix(6)): \(r.stderr)")
        return r.stdout
    }

    /// Every capture in Captures/ as one run, in every output format, with the default MSL and
    /// with expiries of several workers' connections falling between other segments.
    @Test(arguments: [
        ["--format", "jsonl"], ["--format", "zeek"], ["--limit", "0", "--timeline", "--anomalies"], ["--quiet"],
        ["--format", "jsonl", "--msl", "0.001"], ["--format", "jsonl", "--msl", "0.001", "--closed-linger", "0"],
        ["--quiet", "--msl", "0.001", "--closed-linger", "0"]
    ])
    func everyFormatIsTheOneThreadsOutput(_ options: [String]) throws {
        let captures = try ShardTests.captures() + Self.tunnelFixtures()
        let one = try Self.output(options + ["--threads", "1"] + captures)
        #expect(one.count > 500)
        for n in [2, 3, 5] {
            let many = try Self.output(options + ["--threads", "\(n)"] + captures)
            #expect(MergeTests.firstDifference(one, many) == nil, "--threads \(n)")
        }
    }

    /// The benchmark generator's traffic: thousands of connections over several batches, with a
    /// `--max-connections` cap that is not reached (each worker then holds a share of it).
    @Test func generatedTrafficIsTheOneThreadsOutput() throws {
        let dir = try NamesAndTerminalTests.temporaryDirectory("threads-gen")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("gen.pcap").path
        _ = try StreamingMemoryTests.generate(path, packets: 20_000, seed: 7)
        for options in [["--format", "jsonl"], ["--format", "jsonl", "--msl", "0.05", "--closed-linger", "0.01"]] {
            let one = try Self.output(options + ["--threads", "1", path])
            #expect(MergeTests.connectionCount(one) > 1000)
            for extra in [["--threads", "2"], ["--threads", "4", "--max-connections", "100000"]] {
                let many = try Self.output(options + extra + [path])
                #expect(MergeTests.firstDifference(one, many) == nil, "\(options + extra)")
            }
        }
    }

    /// Threads and shards together: each shard run on threads, merged, is one run.
    @Test func shardsOnThreadsMergeIntoOneRun() throws {
        let captures = try ShardTests.captures()
        let dir = try NamesAndTerminalTests.temporaryDirectory("threads-shards")
        defer { try? FileManager.default.removeItem(at: dir) }
        var files: [String] = []
        for k in 1...3 {
            let path = dir.appendingPathComponent("s\(k).jsonl").path
            try Self.output(["--format", "jsonl", "--msl", "0.001", "--threads", "2", "--shard", "\(k)/3"] + captures)
                .write(toFile: path, atomically: true, encoding: .utf8)
            files.append(path)
        }
        let merged = try WireStateBinary.run(["merge"] + files)
        let one = try Self.output(["--format", "jsonl", "--msl", "0.001", "--threads", "1"] + captures)
        #expect(MergeTests.firstDifference(one, merged.stdout) == nil)
    }

    /// A filtered run keeps the file's own ids through a shadow tracker that must keep pace with
    /// the segments, so it tracks on one thread whatever --threads says: the output is the same.
    @Test func aFilteredRunIsTheSameWithThreads() throws {
        let captures = try ShardTests.captures()
        let options = ["--format", "jsonl", "--filter", "tcp portrange 47000-47150"]
        let one = try Self.output(options + captures)
        #expect(MergeTests.connectionCount(one) > 20)
        #expect(MergeTests.firstDifference(one, try Self.output(options + ["--threads", "3"] + captures)) == nil)
    }

    /// Without --threads: the usable cores, 1 up to two cores (two threads measured slower than
    /// one there), capped at `ThreadCount.cap`.
    @Test func theDefaultFollowsTheCoresWithACap() {
        let expected = [1: 1, 2: 1, 3: 3, 4: 4, 8: 8, 9: ThreadCount.cap, 64: ThreadCount.cap, 1024: ThreadCount.cap]
        for (cores, threads) in expected { #expect(ThreadCount.default(cores: cores) == threads, "\(cores) cores") }
        #expect(ThreadCount.cap == 8)
    }

    /// The cores counted are the ones this process may run on, as `nproc` (affinity) counts them.
    @Test func usableCoresAreTheAffinityMasksCount() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["nproc"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        p.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) == ThreadCount.usableCores)
        #expect(ThreadCount.machineDefault == ThreadCount.default(cores: ThreadCount.usableCores))
    }

    /// A run without --threads (the machine's default: more than one thread from three cores up)
    /// prints what one thread prints.
    @Test func theDefaultPrintsTheOneThreadsOutput() throws {
        let captures = try ShardTests.captures()
        let options = ["--format", "jsonl", "--msl", "0.001"]
        let one = try Self.output(options + ["--threads", "1"] + captures)
        #expect(MergeTests.firstDifference(one, try Self.output(options + captures)) == nil)
    }

    @Test(arguments: ["0", "-1", "65", "x", ""])
    func badThreadCountsAreUsageErrors(_ value: String) throws {
        let r = try WireStateBinary.run(["analyze", "--threads", value, "Captures/multi.pcap"])
        #expect(r.status == 64)
        #expect(r.stdout.isEmpty)
    }

    /// Every event, in order, as a sink sees it.
    struct Recorder: EventSink {
        var events: [TrackerEvent] = []
        var tunnels: [TunnelPath] = []
        var orders: [EventOrder] = []
        mutating func consume(_ event: TrackerEvent) { events.append(event) }
        mutating func tunnelsChanged(_ paths: [TunnelPath]) { tunnels = paths }
        mutating func order(_ position: EventOrder) { orders.append(position) }
    }

    static func events(_ files: [String], threads: Int, batch: Int, msl: Int64) -> Recorder {
        var config = ConnectionTracker.Configuration()
        config.msl = msl
        var p = Pipeline(configuration: config, sink: Recorder())
        p.threads = threads
        p.threadBatchSteps = batch
        p.recordsOrder = true
        for f in files { p.runFile(WireStateBinary.repo.appendingPathComponent(f).path) }
        p.finish()
        return p.sink
    }

    /// In process, with batches of 1 to 64 steps, so that every batch boundary, a full queue of
    /// batches in flight and input ends inside and at the edge of a batch are all crossed: the
    /// events, their order positions and the tunnel table are the one thread's.
    @Test(arguments: [1, 2, 7, 64])
    func tinyBatchesGiveTheOneThreadsEvents(_ batch: Int) throws {
        let files = try ShardTests.captures() + Self.tunnelFixtures()
        for msl: Int64 in [30_000_000_000, 1_000_000] {
            let one = Self.events(files, threads: 1, batch: batch, msl: msl)
            #expect(one.events.count > 1000)
            for n in [2, 4] {
                let many = Self.events(files, threads: n, batch: batch, msl: msl)
                #expect(many.events.count == one.events.count)
                let first = (0..<min(one.events.count, many.events.count)).first { one.events[$0] != many.events[$0] }
                #expect(first == nil, "batch \(batch), \(n) threads, msl \(msl): first difference at event \(first ?? -1)")
                #expect(many.orders == one.orders)
                #expect(many.tunnels == one.tunnels)
                #expect(one.tunnels.count > 5)
            }
        }
    }
}
