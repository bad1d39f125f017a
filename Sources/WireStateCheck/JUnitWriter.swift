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

    public func xml(_ outcomes: [CaptureOutcome]) -> String {
        let failures = outcomes.filter { $0.status == .failed }.count
        let errors = outcomes.filter { $0.status == .error }.count
        let time = Self.seconds(outcomes.reduce(0) { $0 + $1.seconds })
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
                let n = o.mismatches.count
                let first = o.mismatches.first.map { $0.text(capture: o.capture) } ?? ""
                x += ">\n      <failure message=\(Self.attr("\(n) mismatch\(n == 1 ? "" : "es"): \(first)")) type=\"mismatch\">"
                x += Self.text(CheckReport.detailLines(o).map { String($0.dropFirst(2)) }.joined(separator: "\n"))
                x += "</failure>\n    </testcase>\n"
            case .error:
                let first = o.errors.first.map(\.description) ?? ""
                x += ">\n      <error message=\(Self.attr(first)) type=\"error\">"
                x += Self.text(o.errors.map(\.description).joined(separator: "\n"))
                x += "</error>\n    </testcase>\n"
            }
        }
        x += "    <system-out/>\n    <system-err/>\n  </testsuite>\n</testsuites>\n"
        return x
    }

    /// `Captures/x.pcap` → (`Captures`, `x.pcap`); a bare name's class is `.`.
    static func split(_ path: String) -> (String, String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let dir = String(path[..<slash])
        return (dir.isEmpty ? "/" : dir, String(path[path.index(after: slash)...]))
    }

    static func seconds(_ s: Double) -> String {
        let ms = Int64((s * 1000).rounded())
        let frac = String(ms % 1000)
        return "\(ms / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
    }

    /// Character data: markup characters escaped, characters XML 1.0 forbids replaced.
    static func text(_ s: String) -> String {
        var out = ""
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
        var out = ""
        for ch in text(s).unicodeScalars {
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
