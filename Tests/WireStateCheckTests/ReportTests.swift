import Foundation
#if canImport(FoundationXML)
    import FoundationXML
#endif
import Testing
@testable import WireStateCheck

@Suite struct ReportTests {
    func outcomes() -> [CaptureOutcome] {
        var pass = CaptureOutcome(capture: "Captures/a.pcap", expectation: "Captures/a.expect")
        pass.hasExpectationFile = true
        pass.connections = 1
        pass.seconds = 0.0123
        var fail = CaptureOutcome(capture: "Captures/odd <&> \"name\".pcap", expectation: "Captures/odd <&> \"name\".expect")
        fail.hasExpectationFile = true
        fail.mismatches = [
            Mismatch(
                connection: "connection 1 (127.0.0.1:1 -> 127.0.0.1:2)",
                message: "server final state: expected CLOSE_WAIT, seen CLOSED (frame 10)", line: 12, frame: 10),
            Mismatch(
                connection: "connection 1 (127.0.0.1:1 -> 127.0.0.1:2)", message: "client transition 2: 100% wrong, really",
                detail: ["expected: client A", "seen:     client B"], line: 13, frame: 4)
        ]
        var missing = CaptureOutcome(capture: "x.pcap", expectation: "x.expect")
        missing.mismatches = [Mismatch(message: "expected an expectation file x.expect, seen none")]
        var error = CaptureOutcome(capture: "bad.pcap", expectation: "bad.expect")
        error.hasExpectationFile = true
        error.errors = [
            CheckError(file: "bad.expect", line: 7, message: "unknown state \"NOPE\""),
            CheckError(file: "bad.pcap", frame: 3, message: "cannot read the capture: truncated")
        ]
        return [pass, fail, missing, error]
    }

    /// The escapers copy plain text as it is and escape everything else, on both sides of the
    /// byte scan that lets plain text through (0xEF leads U+FFFE and U+FFFF, and also "ﬀ").
    @Test func escapersPassPlainTextAndEscapeTheRest() {
        #expect(JUnitWriter.text("plain é ü 日本") == "plain é ü 日本")
        #expect(JUnitWriter.text("a\u{FFFE}b\u{FFFF}c\u{FB00}") == "a\u{FFFD}b\u{FFFD}c\u{FB00}")
        #expect(JUnitWriter.text("<&>\r\u{1}\t\n") == "&lt;&amp;&gt;&#13;\u{FFFD}\t\n")
        #expect(JUnitWriter.attr("x") == "\"x\"")
        #expect(JUnitWriter.attr("a\"b'c\nd\te<") == "\"a&quot;b&apos;c&#10;d&#9;e&lt;\"")
        #expect(GitHubAnnotations.data("nothing to do: ü") == "nothing to do: ü")
        #expect(GitHubAnnotations.data("100%\r\n") == "100%25%0D%0A")
    }

    @Test func summaryAndExitCode() {
        let o = outcomes()
        #expect(CheckReport.summary(o) == "check: 4 captures, 1 passed, 2 failed, 1 error")
        #expect(CheckReport.exitCode(o) == 2)
        #expect(CheckReport.exitCode(Array(o.prefix(2))) == 1)
        #expect(CheckReport.exitCode(Array(o.prefix(1))) == 0)
        #expect(CheckReport.summary([]) == "check: 0 captures, 0 passed, 0 failed, 0 errors")
        #expect(CheckReport.statusLine(o[0]) == "ok    Captures/a.pcap (1 connection)")
        #expect(CheckReport.text(o[3]).contains("  error: bad.expect:7: unknown state \"NOPE\"\n"))
        #expect(CheckReport.text(o[3]).contains("  error: bad.pcap: frame 3: cannot read the capture: truncated\n"))
    }

