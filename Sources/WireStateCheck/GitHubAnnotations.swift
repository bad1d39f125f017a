/// GitHub Actions workflow commands (`::error file=...,line=...::message`) for every mismatch and
/// error, so they show on the pull request's files. Mismatches point at the expectation file's line
/// (where the fact or rule is), or the directory rules file's; a capture without an expectation
/// file, or one that cannot be read, is annotated on the capture.
public enum GitHubAnnotations {
    public static let title = "wirestate check"

    /// One command per error and mismatch. An error in a directory's rules file is shared by every
    /// capture below it, so repeated commands are given once.
    public static func lines(_ outcomes: [CaptureOutcome]) -> [String] {
        var out: [String] = []
        var given = Set<String>()
        func add(_ line: String) { if given.insert(line).inserted { out.append(line) } }
        for o in outcomes {
            for e in o.errors {
                add(command(file: e.file, line: e.line, message: e.description))
            }
            for m in o.mismatches {
                let place = o.location(m)
                let message = ([m.text(capture: o.capture)] + m.detail).joined(separator: "\n")
                add(command(file: place.file, line: place.line, message: message))
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
        if s.utf8.allSatisfy({ $0 != 0x25 && $0 != 0x0D && $0 != 0x0A }) { return s }  // most messages: nothing to escape
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
