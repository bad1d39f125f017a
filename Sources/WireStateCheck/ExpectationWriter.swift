import WireStateTracker

/// Writes expectation files from what a capture shows, and refreshes existing ones: the generated
/// block is rewritten, every other line (rules, comments, blank lines) is kept as it was.
public enum ExpectationWriter {
    /// The generated block, markers included: `connections N`, then one block per connection.
    ///
    /// Unless `pinPorts`, a client port the OS chose is written `*` (`EphemeralPort`), so a
    /// re-recording of the same behaviour, which gets new client ports, still matches.
    public static func generatedBlock(_ seen: SeenCapture, pinPorts: Bool = false) -> [String] {
        var out = [pinPorts ? BlockMarker.beginPinned : BlockMarker.begin, "connections \(seen.connections.count)"]
        for c in seen.connections {
            out.append("")
            let client = pinPorts ? c.client : EphemeralPort.wildcarded(client: c.client)
            var header = "connection \(c.id) \(client) -> \(c.server)"
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

    /// Why `--update` must leave the file alone, or nil when it may rewrite it: facts written by hand
    /// would otherwise be lost. Those are fact lines in a file without a generated block, and facts
    /// inside the block that the writer never writes (patterns, a missing frame or side: a
    /// loosening someone made). Ports are not judged: a pinned number is what older files, and
    /// `--pin-ports`, write.
    public static func refusal(_ file: ExpectationFile, path: String) -> CheckError? {
        guard file.block != nil else {
            guard let first = file.kinds.firstIndex(of: .fact) else { return nil }
            return CheckError(
                file: path, line: first + 1,
                message: "this file has facts written by hand (from this line on) and no generated block; "
                    + "--update would replace them, so it leaves the file as it is. Delete the fact lines "
                    + "(rules and comments stay) to have --update write them, or put them between the "
                    + "`\(BlockMarker.beginPrefix)` and `\(BlockMarker.endPrefix)` marker lines to hand them over to --update")
        }
        guard let line = firstLoosenedFact(file) else { return nil }
        let text = file.lines.indices.contains(line - 1) ? file.lines[line - 1].trimmingBlanks() : ""
        return CheckError(
            file: path, line: line,
            message: "`\(text)` in the generated block was loosened by hand (--update never writes a pattern or "
                + "leaves out a frame); --update would replace it, so it leaves the file as it is. Write the "
                + "loosening as a rule outside the block, or delete the line, then update again")
    }

    /// The line of the first fact in the block that the writer could not have written.
    static func firstLoosenedFact(_ file: ExpectationFile) -> Int? {
        func exact(_ p: Pattern) -> Bool { !p.negated && p.alternatives.count == 1 && !p.alternatives[0].contains("*") }
        func address(_ p: Pattern, client: Bool) -> Bool {
            guard !p.negated, p.alternatives.count == 1 else { return false }
            let a = p.alternatives[0]
            return !a.contains("*") || (client && a.hasSuffix(":*") && !a.dropLast(2).contains("*"))
        }
        var lines: [Int] = []
        for c in file.connections {
            if !address(c.client, client: true) || !address(c.server, client: false) || !exact(c.incarnation) {
                lines.append(c.line)
            }
            for f in [c.final, c.evidence].compactMap({ $0 }) where !(f.client.map(exact) == true && f.server.map(exact) == true) {
                lines.append(f.line)
            }
            for s in [c.clientSequence, c.serverSequence].compactMap({ $0 }) where s.transitions.contains(where: { $0.frame == .any }) {
                lines.append(s.line)
            }
            for a in c.anomalies where a.frame == .any { lines.append(a.line) }
        }
        return lines.min()
    }

    /// The file's new text. `existing` is the parsed current file (nil when there is none); callers
    /// first ask `refusal`, since hand-written facts are not kept.
    ///
    /// With a generated block, the lines before and after it stay as they are and the block is
    /// replaced (a `rule` line someone put inside the block is kept, moved just above it). Without
    /// one, everything is kept and the block is appended. Ports are pinned when `pinPorts` is set
    /// or the existing block was written with `--pin-ports` (its marker says so), so an update never
    /// loosens a pinned file.
    public static func updated(_ existing: ExpectationFile?, seen: SeenCapture, captureName: String, pinPorts: Bool = false) -> String {
        var lines: [String]
        if let file = existing {
            let block = generatedBlock(seen, pinPorts: pinPorts || file.blockPinsPorts)
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
            lines = header(captureName: captureName) + [""] + generatedBlock(seen, pinPorts: pinPorts)
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Which client ports `--update` writes as `*`: the port of the connection's client (the endpoint
/// whose SYN came first, or the one guessed from the ports when no SYN was captured) when it is
/// 1024 or above, the range operating systems pick ephemeral ports from (Linux 32768-60999,
/// Windows and the BSDs 49152-65535). The server's port, its listening side, is always written.
public enum EphemeralPort {
    public static let lowest: UInt16 = 1024

    /// `127.0.0.1:36016` → `127.0.0.1:*`, `[::1]:47006` → `[::1]:*`; a port below 1024 stays.
    public static func wildcarded(client address: String) -> String {
        guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...]),
            port >= lowest
        else { return address }
        return String(address[...colon]) + "*"
    }
}