    @Test func githubAnnotationsPointAtTheExpectationLine() throws {
        let lines = GitHubAnnotations.lines(outcomes())
        try #require(lines.count == 5)
        #expect(
            lines[0] == "::error file=Captures/odd <&> \"name\".expect,line=12,title=wirestate check::Captures/odd <&> "
                + "\"name\".pcap: connection 1 (127.0.0.1:1 -> 127.0.0.1:2): server final state: expected CLOSE_WAIT, "
                + "seen CLOSED (frame 10)")
        // Message data escapes %, CR, LF; detail lines follow as escaped newlines.
        #expect(lines[1].hasSuffix("client transition 2: 100%25 wrong, really%0Aexpected: client A%0Aseen:     client B"))
        // No expectation file: the capture is annotated, without a line.
        #expect(lines[2] == "::error file=x.pcap,title=wirestate check::x.pcap: expected an expectation file x.expect, seen none")
        #expect(lines[3] == "::error file=bad.expect,line=7,title=wirestate check::bad.expect:7: unknown state \"NOPE\"")
        #expect(lines[4].hasPrefix("::error file=bad.pcap,title=wirestate check::bad.pcap: frame 3: "))
        // Properties escape `:` and `,` as well.
        #expect(
            GitHubAnnotations.command(file: "a,b:c%.expect", line: 1, message: "m")
                == "::error file=a%2Cb%3Ac%25.expect,line=1,title=wirestate check::m")
    }

    @Test func junitIsWellFormedAndFollowsTheSchema() throws {
        let writer = JUnitWriter(
            timestamp: "2025-01-31T12:34:56", hostname: "ci-host",
            properties: [("update", "false"), ("path", "Captures/")])
        try JUnitSchema.validate(writer.xml(outcomes()), tests: 4, failures: 2, errors: 1)
    }
}

/// Checks a JUnit report with a real XML parser against the layout of the Ant/Jenkins JUnit schema.
enum JUnitSchema {
    static func validate(_ xml: String, tests: Int, failures: Int, errors: Int) throws {
        let doc = try XMLDocument(xmlString: xml, options: [])
        let root = try #require(doc.rootElement())
        #expect(root.name == "testsuites")
        for a in ["tests", "failures", "errors"] { #expect(root.attribute(forName: a) != nil) }
        let suites = root.elements(forName: "testsuite")
        #expect(suites.count == 1)
        #expect(root.children?.count == 1, "testsuites holds only testsuite elements")
        let suite = try #require(suites.first)
        for a in ["name", "tests", "failures", "errors", "time", "timestamp", "hostname", "id", "package"] {
            #expect(suite.attribute(forName: a)?.stringValue?.isEmpty == false, "testsuite lacks \(a)")
        }
        #expect(suite.attribute(forName: "tests")?.stringValue == "\(tests)")
        #expect(suite.attribute(forName: "failures")?.stringValue == "\(failures)")
        #expect(suite.attribute(forName: "errors")?.stringValue == "\(errors)")
        let stamp = suite.attribute(forName: "timestamp")?.stringValue ?? ""
        #expect(stamp.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$"#, options: .regularExpression) != nil)
        // Sequence: properties, testcase*, system-out, system-err.
        let names = (suite.children ?? []).compactMap { ($0 as? XMLElement)?.name }
        #expect(names.first == "properties")
        #expect(Array(names.suffix(2)) == ["system-out", "system-err"])
        #expect(names.dropFirst().dropLast(2).allSatisfy { $0 == "testcase" })
        for p in suite.elements(forName: "properties").first?.elements(forName: "property") ?? [] {
            #expect(p.attribute(forName: "name") != nil && p.attribute(forName: "value") != nil)
        }
        let cases = suite.elements(forName: "testcase")
        #expect(cases.count == tests)
        var seenFailures = 0, seenErrors = 0
        for c in cases {
            for a in ["name", "classname", "time"] { #expect(c.attribute(forName: a) != nil, "testcase lacks \(a)") }
            #expect(Double(c.attribute(forName: "time")?.stringValue ?? "") != nil)
            let children = (c.children ?? []).compactMap { $0 as? XMLElement }
            #expect(children.count <= 1)
            for child in children {
                #expect(["failure", "error"].contains(child.name ?? ""))
                #expect(child.attribute(forName: "message") != nil && child.attribute(forName: "type") != nil)
                #expect(child.stringValue?.isEmpty == false)
                if child.name == "failure" { seenFailures += 1 } else { seenErrors += 1 }
            }
        }
        #expect(seenFailures == failures && seenErrors == errors)
    }
}
