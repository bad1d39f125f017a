import Foundation
#if canImport(FoundationXML)
    import FoundationXML
#endif
import Testing
@testable import WireStateCheck

/// `check` for real CI, through the built binary: re-recordings pass, directory rules files,
/// `--update` that never drops hand-written facts, JUnit with times and file:line.
@Suite struct CICommandTests {
    static let rerecorded = Support.root.appendingPathComponent("Tests/Fixtures/rerecorded")

    func copy(_ from: URL, _ name: String, to dir: URL, as newName: String? = nil) throws {
        try FileManager.default.copyItem(at: from.appendingPathComponent(name), to: dir.appendingPathComponent(newName ?? name))
    }

    func firstConnectionLine(_ text: String) -> String? {
        text.split(separator: "\n").first { $0.hasPrefix("connection 1 ") }.map(String.init)
    }

    @Test func aReRecordingOfTheSameBehaviourPassesUnlessPortsArePinned() throws {
        let names = ["multi", "ipv6-client-close"]
        let dir = try Support.temporaryCopy(of: [])
        defer { try? FileManager.default.removeItem(at: dir) }
        for n in names {
            try copy(Self.rerecorded, n + ".pcap", to: dir)
            try copy(Support.captures, n + ".expect", to: dir)
        }
        // The committed files, made from the first recordings, have `*` for the client ports.
        let committed = try Support.read(dir.appendingPathComponent("multi.expect"))
        #expect(firstConnectionLine(committed) == "connection 1 127.0.0.1:* -> 127.0.0.1:47007")
        var r = try Support.run(["check", "."], in: dir)
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("check: 2 captures, 2 passed, 0 failed, 0 errors"))

        // Pinned to the first recordings' ports, the same files fail on the re-recordings: the
        // recordings really have different client ports.
        let first = try Support.temporaryCopy(of: names.map { $0 + ".pcap" })
        defer { try? FileManager.default.removeItem(at: first) }
        r = try Support.run(["check", "--update", "--pin-ports", "."], in: first)
        #expect(r.status == 0, "\(r.all)")
        let pinned = try Support.read(first.appendingPathComponent("multi.expect"))
        #expect(pinned.contains(BlockMarker.beginPinned))
        let pinnedHeader = try #require(firstConnectionLine(pinned))
        #expect(!pinnedHeader.contains("*"))
        for n in names { try Support.write(try Support.read(first.appendingPathComponent(n + ".expect")), to: dir.appendingPathComponent(n + ".expect")) }
        r = try Support.run(["check", "."], in: dir)
        #expect(r.status == 1, "\(r.all)")
        #expect(r.stdout.contains("(\(pinnedHeader.split(separator: " ")[2]) -> 127.0.0.1:47007): expected this connection, seen none"), "\(r.stdout)")
        #expect(r.stdout.contains("check: 2 captures, 0 passed, 2 failed, 0 errors"))

        // An update without --pin-ports keeps a pinned block pinned (its marker says so).
        r = try Support.run(["check", "--update", "multi.pcap"], in: first)
        #expect(r.stdout.contains("multi.expect unchanged"), "\(r.all)")

