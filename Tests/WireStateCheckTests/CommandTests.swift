import Foundation
import Testing
@testable import WireStateCheck

/// Runs the built `wirestate` binary on temporary copies of the committed captures.
@Suite struct CommandTests {
    @Test func committedCapturesMatchTheirExpectations() throws {
        let r = try Support.run(["check", "Captures/"], in: Support.root)
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("check: "))
        #expect(r.stdout.contains(" 0 failed, 0 errors"))
    }

    @Test func everyCommittedCaptureHasAnExpectationFile() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Support.captures.path)
        let captures = names.filter(Checker.isCapture)
        #expect(!captures.isEmpty)
        for c in captures {
            let e = Checker.expectationPath(for: c)
            #expect(names.contains(e), "\(c) has no \(e)")
        }
    }

    @Test func exitCodesFollowTheLifeOfAnExpectationFile() throws {
        let dir = try Support.temporaryCopy(of: ["client-close.pcap", "refused.pcap"])
        defer { try? FileManager.default.removeItem(at: dir) }

        // No expectation files: a failure (1) that says how to create them.
        var r = try Support.run(["check", "."], in: dir)
        #expect(r.status == 1, "\(r.all)")
        #expect(r.stdout.contains("./client-close.pcap: expected an expectation file ./client-close.expect, seen none"))
        #expect(r.stdout.contains("check: 2 captures, 0 passed, 2 failed, 0 errors"))

        // --update writes them; then check passes.
        r = try Support.run(["check", "--update", "."], in: dir)
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("wrote ./client-close.expect"))
        r = try Support.run(["check", "."], in: dir)
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("check: 2 captures, 2 passed, 0 failed, 0 errors"))

        // Change one fact: exit 1 with a diff naming capture, connection, expected, seen and frame.
        let expect = dir.appendingPathComponent("client-close.expect")
        let original = try Support.read(expect)
        let finalLine = try #require(original.split(separator: "\n").first { $0.hasPrefix("  final ") })
        let seenServer = String(finalLine.split(separator: "server=")[1])
        let wrong = seenServer == "CLOSE_WAIT" ? "CLOSED" : "CLOSE_WAIT"
        try Support.write(
            original.replacingOccurrences(
                of: String(finalLine),
                with: "  final client=TIME_WAIT server=\(wrong)"), to: expect)
        let header = try #require(original.split(separator: "\n").first { $0.hasPrefix("connection 1 ") })
        let parts = header.split(separator: " ")
        // The header has `*` for the client's port; diffs name the port the capture shows.
        #expect(parts[2] == "127.0.0.1:*")
        let jsonl = try Support.run(["analyze", "--format", "jsonl", "client-close.pcap"], in: dir).stdout
        let record = try #require(jsonl.split(separator: "\n").first { $0.contains("\"type\":\"connection\"") })
        let after = try #require(record.firstRange(of: "\"client\":\"")).upperBound
        let seenClient = record[after...].prefix { $0 != "\"" }
        let connection = "connection 1 (\(seenClient) -> \(parts[4]))"
        let serverLine = try #require(original.split(separator: "\n").first { $0.hasPrefix("  server ") })
        let lastFrame = try #require(serverLine.split(separator: "@").last)
        r = try Support.run(["check", "client-close.pcap", "refused.pcap"], in: dir)
        #expect(r.status == 1, "\(r.all)")
        #expect(r.stdout.contains("FAIL  client-close.pcap"))
        #expect(
            r.stdout.contains(
                "client-close.pcap: \(connection): server final state: expected \(wrong), "
                    + "seen \(seenServer) (frame \(lastFrame))"), "\(r.stdout)")
        #expect(r.stdout.contains("check: 2 captures, 1 passed, 1 failed, 0 errors"))

        // With GITHUB_ACTIONS=true the mismatch is also an annotation on the expectation file's line.
        r = try Support.run(["check", "client-close.pcap"], in: dir, githubActions: true)
        let finalLineNumber =
            original.split(separator: "\n", omittingEmptySubsequences: false)
            .firstIndex { $0.hasPrefix("  final ") }! + 1
        #expect(
            r.stdout.contains(
                "::error file=client-close.expect,line=\(finalLineNumber),title=wirestate check::"
                    + "client-close.pcap: \(connection): server final state"), "\(r.stdout)")

        // Restore it: passes again.
        try Support.write(original, to: expect)
        r = try Support.run(["check", "."], in: dir)
        #expect(r.status == 0, "\(r.all)")

        // Malformed expectation file: exit 2 naming file and line.
        try Support.write(original + "rule no-connection server=CLOSE-WAIT\n", to: expect)
        let badLine = original.split(separator: "\n", omittingEmptySubsequences: false).count
        r = try Support.run(["check", "."], in: dir)
        #expect(r.status == 2, "\(r.all)")
        #expect(r.stdout.contains("ERROR ./client-close.pcap"))
        #expect(r.stdout.contains("./client-close.expect:\(badLine): unknown state \"CLOSE-WAIT\""), "\(r.stdout)")
        // --update refuses to rewrite a file it cannot read, and says where.
        r = try Support.run(["check", "--update", "client-close.pcap"], in: dir)
        #expect(r.status == 2)
        #expect(try Support.read(expect).hasSuffix("server=CLOSE-WAIT\n"))
        try Support.write(original, to: expect)
    }

    @Test func unreadableCapturesAreErrors() throws {
        let dir = try Support.temporaryCopy(of: ["multi.pcap"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let whole = try Data(contentsOf: dir.appendingPathComponent("multi.pcap"))
        try whole.prefix(300).write(to: dir.appendingPathComponent("truncated.pcap"))
        try Data("not a capture at all\n".utf8).write(to: dir.appendingPathComponent("garbage.pcapng"))
        var r = try Support.run(["check", "--update", "multi.pcap"], in: dir)
        #expect(r.status == 0, "\(r.all)")

        r = try Support.run(["check", "truncated.pcap"], in: dir)
        #expect(r.status == 2, "\(r.all)")
        #expect(r.stdout.contains("truncated.pcap: frame "), "\(r.stdout)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("truncated.expect").path))

        r = try Support.run(["check", "--update", "garbage.pcapng"], in: dir, githubActions: true)
        #expect(r.status == 2, "\(r.all)")
        #expect(r.stdout.contains("::error file=garbage.pcapng,title=wirestate check::garbage.pcapng: cannot read the capture"))

        r = try Support.run(["check", "does-not-exist.pcap", "multi.pcap"], in: dir)
        #expect(r.status == 2)
        #expect(r.stdout.contains("does-not-exist.pcap: no such file or directory"))
        #expect(r.stdout.contains("check: 2 captures, 1 passed, 0 failed, 1 error"))
    }

    @Test func updateKeepsHandWrittenRulesAndComments() throws {
        let dir = try Support.temporaryCopy(of: ["multi.pcap"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let expect = dir.appendingPathComponent("multi.expect")
        try Support.write("# Team notes: multi has six connections.\nrule no-anomaly severity=violation\n", to: expect)
        var r = try Support.run(["check", "--update", "multi.pcap"], in: dir)
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("updated multi.expect"))
        let text = try Support.read(expect)
        #expect(text.hasPrefix("# Team notes: multi has six connections.\nrule no-anomaly severity=violation\n\n# >>> wirestate facts"))
        r = try Support.run(["check", "multi.pcap"], in: dir)
        #expect(r.status == 0, "\(r.all)")
        r = try Support.run(["check", "--update", "multi.pcap"], in: dir)
        #expect(r.stdout.contains("multi.expect unchanged"))
        #expect(try Support.read(expect) == text)

        // A rule that the capture breaks fails the check, and --update cannot bless it away.
        try Support.write("rule no-connection server=CLOSE_WAIT|ESTABLISHED\n" + text, to: expect)
        r = try Support.run(["check", "--update", "multi.pcap"], in: dir)
        #expect(r.status == 1, "\(r.all)")
        #expect(r.stdout.contains("rule no-connection server=CLOSE_WAIT|ESTABLISHED (line 1): expected no such connection"))
    }

    @Test func junitReportValidates() throws {
        let dir = try Support.temporaryCopy(of: ["client-close.pcap", "refused.pcap", "abort-rst.pcap"])
        defer { try? FileManager.default.removeItem(at: dir) }
        var r = try Support.run(["check", "--update", "client-close.pcap", "refused.pcap"], in: dir)
        #expect(r.status == 0, "\(r.all)")
        let expect = dir.appendingPathComponent("refused.expect")
        try Support.write(try Support.read(expect) + "rule no-anomaly code=refused\n", to: expect)
        try Data("junk".utf8).write(to: dir.appendingPathComponent("broken.cap"))
        r = try Support.run(["check", "--junit", "report.xml", "."], in: dir)
        #expect(r.status == 2, "\(r.all)")
        let xml = try Support.read(dir.appendingPathComponent("report.xml"))
        // abort-rst has no expectation file and refused breaks its rule: 2 failures; broken.cap: 1 error.
        try JUnitSchema.validate(xml, tests: 4, failures: 2, errors: 1)
        #expect(xml.contains("<testcase name=\"client-close.pcap\" classname=\".\""))

        r = try Support.run(["check", "--junit", "no/such/dir/report.xml", "client-close.pcap"], in: dir)
        #expect(r.status == 2)
        #expect(r.stderr.contains("no/such/dir/report.xml"))
    }

    @Test func directoriesAreSearchedRecursivelyAndExpectFilesStandForTheirCapture() throws {
        let dir = try Support.temporaryCopy(of: [])
        defer { try? FileManager.default.removeItem(at: dir) }
        let nested = dir.appendingPathComponent("team/login")
        let hidden = dir.appendingPathComponent(".cache")
        try FileManager.default.createDirectory(at: nested, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: hidden, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Support.capture("refused.pcap"), toPath: nested.appendingPathComponent("refused.pcap").path)
        try FileManager.default.copyItem(atPath: Support.capture("refused.pcap"), toPath: hidden.appendingPathComponent("skip.pcap").path)
        var r = try Support.run(["check", "--update", "team"], in: dir)
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("ok    team/login/refused.pcap (1 connection); wrote team/login/refused.expect"))
        #expect(!FileManager.default.fileExists(atPath: hidden.appendingPathComponent("skip.expect").path))
        r = try Support.run(["check", "team/login/refused.expect"], in: dir)
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("team/login/refused.pcap"))
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("empty"), withIntermediateDirectories: true)
        r = try Support.run(["check", "empty"], in: dir)
        #expect(r.status == 2)
        #expect(r.stdout.contains("empty: no captures"))
    }
}
