import WireStateReport

/// The human report of `wirestate check`: a status line per capture with its diff lines under it,
/// and a one-line summary. Strings only; the CLI prints them. Every line quotes input (paths,
/// expectation text), so each is escaped for the terminal.
public enum CheckReport {
    /// `ok    Captures/x.pcap`, `FAIL  Captures/x.pcap`, `ERROR Captures/x.pcap`, with what --update did.
    public static func statusLine(_ o: CaptureOutcome) -> String {
        let word: String
        switch o.status {
        case .passed: word = "ok   "
        case .failed: word = "FAIL "
        case .error: word = "ERROR"
        }
        var s = "\(word) \(Escaped.text(o.capture))"
        if let n = o.connections, o.status != .error { s += " (\(n) connection\(n == 1 ? "" : "s"))" }
        if let u = o.update, let e = o.expectation {
            switch u {
            case .created: s += "; wrote \(Escaped.text(e))"
            case .updated: s += "; updated \(Escaped.text(e))"
            case .unchanged: s += "; \(Escaped.text(e)) unchanged"
            }
        }
        return s
    }

    /// The diff and error lines of one capture, indented under its status line.
    public static func detailLines(_ o: CaptureOutcome) -> [String] {
        var out: [String] = []
        for e in o.errors { out.append("  error: \(e)") }
        for m in o.mismatches {
            out.append("  " + m.text(capture: o.capture))
            for d in m.detail { out.append("      " + d) }
        }
        return out.map(Escaped.text)
    }

    /// Status line and details.
    public static func text(_ o: CaptureOutcome) -> String {
        ([statusLine(o)] + detailLines(o)).joined(separator: "\n") + "\n"
    }

    static func count(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }

    /// `check: 12 captures, 11 passed, 1 failed, 0 errors` (plus what --update wrote).
    public static func summary(_ outcomes: [CaptureOutcome]) -> String {
        let passed = outcomes.filter { $0.status == .passed }.count
        let failed = outcomes.filter { $0.status == .failed }.count
        let errors = outcomes.filter { $0.status == .error }.count
        var s = "check: \(count(outcomes.count, "capture")), \(passed) passed, \(failed) failed, \(count(errors, "error"))"
        let updates = outcomes.compactMap(\.update)
        if !updates.isEmpty {
            let created = updates.filter { $0 == .created }.count
            let updated = updates.filter { $0 == .updated }.count
            let unchanged = updates.filter { $0 == .unchanged }.count
            s += "; expectation files: \(created) written, \(updated) updated, \(unchanged) unchanged"
        }
        return s
    }

    /// 0 when everything passed, 1 when something did not match, 2 when something could not be checked.
    public static func exitCode(_ outcomes: [CaptureOutcome]) -> Int32 {
        if outcomes.contains(where: { $0.status == .error }) { return 2 }
        if outcomes.contains(where: { $0.status == .failed }) { return 1 }
        return 0
    }
}
