/// JUnit XML for CI test reports: one `<testcase>` per capture (a `<failure>` for mismatches, an
/// `<error>` when it could not be checked), in one `<testsuite>` under `<testsuites>`. The layout
/// follows the Ant/Jenkins schema (properties, test cases, system-out, system-err; the suite carries
/// name, tests, failures, errors, skipped, time, timestamp, hostname, id and package).
public struct JUnitWriter {
    public var suiteName = "wirestate check"
    /// `2025-01-31T12:34:56` (UTC, no zone, as the schema wants).
    public var timestamp: String
    public var hostname: String
    public var properties: [(name: String, value: String)] = []

    public init(timestamp: String, hostname: String, properties: [(name: String, value: String)] = []) {
        self.timestamp = timestamp
        self.hostname = hostname
        self.properties = properties
    }

    /// The report. Each test case's `time` is the seconds spent on its capture (reading the
    /// expectation file, analysing the capture, comparing); the suite's is `totalSeconds`, the whole
    /// run as measured by the caller, or the sum of the cases when not given.
    public func xml(_ outcomes: [CaptureOutcome], totalSeconds: Double? = nil) -> String {
        let failures = outcomes.filter { $0.status == .failed }.count
        let errors = outcomes.filter { $0.status == .error }.count
        let time = Self.seconds(totalSeconds ?? outcomes.reduce(0) { $0 + $1.seconds })
        var x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        x +=
            "<testsuites name=\(Self.attr(suiteName)) tests=\"\(outcomes.count)\" failures=\"\(failures)\" "
            + "errors=\"\(errors)\" time=\"\(time)\">\n"
        x +=
            "  <testsuite name=\(Self.attr(suiteName)) tests=\"\(outcomes.count)\" failures=\"\(failures)\" "
            + "errors=\"\(errors)\" skipped=\"0\" time=\"\(time)\" timestamp=\(Self.attr(timestamp)) "
            + "hostname=\(Self.attr(hostname)) id=\"0\" package=\"wirestate\">\n"
        if properties.isEmpty {
            x += "    <properties/>\n"
        } else {
            x += "    <properties>\n"
            for p in properties { x += "      <property name=\(Self.attr(p.name)) value=\(Self.attr(p.value))/>\n" }
            x += "    </properties>\n"
        }
        for o in outcomes {
            let (dir, name) = Self.split(o.capture)
            x += "    <testcase name=\(Self.attr(name)) classname=\(Self.attr(dir)) time=\"\(Self.seconds(o.seconds))\""
            switch o.status {
            case .passed:
                x += "/>\n"
            case .failed:
                // file= and line= (as GitLab and the JUnit report actions read them) point at the fact
                // or rule of the first mismatch; the message and the text name each one's file:line.
                let n = o.mismatches.count
                let place = Self.place(o.mismatches.first.map(o.location) ?? (o.capture, nil))
                let first = o.mismatches.first.map { Self.located($0, o) } ?? ""
                x += place + ">\n      <failure message=\(Self.attr("\(n) mismatch\(n == 1 ? "" : "es"): \(first)")) type=\"mismatch\""
                x += place + ">"
                var body: [String] = []
                for m in o.mismatches {
                    body.append(Self.located(m, o))
                    body += m.detail.map { "    " + $0 }
                }
                x += Self.text(body.joined(separator: "\n"))
                x += "</failure>\n    </testcase>\n"
            case .error:
                let first = o.errors.first.map(\.description) ?? ""
                let place = Self.place(o.errors.first.map { ($0.file, $0.line) } ?? (o.capture, nil))
                x += place + ">\n      <error message=\(Self.attr(first)) type=\"error\"" + place + ">"
                x += Self.text(o.errors.map(\.description).joined(separator: "\n"))
                x += "</error>\n    </testcase>\n"
            }
        }
        x += "    <system-out/>\n    <system-err/>\n  </testsuite>\n</testsuites>\n"
        return x
    }

    /// ` file="Captures/x.expect" line="12"` (no line when there is none).
    static func place(_ l: (file: String, line: Int?)) -> String {
        " file=\(attr(l.file))" + (l.line.map { " line=\"\($0)\"" } ?? "")
    }

    /// `Captures/x.expect:12: connection 1 (...): server final state: expected ..., seen ... (frame 10)`.
    static func located(_ m: Mismatch, _ o: CaptureOutcome) -> String {
        o.locationText(m) + ": " + (m.connection.map { $0 + ": " } ?? "") + m.message
    }

    /// `Captures/x.pcap` → (`Captures`, `x.pcap`); a bare name's class is `.`.
    static func split(_ path: String) -> (String, String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let dir = String(path[..<slash])
        return (dir.isEmpty ? "/" : dir, String(path[path.index(after: slash)...]))
    }

    /// Seconds with microseconds (`0.004213`): small captures take milliseconds, and a time that
    /// rounds to zero tells a reader nothing.
    static func seconds(_ s: Double) -> String {
        let us = Int64((max(0, s) * 1_000_000).rounded())
        let frac = String(us % 1_000_000)
        return "\(us / 1_000_000)." + String(repeating: "0", count: 6 - frac.count) + frac
    }

    /// A byte that `text` copies as it is: printable ASCII but `&`, `<`, `>`, tab, newline, and
    /// UTF-8 bytes other than 0xEF.
    private static func plain(_ b: UInt8) -> Bool {
        (b >= 0x20 || b == 0x09 || b == 0x0A) && b != 0x26 && b != 0x3C && b != 0x3E && b != 0xEF
    }

    /// Character data: markup characters escaped, characters XML 1.0 forbids replaced.
    static func text(_ s: String) -> String {
        // Most text needs nothing: one pass over the bytes instead of a copy scalar by scalar. 0xEF
        // leads U+FFFE and U+FFFF (and other characters), so it takes the full pass.
        if s.utf8.allSatisfy(Self.plain) { return s }
        var out = ""
        out.reserveCapacity(s.utf8.count + 16)
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\t", "\n": out.unicodeScalars.append(u)
            case "\r": out += "&#13;"
            default:
                if u.value < 0x20 || u.value == 0xFFFE || u.value == 0xFFFF { out += "\u{FFFD}" } else { out.unicodeScalars.append(u) }
            }
        }
        return out
    }

    /// A quoted attribute value.
    static func attr(_ s: String) -> String {
        let t = text(s)
        if t.utf8.allSatisfy({ $0 != 0x22 && $0 != 0x27 && $0 != 0x0A && $0 != 0x09 }) { return "\"" + t + "\"" }
        var out = ""
        for ch in t.unicodeScalars {
            switch ch {
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n": out += "&#10;"
            case "\t": out += "&#9;"
            default: out.unicodeScalars.append(ch)
            }
        }
        return "\"" + out + "\""
    }
}
