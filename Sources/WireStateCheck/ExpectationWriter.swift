import WireStateTracker

/// Writes expectation files from what a capture shows, and refreshes existing ones: the generated
/// block is rewritten, every other line (rules, comments, blank lines) is kept as it was.
public enum ExpectationWriter {
    /// The generated block, markers included: `connections N`, then one block per connection.
    public static func generatedBlock(_ seen: SeenCapture) -> [String] {
        var out = [BlockMarker.begin, "connections \(seen.connections.count)"]
        for c in seen.connections {
            out.append("")
            var header = "connection \(c.id) \(c.client) -> \(c.server)"
            if c.incarnation != 1 { header += " incarnation=\(c.incarnation)" }
            if c.clientGuessed { header += "  # client guessed from the ports: no SYN was captured" }
            out.append(header)
            out.append("  final client=\(c.clientState.name) server=\(c.serverState.name)")
            if let ce = c.clientEvidence, let se = c.serverEvidence {
                out.append("  evidence client=\(ce.name) server=\(se.name)")
            }
            for role in Role.allCases {
                let list = c.transitions(role)
                out.append("  \(role.name) " + (list.isEmpty ? "none" : list.map(\.description).joined(separator: " ")))
            }
            for a in c.anomalies {
                out.append("  anomaly \(a)  # \(a.code.severity.name), \(a.endpoint.name): \(a.message)")
            }
        }
        out.append(BlockMarker.end)
        return out
    }

    /// The comment a new file starts with.
    public static func header(captureName: String) -> [String] {
        [
            "# Expectations for \(captureName), checked by `wirestate check` (grammar: docs/expectations.md).",
            "# Lines outside the generated block are yours: `wirestate check --update` keeps rules and comments.",
            "# Rules hold over every connection, e.g.:",
            "#   rule no-connection server=CLOSE_WAIT",
            "#   rule no-anomaly severity=violation",
            "#   rule every-connection client=TIME_WAIT|CLOSED"
        ]
    }

    /// The file's new text. `existing` is the parsed current file (nil when there is none).
    ///
    /// With a generated block, the lines before and after it stay as they are and the block is
    /// replaced (a `rule` line someone put inside the block is kept, moved just above it). Without
    /// one, fact lines are dropped, everything else is kept, and the block is appended.
    public static func updated(_ existing: ExpectationFile?, seen: SeenCapture, captureName: String) -> String {
        let block = generatedBlock(seen)
        var lines: [String]
        if let file = existing {
            if let b = file.block {
                let rescued = (b.begin + 1..<b.end).filter { file.kinds[$0] == .rule }.map { file.lines[$0] }
                lines = Array(file.lines[..<b.begin]) + rescued + block + Array(file.lines[(b.end + 1)...])
            } else {
                lines = zip(file.lines, file.kinds).filter { $0.1 != .fact }.map(\.0)
                while let last = lines.last, last.trimmingBlanks().isEmpty { lines.removeLast() }
                if !lines.isEmpty { lines.append("") }
                lines += block
            }
        } else {
            lines = header(captureName: captureName) + [""] + block
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
