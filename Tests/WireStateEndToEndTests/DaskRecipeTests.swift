import Foundation
import Testing

/// The shipped recipe for many machines (issue 10, item 6): scripts/dask-shards.py runs the N
/// shards of a capture set as tasks on a Dask distributed cluster (here a LocalCluster of two
/// worker processes, as the script starts one without --scheduler) and merges them; the result is
/// byte for byte one local run. CI installs Dask (`.ci/run`); without it the tests are skipped.
@Suite(.serialized) struct DaskRecipeTests {
    static let hasDask = JSONSchemaTests.python("distributed")

    static func recipe(_ args: [String]) throws -> WireStateBinary.Result {
        try WireStateBinary.run(
            executable: URL(fileURLWithPath: "/usr/bin/env"),
            [
                "python3", WireStateBinary.repo.appendingPathComponent("scripts/dask-shards.py").path,
                "--workers", "2", "--wirestate", WireStateBinary.url.path
            ] + args,
            in: WireStateBinary.repo)
    }

    @Test(.enabled(if: hasDask, "python3 -m pip install \"dask[distributed]\" to run the Dask recipe"))
    func shardsRunAsDaskTasksMergeIntoOneLocalRun() throws {
        let dir = try NamesAndTerminalTests.temporaryDirectory("dask")
        defer { try? FileManager.default.removeItem(at: dir) }
        let captures = try ShardTests.captures().map { WireStateBinary.repo.appendingPathComponent($0).path }
        let out = dir.appendingPathComponent("merged.jsonl").path
        let r = try Self.recipe(["--shards", "4", "-o", out, "--options", "--msl 0.001"] + captures)
        #expect(r.status == 0, "\(r.stderr)")
        let one = try WireStateBinary.run(["analyze", "--format", "jsonl", "--msl", "0.001"] + captures)
        let merged = try String(contentsOfFile: out, encoding: .utf8)
        #expect(MergeTests.connectionCount(one.stdout) > 50)
        #expect(MergeTests.firstDifference(one.stdout, merged) == nil)
    }

    /// A shard task that fails is named with its stderr, and nothing is merged.
    @Test(.enabled(if: hasDask, "python3 -m pip install \"dask[distributed]\" to run the Dask recipe"))
    func aFailingShardTaskStopsTheMergeAndSaysWhich() throws {
        let dir = try NamesAndTerminalTests.temporaryDirectory("dask-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("merged.jsonl").path
        let capture = WireStateBinary.repo.appendingPathComponent("Captures/multi.pcap").path
        let r = try Self.recipe(["--shards", "2", "-o", out, "--options", "--msl 0", capture])
        #expect(r.status == 1)
        #expect(r.stderr.contains("shard 1/2 failed (exit 64)"), "\(r.stderr)")
        #expect(r.stderr.contains("--msl must be above 0"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
