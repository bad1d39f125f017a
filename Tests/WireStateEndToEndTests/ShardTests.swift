import Foundation
import Testing
import WireStateDecoder
@testable import WireStatePipeline

/// `analyze --shard K/N` (issue 10, item 6): N shard runs together analyse every connection once,
/// each exactly as one run analyses it.
@Suite struct ShardTests {
    /// Every top-level recording, read as one run (the README's all-captures example).
    static func captures() throws -> [String] {
        let dir = WireStateBinary.repo.appendingPathComponent("Captures")
        return try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }.sorted().map { "Captures/" + $0 }
    }

    static func records(_ args: [String]) throws -> [[String: Any]] {
        let r = try WireStateBinary.run(["analyze", "--format", "jsonl"] + args)
        #expect(r.status == 0, "\(args.prefix(4)): \(r.stderr)")
        return r.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    static func canonical(_ r: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: r, options: [.sortedKeys]), as: UTF8.self)
    }

    /// The records about connections with the shard's own numbering taken out (`id` of a connection
    /// record, `connection` of the others) and, in a shard run, the merge key every record carries
    /// (`MergeTests`), as sorted canonical JSON.
    static func connectionRecords(_ records: [[String: Any]]) throws -> [String] {
        try records.filter { ["connection", "transition", "confirmation", "anomaly"].contains($0["type"] as? String) }
            .map { r -> String in
                var r = r
                r["id"] = nil
                r["connection"] = nil
                #expect(r.removeValue(forKey: "merge_key") != nil || records.last?["merge_key"] == nil)
                return try canonical(r)
            }.sorted()
    }

    /// With the default MSL and with one so short that TIME_WAIT expires while other flows are
    /// still being read (the expiry then happens at a frame of another shard's flow: the shard's
    /// clock must have moved with it).
    @Test(arguments: [[], ["--msl", "0.001"]])
    func shardsTogetherGiveEveryConnectionOnceAndAsOneRunDoes(_ options: [String]) throws {
        let files = try Self.captures()
        #expect(files.count > 40)
        let one = try Self.records(options + files)
        let oneConnections = try Self.connectionRecords(one)
        var merged: [String] = []
        var uids: [Set<String>] = []
        var connections = 0
        let n = 3
        for k in 1...n {
            let shard = try Self.records(options + ["--shard", "\(k)/\(n)"] + files)
            merged += try Self.connectionRecords(shard)
            let own = shard.filter { $0["type"] as? String == "connection" }
            connections += own.count
            uids.append(Set(own.compactMap { $0["uid"] as? String }))
            // Every shard reads and decodes every frame: the input records are one run's.
            let inputs = try shard.filter { $0["type"] as? String == "input" }.map(Self.canonical)
            #expect(inputs == (try one.filter { $0["type"] as? String == "input" }.map(Self.canonical)))
            #expect(!uids[k - 1].isEmpty, "shard \(k)/\(n) holds no connection")
        }
        #expect(merged.sorted() == oneConnections)
        for i in 0..<n { for j in (i + 1)..<n { #expect(uids[i].isDisjoint(with: uids[j])) } }
        let oneSummary = try #require(one.last { $0["type"] as? String == "summary" })
        #expect(connections == oneSummary["connections"] as? Int)
    }

    @Test func oneShardOfOneIsTheWholeRun() throws {
        let one = try WireStateBinary.run(["analyze", "--format", "jsonl", "Captures/multi.pcap"])
        let shard = try WireStateBinary.run(["analyze", "--format", "jsonl", "--shard", "1/1", "Captures/multi.pcap"])
        // One run's records, each with its merge key (`MergeTests`) added at its end.
        let stripped = shard.stdout.replacingOccurrences(
            of: #",\"merge_key\":(\[[0-9,-]*\]|\{[^}]*\})\}"#, with: "}", options: .regularExpression)
        #expect(stripped == one.stdout)
        // Every record but the one input record carries a key.
        let keys = shard.stdout.components(separatedBy: "\"merge_key\"").count - 1
        #expect(keys == one.stdout.split(separator: "\n").count - 1)
    }

    @Test(arguments: ["0/3", "4/3", "1/0", "2/x", "/3", "1/", "1/2/3", "", "+1/2", "1/65537", "99999999999/2"])
    func badShardsAreUsageErrors(_ value: String) throws {
        let r = try WireStateBinary.run(["analyze", "--shard", value, "Captures/multi.pcap"])
        #expect(r.status == 64)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains("--shard takes K/N"), "\(r.stderr)")
    }

    /// The hash docs/scaling.md states, computed here byte by byte from its definition.
    static func fnv(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return h
    }

    @Test func theFlowHashIsTheStatedFNV1aAndTheSameBothWays() throws {
        let client = SocketAddress(IPAddress(ipv4: 0x0A00_0001), 49152)  // 10.0.0.1:49152
        let server = SocketAddress(IPAddress(ipv4: 0x0A00_0002), 80)  // 10.0.0.2:80
        let bytes: [UInt8] = [10, 0, 0, 1, 0xC0, 0x00, 10, 0, 0, 2, 0x00, 0x50]
        #expect(Shard.hash(client, server) == Self.fnv(bytes))
        #expect(Shard.hash(server, client) == Self.fnv(bytes))
        // The same address: the lower port first.
        let a = SocketAddress(IPAddress(ipv4: 0x7F00_0001), 5000), b = SocketAddress(IPAddress(ipv4: 0x7F00_0001), 80)
        #expect(Shard.hash(a, b) == Self.fnv([127, 0, 0, 1, 0, 80, 127, 0, 0, 1, 0x13, 0x88]))
        // IPv6: 16 address bytes; IPv4 sorts before IPv6.
        let v6 = SocketAddress(try #require(IPAddress("2001:db8::1")), 443)
        let v6bytes: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1, 0x01, 0xBB]
        #expect(Shard.hash(v6, client) == Self.fnv([10, 0, 0, 1, 0xC0, 0x00] + v6bytes))
        let shard = try #require(Shard("2/5"))
        #expect(shard.index == 2 && shard.count == 5 && shard.description == "2/5")
    }
}
