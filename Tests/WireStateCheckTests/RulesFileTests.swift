import Foundation
import Testing
import WireStateTracker
@testable import WireStateCheck

/// `wirestate.rules`: rules for every capture below a directory.
@Suite struct RulesFileTests {
    @Test func rulesAndCommentsParse() throws {
        let rules = try ExpectationParser.parseRules(
            "# team policy\n\nrule no-connection server=CLOSE_WAIT   # no leaks\r\nrule no-anomaly severity=violation\n",
            path: "captures/wirestate.rules")
        #expect(rules.map(\.text) == ["rule no-connection server=CLOSE_WAIT", "rule no-anomaly severity=violation"])
        #expect(rules.map(\.line) == [3, 4])
        #expect(try ExpectationParser.parseRules("", path: "w.rules").isEmpty)
    }

    @Test func factsAndBadRulesAreErrorsNamingFileAndLine() {
        let text = """
            rule no-connection server=CLOSE-WAIT
            connections 2
            # >>> wirestate facts
            connection 1 127.0.0.1:* -> 127.0.0.1:80
              final client=TIME_WAIT
            rule no-thing
            """
        #expect(throws: ExpectationSyntaxErrors.self) { try ExpectationParser.parseRules(text, path: "c/wirestate.rules") }
        do {
            _ = try ExpectationParser.parseRules(text, path: "c/wirestate.rules")
        } catch {
            let d = error.errors.map(\.description)
            #expect(d.count == 6, "\(d)")
            #expect(d.first?.hasPrefix("c/wirestate.rules:1: unknown state \"CLOSE-WAIT\"") == true)
            #expect(d.contains { $0.hasPrefix("c/wirestate.rules:2: a fact in a rules file, which holds only rules and comments") })
            #expect(d.contains { $0.hasPrefix("c/wirestate.rules:3: a generated-block marker in a rules file") })
            #expect(d.contains { $0.hasPrefix("c/wirestate.rules:4: a fact in a rules file") })
            #expect(d.contains { $0.hasPrefix("c/wirestate.rules:5: a fact in a rules file") })
            #expect(d.last?.hasPrefix("c/wirestate.rules:6: unknown rule \"no-thing\"") == true)
        }
    }

    @Test func mismatchesOfADirectoryRuleNameTheRulesFile() throws {
        let rules = try ExpectationParser.parseRules("\nrule no-connection server=CLOSE_WAIT\n", path: "c/wirestate.rules")
        let m = Evaluator.rules(rules, sampleCapture(), source: "c/wirestate.rules")
        try #require(m.count == 1)
        #expect(m[0].file == "c/wirestate.rules" && m[0].line == 2)
        #expect(m[0].message.hasPrefix("rule no-connection server=CLOSE_WAIT (c/wirestate.rules:2): expected no such connection"))
        var o = CaptureOutcome(capture: "c/s.pcap", expectation: "c/s.expect")
        o.hasExpectationFile = true
        o.mismatches = m + [Mismatch(message: "connections: expected 4, seen 3", line: 7)]
        #expect(o.locationText(o.mismatches[0]) == "c/wirestate.rules:2")
        #expect(o.locationText(o.mismatches[1]) == "c/s.expect:7")
        #expect(GitHubAnnotations.lines([o])[0].hasPrefix("::error file=c/wirestate.rules,line=2,"))
        // The capture's own rules keep naming just their line.
        let own = try ExpectationParser.parse("rule no-connection server=CLOSE_WAIT\n", path: "c/s.expect")
        #expect(Evaluator.evaluate(own, sampleCapture()).first?.message.hasPrefix("rule no-connection server=CLOSE_WAIT (line 1)") == true)
    }

    @Test func anErrorInARulesFileIsAnnotatedOnceForAllTheCapturesBelowIt() {
        let error = CheckError(file: "c/wirestate.rules", line: 1, message: "unknown severity \"bad\"")
        let outcomes = ["c/a.pcap", "c/b.pcap"].map { capture -> CaptureOutcome in
            var o = CaptureOutcome(capture: capture, expectation: capture.replacingOccurrences(of: ".pcap", with: ".expect"))
            o.errors = [error]
            return o
        }
        #expect(outcomes.allSatisfy { $0.status == .error })
        #expect(
            GitHubAnnotations.lines(outcomes) == ["::error file=c/wirestate.rules,line=1,title=wirestate check::c/wirestate.rules:1: unknown severity \"bad\""])
        // Both captures still report it in the text report, under their own status lines.
        #expect(outcomes.allSatisfy { CheckReport.text($0).contains("error: c/wirestate.rules:1: unknown severity") })
    }

    @Test func discoveryGivesEachCaptureItsRulesFilesNearestFirst() throws {
        let dir = try Support.temporaryCopy(of: [])
        let root = dir.path
        for sub in ["a/b", "a/c", "d"] {
            try FileManager.default.createDirectory(atPath: root + "/" + sub, withIntermediateDirectories: true)
        }
        for path in ["x.pcap", "a/b/y.pcap", "a/c/z.pcap", "d/w.pcap"] {
            try FileManager.default.copyItem(atPath: Support.capture("refused.pcap"), toPath: root + "/" + path)
        }
        for path in ["wirestate.rules", "a/wirestate.rules", "a/b/wirestate.rules"] {
            try Support.write("rule no-anomaly severity=violation\n", to: dir.appendingPathComponent(path))
        }
        defer { try? FileManager.default.removeItem(at: dir) }
        let rules = Dictionary(uniqueKeysWithValues: Checker.discover([root]).targets.map { ($0.capture, $0.rulesFiles) })
        #expect(rules[root + "/x.pcap"] == [root + "/wirestate.rules"])
        #expect(rules[root + "/a/b/y.pcap"] == [root + "/a/b/wirestate.rules", root + "/a/wirestate.rules", root + "/wirestate.rules"])
        #expect(rules[root + "/a/c/z.pcap"] == [root + "/a/wirestate.rules", root + "/wirestate.rules"])
        #expect(rules[root + "/d/w.pcap"] == [root + "/wirestate.rules"])
        // The checked root is where the search starts: nothing above it applies.
        let below = Checker.discover([root + "/a/b"]).targets
        #expect(below.map(\.rulesFiles) == [[root + "/a/b/wirestate.rules"]])
        // A file named on the command line: its own directory's rules file.
        #expect(Checker.discover([root + "/a/c/z.pcap"]).targets.map(\.rulesFiles) == [[]])
        #expect(Checker.discover([root + "/a/b/y.pcap"]).targets.map(\.rulesFiles) == [[root + "/a/b/wirestate.rules"]])
    }
}