        // --pin-ports means nothing without --update.
        r = try Support.run(["check", "--pin-ports", "."], in: first)
        #expect(r.status == 64)
        #expect(r.stderr.contains("--pin-ports says how --update writes expectation files; give it with --update"), "\(r.stderr)")
    }

    @Test func aDirectoryRulesFileAppliesToEveryCaptureBelowIt() throws {
        let dir = try Support.temporaryCopy(of: [])
        defer { try? FileManager.default.removeItem(at: dir) }
        let fm = FileManager.default
        for sub in ["team/leaks", "team/clean"] {
            try fm.createDirectory(at: dir.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        try copy(Support.captures, "half-close.pcap", to: dir.appendingPathComponent("team/leaks"))
        try copy(Support.captures, "client-close.pcap", to: dir.appendingPathComponent("team/clean"))
        var r = try Support.run(["check", "--update", "team"], in: dir)
        #expect(r.status == 0, "\(r.all)")

        // One policy for the whole tree: the leak below it fails, named after the rules file's line.
        try Support.write("# Team policy\nrule no-connection server=CLOSE_WAIT\n", to: dir.appendingPathComponent("team/wirestate.rules"))
        r = try Support.run(["check", "team"], in: dir, githubActions: true)
        #expect(r.status == 1, "\(r.all)")
        #expect(r.stdout.contains("ok    team/clean/client-close.pcap"))
        #expect(r.stdout.contains("FAIL  team/leaks/half-close.pcap"))
        #expect(
            r.stdout.contains(
                ": rule no-connection server=CLOSE_WAIT (team/wirestate.rules:2): expected no such connection, seen server ends in CLOSE_WAIT"),
            "\(r.stdout)")
        #expect(r.stdout.contains("::error file=team/wirestate.rules,line=2,title=wirestate check::team/leaks/half-close.pcap: "))

        // Nearer files add their rules; they all hold together.
        try Support.write("rule every-connection client=TIME_WAIT\n", to: dir.appendingPathComponent("team/clean/wirestate.rules"))
        r = try Support.run(["check", "team"], in: dir)
        #expect(r.stdout.contains("ok    team/clean/client-close.pcap"), "\(r.all)")
        try Support.write("rule every-connection client=CLOSED\n", to: dir.appendingPathComponent("team/clean/wirestate.rules"))
        r = try Support.run(["check", "team/clean"], in: dir)
        #expect(r.status == 1)
        #expect(r.stdout.contains("(team/clean/wirestate.rules:1): expected client=CLOSED, seen client ends in TIME_WAIT"), "\(r.stdout)")

        // Only rules belong there, and a bad one stops the check of every capture below it.
        let withFact = "rule every-connection client=CLOSED\nconnection 1 127.0.0.1:* -> 127.0.0.1:47001\n"
        try Support.write(withFact, to: dir.appendingPathComponent("team/clean/wirestate.rules"))
        r = try Support.run(["check", "team"], in: dir)
        #expect(r.status == 2, "\(r.all)")
        #expect(r.stdout.contains("ERROR team/clean/client-close.pcap"))
        #expect(r.stdout.contains("error: team/clean/wirestate.rules:2: a fact in a rules file, which holds only rules and comments"), "\(r.stdout)")
        try Support.write("rule no-anomaly severity=bad\n", to: dir.appendingPathComponent("team/wirestate.rules"))
        r = try Support.run(["check", "team/leaks"], in: dir)
        // The checked root is team/leaks: team/wirestate.rules is above it and does not apply.
        #expect(r.status == 0, "\(r.all)")
        r = try Support.run(["check", "team"], in: dir)
        #expect(r.status == 2)
        #expect(r.stdout.contains("error: team/wirestate.rules:1: unknown severity \"bad\""), "\(r.stdout)")
    }

    @Test func updateKeepsOrRefusesHandWrittenFactsNamingFileAndLine() throws {
        let dir = try Support.temporaryCopy(of: ["refused.pcap", "client-close.pcap"])
        defer { try? FileManager.default.removeItem(at: dir) }
        // Facts written by hand, no generated block: --update leaves the file and says where.
        let hand = "# by hand\nrule no-anomaly severity=violation\nconnection 1 127.0.0.1:* -> *:47004\n  final client=CLOSED\n"
        let refused = dir.appendingPathComponent("refused.expect")
        try Support.write(hand, to: refused)
        var r = try Support.run(["check", "--update", "."], in: dir)
        #expect(r.status == 2, "\(r.all)")
        #expect(r.stdout.contains("ERROR ./refused.pcap"))
        #expect(r.stdout.contains("error: ./refused.expect:3: this file has facts written by hand"), "\(r.stdout)")
        #expect(r.stdout.contains("wrote ./client-close.expect"))
        #expect(try Support.read(refused) == hand)
        // Without the hand-written facts, rules and comments are kept and the block is added.
        try Support.write("# by hand\nrule no-anomaly severity=violation\n", to: refused)
        r = try Support.run(["check", "--update", "refused.pcap"], in: dir)
        #expect(r.status == 0, "\(r.all)")
        #expect(try Support.read(refused).hasPrefix("# by hand\nrule no-anomaly severity=violation\n\n# >>> wirestate facts"))

        // A fact loosened by hand inside the generated block: refused, on its line.
        let expect = dir.appendingPathComponent("client-close.expect")
        let generated = try Support.read(expect)
        let loosened = generated.replacingOccurrences(of: "final client=TIME_WAIT server=CLOSED", with: "final client=TIME_WAIT|CLOSED server=CLOSED")
        #expect(loosened != generated)
        try Support.write(loosened, to: expect)
        let line = loosened.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("final client=TIME_WAIT|CLOSED") }! + 1
        r = try Support.run(["check", "--update", "client-close.pcap"], in: dir, githubActions: true)
        #expect(r.status == 2, "\(r.all)")
        #expect(
            r.stdout.contains("client-close.expect:\(line): `final client=TIME_WAIT|CLOSED server=CLOSED` in the generated block was loosened by hand"),
            "\(r.stdout)")
        #expect(r.stdout.contains("::error file=client-close.expect,line=\(line),"))
        #expect(try Support.read(expect) == loosened)
        // Checking (without --update) reads it as written: the loosened fact still matches.
        r = try Support.run(["check", "client-close.pcap"], in: dir)
        #expect(r.status == 0, "\(r.all)")
    }

    @Test func junitCarriesRealTimesAndTheFileAndLineOfEachFailure() throws {
        let dir = try Support.temporaryCopy(of: ["multi.pcap", "zero-window.pcap", "refused.pcap"])
        defer { try? FileManager.default.removeItem(at: dir) }
        var r = try Support.run(["check", "--update", "multi.pcap", "zero-window.pcap"], in: dir)
        #expect(r.status == 0, "\(r.all)")
        let expect = dir.appendingPathComponent("multi.expect")
        let text = try Support.read(expect)
        let broken = text.replacingOccurrences(of: "final client=FIN_WAIT_2 server=CLOSE_WAIT", with: "final client=FIN_WAIT_2 server=CLOSED")
        #expect(broken != text)
        try Support.write(broken, to: expect)
        let line = broken.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0 == "  final client=FIN_WAIT_2 server=CLOSED" }! + 1
        try Support.write("rule no-connection server=CLOSE_WAIT\n", to: dir.appendingPathComponent("wirestate.rules"))

        r = try Support.run(["check", "--junit", "report.xml", "."], in: dir)
        #expect(r.status == 1, "\(r.all)")
        let xml = try Support.read(dir.appendingPathComponent("report.xml"))
        // multi breaks a fact and the directory rule; refused has no expectation file.
        try JUnitSchema.validate(xml, tests: 3, failures: 2, errors: 0)
        let suite = try #require(try XMLDocument(xmlString: xml, options: []).rootElement()?.elements(forName: "testsuite").first)
        let cases = suite.elements(forName: "testcase")
        func attribute(_ e: XMLElement, _ name: String) -> String? { e.attribute(forName: name)?.stringValue }
        let times = cases.compactMap { attribute($0, "time").flatMap(Double.init) }
        #expect(times.count == 3)
        // Each capture took time to analyse; none rounds to zero, and the suite holds them all.
        #expect(times.allSatisfy { $0 > 0 }, "\(times)")
        let total = try #require(attribute(suite, "time").flatMap(Double.init))
        #expect(total >= times.reduce(0, +) - 0.000_01, "suite \(total), cases \(times)")

        let multi = try #require(cases.first { attribute($0, "name") == "multi.pcap" })
        let failure = try #require(multi.elements(forName: "failure").first)
        for e in [multi, failure] {
            #expect(attribute(e, "file") == "./multi.expect")
            #expect(attribute(e, "line") == "\(line)")
        }
        #expect(attribute(failure, "message")?.hasPrefix("2 mismatches: ./multi.expect:\(line): connection 5 (") == true, "\(xml)")
        let body = failure.stringValue ?? ""
        #expect(body.contains("./multi.expect:\(line): connection 5 ("))
        #expect(body.contains("./wirestate.rules:1: connection 5 ("), "\(body)")
        let missing = try #require(cases.first { attribute($0, "name") == "refused.pcap" })
        #expect(attribute(missing, "file") == "./refused.pcap" && attribute(missing, "line") == nil)
    }
}
