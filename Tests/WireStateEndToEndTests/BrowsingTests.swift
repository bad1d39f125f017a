import Foundation
import Testing

/// Browsing a capture with many connections: summary first, selection, order, limits, and ids
/// that stay the file's own under a BPF filter.
@Suite struct BrowsingTests {
    static let multi = "Captures/multi.pcap"

    /// The ID column of each table row of a text report.
    static func ids(_ stdout: String) -> [String] {
        let lines = stdout.split(separator: "\n", omittingEmptySubsequences: false)
        guard let header = lines.firstIndex(where: { $0.hasPrefix("ID ") }) else { return [] }
        return lines[(header + 1)...].prefix { $0.first == " " || $0.first?.isNumber == true }
            .compactMap { $0.split(separator: " ").first.map(String.init) }
    }

    @Test func theSummaryComesFirstAndAnomaliesAreCountedNotListed() throws {
        let r = try WireStateBinary.run(["analyze", "Captures/half-open.pcap"])
        let totals = try #require(r.stdout.range(of: "Totals: "))
        let table = try #require(r.stdout.range(of: "\nID  "))
        #expect(totals.lowerBound < table.lowerBound)
        #expect(r.stdout.contains("anomalies by code: retransmission 5, peer-unresponsive 1"))
        #expect(!r.stdout.contains("Anomalies:"), "details only with --anomalies")
        let detailed = try WireStateBinary.run(["analyze", "--anomalies", "Captures/half-open.pcap"])
        #expect(detailed.stdout.contains("conn 1  frame 12  peer-unresponsive (suspicious)"))
    }

    @Test func stateSelectsEitherEndpointOrTheOneNamed() throws {
        #expect(Self.ids(try WireStateBinary.run(["analyze", "--state", "CLOSE_WAIT", Self.multi]).stdout) == ["5"])
        #expect(Self.ids(try WireStateBinary.run(["analyze", "--state", "server=close_wait", Self.multi]).stdout) == ["5"])
        #expect(Self.ids(try WireStateBinary.run(["analyze", "--state", "client=CLOSE_WAIT", Self.multi]).stdout) == [])
        #expect(Self.ids(try WireStateBinary.run(["analyze", "--state", "TIME_WAIT", Self.multi]).stdout) == ["1", "2"])
        let r = try WireStateBinary.run(["analyze", "--state", "TIME_WAIT", Self.multi])
        #expect(r.stdout.contains("Showing 2 of 6 connections (--state TIME_WAIT)"))
        #expect(r.stdout.contains("Totals: 6 connections"), "totals always cover the whole run")
    }

    @Test func connectionTakesIdsAndFourTuplesEitherWayRound() throws {
        #expect(Self.ids(try WireStateBinary.run(["analyze", "--connection", "2", "--connection", "4", Self.multi]).stdout) == ["2", "4"])
        #expect(Self.ids(try WireStateBinary.run(["analyze", "--connection", "127.0.0.1:47007-127.0.0.1:49244", Self.multi]).stdout) == ["3"])
        #expect(Self.ids(try WireStateBinary.run(["analyze", "--connection", "127.0.0.1:49244-127.0.0.1:47007", Self.multi]).stdout) == ["3"])
        let t = try WireStateBinary.run(["analyze", "--connection", "5", "--timeline", Self.multi])
        #expect(t.stdout.contains("connection 5: 127.0.0.1:49250"))
        #expect(!t.stdout.contains("connection 4:"))
    }

    @Test func resetMidstreamSeverityAndCodeSelect() throws {
        #expect(Self.ids(try WireStateBinary.run(["analyze", "--reset", Self.multi]).stdout) == ["3", "4"])
        #expect(Self.ids(try WireStateBinary.run(["analyze", "--midstream", "Captures/midstream.pcap"]).stdout) == ["1"])
        #expect(Self.ids(try WireStateBinary.run(["analyze", "--midstream", Self.multi]).stdout) == [])
        #expect(Self.ids(try WireStateBinary.run(["analyze", "--severity", "suspicious", "Captures/half-open.pcap"]).stdout) == ["1"])
        #expect(Self.ids(try WireStateBinary.run(["analyze", "--severity", "violation", "Captures/half-open.pcap"]).stdout) == [])
        #expect(Self.ids(try WireStateBinary.run(["analyze", "--code", "peer-unresponsive", "Captures/half-open.pcap"]).stdout) == ["1"])
    }

    @Test func sortAndLimitOrderTheTable() throws {
        // multi.pcap: durations fall from connection 1 to 6; packets 10,10,8,8,8,7.
        #expect(Self.ids(try WireStateBinary.run(["analyze", "--sort", "duration", "--limit", "3", Self.multi]).stdout) == ["1", "2", "3"])
        // half-open.pcap, read second, is connection 7 with the longest life, most packets and anomalies.
        for key in ["duration", "packets", "bytes", "anomalies"] {
            let ids = Self.ids(try WireStateBinary.run(["analyze", "--sort", key, Self.multi, "Captures/half-open.pcap"]).stdout)
            #expect(ids.first == "7" && ids.count == 7, "\(key): \(ids)")
        }
        #expect(Self.ids(try WireStateBinary.run(["analyze", "--sort", "start", Self.multi, "Captures/half-open.pcap"]).stdout).first == "1")
        let limited = try WireStateBinary.run(["analyze", "--limit", "2", Self.multi])
        #expect(Self.ids(limited.stdout) == ["1", "2"])
        #expect(limited.stdout.contains("… 4 more: --limit 0 for all"))
    }

