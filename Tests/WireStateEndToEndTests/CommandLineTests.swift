import Foundation
import Testing

/// Runs the built `wirestate` binary as a user would.
enum WireStateBinary {
    static var url: URL {
        // The test runner lives in the build folder beside the executable.
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = runner.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("wirestate")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return runner.deletingLastPathComponent().appendingPathComponent("wirestate")
    }

    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    static func run(_ args: [String]) throws -> Result {
        try run(executable: url, args, in: repo)
    }

    /// Any program, with its output and status (the shell, for arguments that are raw bytes).
    static func run(executable: URL, _ args: [String], in dir: URL) throws -> Result {
        let p = Process()
        p.executableURL = executable
        p.arguments = args
        p.currentDirectoryURL = dir
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(
            status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
            stderr: String(decoding: e, as: UTF8.self))
    }
}

@Suite struct CommandLineTests {
    @Test func analyzePrintsTheTableAndExitsZero() throws {
        let r = try WireStateBinary.run(["analyze", "Captures/half-close.pcap"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("FIN_WAIT_2"))
        #expect(r.stdout.contains("CLOSE_WAIT"))
        #expect(r.stdout.contains("Totals: 1 connection"))
    }

    @Test func jsonLinesFollowTheSchema() throws {
        let r = try WireStateBinary.run(["analyze", "--format", "jsonl", "Captures/client-close.pcap"])
        #expect(r.status == 0)
        let objects = try r.stdout.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        let conn = try #require(objects.first { $0["type"] as? String == "connection" })
        #expect(conn["client_state"] as? String == "TIME_WAIT")
        #expect(conn["server_state"] as? String == "CLOSED")
        #expect(conn["client_evidence"] as? String == "observed")
        #expect(conn["server_evidence"] as? String == "inferred")
        #expect((conn["client"] as? String)?.hasPrefix("127.0.0.1:") == true)
        let transitions = objects.filter { $0["type"] as? String == "transition" }
        #expect(transitions.first?["frame"] as? Int == 1)
        #expect(transitions.contains { $0["endpoint"] as? String == "server" && $0["to"] as? String == "LISTEN" })
        #expect(objects.last?["type"] as? String == "summary")
    }

    @Test func ipv6AddressesAreBracketed() throws {
        let r = try WireStateBinary.run(["analyze", "--format", "jsonl", "Captures/ipv6-client-close.pcap"])
        #expect(r.stdout.contains("\"client\":\"[::1]:"))
    }

    @Test func timelineListsFramesForEachEndpoint() throws {
        let r = try WireStateBinary.run(["analyze", "--timeline", "Captures/server-close.pcap"])
        #expect(r.stdout.contains("server  ESTABLISHED → FIN_WAIT_1"))
        #expect(r.stdout.contains("client  LAST_ACK → CLOSED"))
    }

    @Test func quietPrintsOnlyTotals() throws {
        let r = try WireStateBinary.run(["analyze", "--quiet", "Captures/multi.pcap"])
        #expect(r.stdout.hasPrefix("Totals: 6 connections"))
        #expect(!r.stdout.contains("CLIENT STATE"))
    }

    @Test func filterKeepsFrameNumbersOfTheFile() throws {
        let all = try WireStateBinary.run(["analyze", "--format", "jsonl", "Captures/multi.pcap"])
        let port = try #require(all.stdout.split(separator: "\n").first { $0.contains("\"type\":\"connection\"") && $0.contains("\"id\":3,") })
        let client = String(port.split(separator: "\"client\":\"")[1].split(separator: "\"")[0])
        let clientPort = client.split(separator: ":").last!
        let r = try WireStateBinary.run(["analyze", "--format", "jsonl", "--filter", "tcp port \(clientPort)", "Captures/multi.pcap"])
        let line = try #require(r.stdout.split(separator: "\n").first { $0.contains("\"type\":\"connection\"") })
        // The same frames as unfiltered: numbering is the file's, not the filter's.
        #expect(port.contains(String(line.split(separator: "\"first_frame\":")[1].split(separator: ",")[0])))
        #expect(r.stdout.split(separator: "\n").filter { $0.contains("\"type\":\"connection\"") }.count == 1)
    }

    /// A one-sided capture made from a real recording by filtering one direction: capture gaps,
    /// never violations, and the states the visible side proves.
    @Test(arguments: ["dst port 47003", "src port 47003"])
    func oneDirectionOfARealCaptureIsACaptureGapNotAViolation(_ filter: String) throws {
        let r = try WireStateBinary.run(["analyze", "--format", "jsonl", "--filter", filter, "Captures/half-close.pcap"])
        #expect(r.status == 0)
        let objects = try r.stdout.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        let anomalies = objects.filter { $0["type"] as? String == "anomaly" }
        #expect(anomalies.contains { $0["code"] as? String == "one-sided-capture" })
        #expect(anomalies.allSatisfy { $0["severity"] as? String == "capture-gap" }, "\(anomalies)")
        let conn = try #require(objects.first { $0["type"] as? String == "connection" })
        if filter.hasPrefix("dst") {
            // Only the client's segments: its ACKs prove the server's SYN+ACK and its receipt of the
            // FIN, so the server is CLOSE_WAIT as the kernel said — inferred, never observed.
            #expect(conn["server_state"] as? String == "CLOSE_WAIT")
            #expect(conn["server_evidence"] as? String == "inferred")
            #expect(conn["client_state"] as? String == "FIN_WAIT_1")
        } else {
            #expect(conn["server_evidence"] as? String == "observed")
        }
    }

    @Test func damagedFileReportsWhatWasReadAndExitsTwo() throws {
        let r = try WireStateBinary.run(["analyze", "Tests/Fixtures/decoder/corrupt-truncated-file.pcap"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("corrupt-truncated-file.pcap: frame 7:"))
        #expect(r.stdout.contains("10.0.0.1:40001"), "the connection analysed before the damage is reported")
        #expect(r.stdout.contains("error: "))
    }

    @Test func missingFileAndUnsupportedLinkTypeExitTwo() throws {
        let missing = try WireStateBinary.run(["analyze", "no-such-file.pcap"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("no-such-file.pcap"))
        let wifi = try WireStateBinary.run(["analyze", "Tests/Fixtures/decoder/unsupported-link.pcap"])
        #expect(wifi.status == 2)
        #expect(wifi.stderr.contains("unsupported link type IEEE802_11"))
    }

    @Test func badFilterIsAnError() throws {
        let r = try WireStateBinary.run(["analyze", "--filter", "tcp port nonsense(", "Captures/multi.pcap"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("bad filter"))
    }

    /// Splits a classic pcap after `frames` records into two files, as `tcpdump -C` rotation would.
    static func split(_ path: String, after frames: Int) throws -> (String, String) {
        let data = try Data(contentsOf: WireStateBinary.repo.appendingPathComponent(path))
        var offset = 24, n = 0
        while n < frames {
            let caplen = Int(data[offset + 8]) | Int(data[offset + 9]) << 8 | Int(data[offset + 10]) << 16 | Int(data[offset + 11]) << 24
            offset += 16 + caplen
            n += 1
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ws-split-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let a = dir.appendingPathComponent("part1.pcap"), b = dir.appendingPathComponent("part2.pcap")
        try data.prefix(offset).write(to: a)
        try (data.prefix(24) + data.suffix(from: offset)).write(to: b)
        return (a.path, b.path)
    }

    @Test func rotatedFilesContinueOneConnection() throws {
        let (a, b) = try Self.split("Captures/client-close.pcap", after: 5)
        let r = try WireStateBinary.run(["analyze", "--format", "jsonl", a, b])
        let conns = r.stdout.split(separator: "\n").filter { $0.contains("\"type\":\"connection\"") }
        #expect(conns.count == 1)
        #expect(conns.first?.contains("\"client_state\":\"TIME_WAIT\"") == true)
        #expect(conns.first?.contains("\"midstream\":false") == true)
    }

    @Test func twoRecordingsOfTheSameConnectionAreNotMerged() throws {
        // Captured at the same time on both sides of a relay: the second file begins before the
        // first one ends, so it is another recording, analysed on its own.
        let r = try WireStateBinary.run(["analyze", "--format", "jsonl", "Captures/half-open-client-side.pcap", "Captures/half-open.pcap"])
        #expect(r.status == 0)
        #expect(r.stdout.split(separator: "\n").filter { $0.contains("\"type\":\"connection\"") }.count == 2)
        #expect(!r.stdout.contains("\"severity\":\"violation\""))
    }

    @Test func severalFilesReadAsOneRun() throws {
        let r = try WireStateBinary.run(["analyze", "--format", "jsonl", "Captures/refused.pcap", "Captures/abort-rst.pcap"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("\"file\":\"Captures/abort-rst.pcap\""))
        #expect(r.stdout.contains("\"connections\":2"))
    }
}

/// `related_frame` names the earlier frame a finding refers to, as its doc promises.
@Suite struct RelatedFrameTests {
    static func anomaly(_ code: String, in capture: String) throws -> [String: Any] {
        let r = try WireStateBinary.run(["analyze", "--format", "jsonl", capture])
        let objects = try r.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        return try #require(objects.first { $0["code"] as? String == code })
    }

    @Test func dataAfterFinNamesTheFin() throws {
        let a = try Self.anomaly("data-after-fin", in: "Captures/data-after-fin.pcap")
        #expect(a["frame"] as? Int == 8)
        #expect(a["related_frame"] as? Int == 6, "frame 6 is the client's FIN")
    }

    @Test func aBadSynAckNamesTheSyn() throws {
        let a = try Self.anomaly("synack-bad-ack", in: "Captures/synack-wrong-ack.pcap")
        #expect(a["frame"] as? Int == 2 && a["related_frame"] as? Int == 1)
    }
}

/// The closing "End states" line pairs each connection's client state with its server state.
@Suite struct EndStateTotalsTests {
    @Test func endStatesPairTheClientWithTheServer() throws {
        let one = try WireStateBinary.run(["analyze", "--quiet", "Captures/client-close.pcap"])
        #expect(one.stdout.contains("End states (client/server): TIME_WAIT/CLOSED ×1"), "\(one.stdout)")
        let many = try WireStateBinary.run(["analyze", "--quiet", "Captures/multi.pcap"])
        #expect(many.stdout.contains("CLOSED/TIME_WAIT ×1") && many.stdout.contains("FIN_WAIT_2/CLOSE_WAIT ×1"), "\(many.stdout)")
    }
}
