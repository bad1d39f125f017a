/// GitHub Actions workflow commands (`::error file=...,line=...::message`) for every mismatch and
/// error, so they show on the pull request's files. Mismatches point at the expectation file's line
/// (where the fact or rule is); a capture without an expectation file, or one that cannot be read,
/// is annotated on the capture.
public enum GitHubAnnotations {
    public static let title = "wirestate check"

    public static func lines(_ outcomes: [CaptureOutcome]) -> [String] {
        var out: [String] = []
        for o in outcomes {
            for e in o.errors {
                out.append(command(file: e.file, line: e.line, message: e.description))
            }
            for m in o.mismatches {
                let onExpectation = o.hasExpectationFile && o.expectation != nil
                let message = ([m.text(capture: o.capture)] + m.detail).joined(separator: "\n")
                out.append(
                    command(
                        file: onExpectation ? o.expectation! : o.capture, line: onExpectation ? m.line : nil,
                        message: message))
            }
        }
        return out
    }

    public static func command(file: String, line: Int?, message: String) -> String {
        var props = "file=" + property(file)
        if let line { props += ",line=\(line)" }
        props += ",title=" + property(title)
        return "::error \(props)::" + data(message)
    }

    /// Message escaping of @actions/core: `%`, CR and LF.
    public static func data(_ s: String) -> String {
        var out = ""
        for ch in s.unicodeScalars {
            switch ch {
            case "%": out += "%25"
            case "\r": out += "%0D"
            case "\n": out += "%0A"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    /// Property escaping of @actions/core: as `data`, plus `:` and `,`.
    public static func property(_ s: String) -> String {
        data(s).replacingColonsAndCommas()
    }
}

extension String {
    fileprivate func replacingColonsAndCommas() -> String {
        var out = ""
        for ch in unicodeScalars {
            switch ch {
            case ":": out += "%3A"
            case ",": out += "%2C"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }
}