    @Test func aBigCaptureShowsAScreenfulByDefault() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: WireStateBinary.repo.appendingPathComponent("Captures").path)
            .filter { $0.hasSuffix(".pcap") }.sorted().map { "Captures/" + $0 }
        // Every real recording, plus multi.pcap three times (each run is its own recording): > 50 connections.
        let r = try WireStateBinary.run(["analyze"] + files + [Self.multi, Self.multi, Self.multi])
        let total = try #require(Int(r.stdout.components(separatedBy: "Totals: ").last?.split(separator: " ").first ?? ""))
        #expect(total > 50)
        #expect(Self.ids(r.stdout).count == 50)
        #expect(r.stdout.contains("… \(total - 50) more"))
        let all = try WireStateBinary.run(["analyze", "--limit", "0"] + files + [Self.multi, Self.multi, Self.multi])
        #expect(Self.ids(all.stdout).count == total)
    }

    @Test func idsAreTheFilesOwnUnderAFilter() throws {
        // Connection 5 keeps its id when the filter hides connections 1-4 and 6.
        let r = try WireStateBinary.run(["analyze", "--filter", "tcp port 49250", Self.multi])
        #expect(Self.ids(r.stdout) == ["5"])
        let j = try WireStateBinary.run(["analyze", "--format", "jsonl", "--filter", "tcp port 49250", Self.multi])
        let conn = try #require(j.stdout.split(separator: "\n").first { $0.contains("\"type\":\"connection\"") })
        #expect(conn.contains("\"id\":5,"))
        #expect(j.stdout.split(separator: "\n").filter { $0.contains("\"type\":\"transition\"") }.allSatisfy { $0.contains("\"connection\":5,") })
        let t = try WireStateBinary.run(["analyze", "--filter", "tcp port 49250", "--connection", "5", "--timeline", Self.multi])
        #expect(t.stdout.contains("connection 5: 127.0.0.1:49250"))
    }

    @Test func incarnationsHaveTheirOwnColumn() throws {
        let r = try WireStateBinary.run(["analyze", "Captures/port-reuse-client-tw.pcap"])
        let header = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("ID ") })
        #expect(header.hasPrefix("ID  INC  START"), "\(header)")
    }

    @Test func timeModesInTheTimeline() throws {
        let rel = try WireStateBinary.run(["analyze", "--timeline", "Captures/half-close.pcap"])
        #expect(rel.stdout.contains("frame      7  +0.000212  server  CLOSE_WAIT confirmed"))
        let abs = try WireStateBinary.run(["analyze", "--timeline", "--time", "absolute", "Captures/half-close.pcap"])
        #expect(
            abs.stdout.range(
                of: #"frame      7  20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z  server  CLOSE_WAIT confirmed"#,
                options: .regularExpression) != nil, "\(abs.stdout)")
        let delta = try WireStateBinary.run(["analyze", "--timeline", "--time", "delta", "Captures/half-close.pcap"])
        // Frame 7 came 0.000026 s after frame 6 (0.000212 − 0.000186).
        #expect(delta.stdout.contains("frame      7  +0.000026  server  CLOSE_WAIT confirmed"), "\(delta.stdout)")
    }

    @Test func tcpdumpShortFlagsAndTheAliasMeanTheSame() throws {
        let long = try WireStateBinary.run(["analyze", Self.multi])
        let short = try WireStateBinary.run(["analyse", "-n", "-r", Self.multi])
        #expect(short.status == 0)
        #expect(short.stdout == long.stdout)
    }

    @Test(arguments: ["analyze", "diagnose", "check", "live", "interfaces", "diagram"])
    func everySubcommandsHelpEndsWithExamples(_ sub: String) throws {
        let r = try WireStateBinary.run([sub, "--help"])
        #expect(r.status == 0)
        let tail = try #require(r.stdout.components(separatedBy: "EXAMPLES:").last)
        #expect(r.stdout.contains("EXAMPLES:") && tail.contains("wirestate \(sub)"))
        #expect(!tail.contains("OPTIONS:"), "EXAMPLES come last")
    }

    @Test func standardInputIsDocumented() throws {
        let r = try WireStateBinary.run(["analyze", "--help"])
        #expect(r.stdout.contains("`-` reads standard input"))
        #expect(r.stdout.contains("tcpdump -w - -i eth0 | wirestate analyze -"))
    }

    /// The README's big-capture workflow (`Captures/*.pcap`, expanded here as the shell would) prints
    /// what the README shows.
    @Test func theReadmeWorkflowIsCurrent() throws {
        let readme = try String(contentsOf: WireStateBinary.repo.appendingPathComponent("README.md"), encoding: .utf8)
        let start = try #require(readme.range(of: "$ wirestate analyze Captures/*.pcap"))
        let block = String(readme[start.lowerBound...]).components(separatedBy: "```")[0]
        let captures = try FileManager.default.contentsOfDirectory(atPath: WireStateBinary.repo.appendingPathComponent("Captures").path)
            .filter { $0.hasSuffix(".pcap") }.sorted().map { "Captures/" + $0 }
        var commands = 0
        for part in block.components(separatedBy: "$ wirestate ").dropFirst() {
            var lines = part.split(separator: "\n").map(String.init)
            let command = lines.removeFirst().components(separatedBy: "#")[0]
            let args = command.split(separator: " ").map(String.init).flatMap { $0 == "Captures/*.pcap" ? captures : [$0] }
            let r = try WireStateBinary.run(args)
            for line in lines where line != "…" && !line.isEmpty {
                #expect(r.stdout.contains(line), "README line not printed by `\(command)`: \(line)")
            }
            commands += 1
        }
        #expect(commands == 3)
    }
}
