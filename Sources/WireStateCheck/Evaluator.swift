import WireStateTracker

/// One difference between an expectation file and what the capture shows.
public struct Mismatch: Sendable, Equatable {
    /// The connection it is about, `connection 1 (127.0.0.1:36016 -> 127.0.0.1:47001)`; nil for the
    /// whole capture.
    public var connection: String?
    /// `server final state: expected CLOSE_WAIT, seen CLOSED (frame 10)`.
    public var message: String
    /// Extra lines shown under the message (whole sequences, for copying).
    public var detail: [String]
    /// The line of the expectation file it is about (for annotations), when there is one.
    public var line: Int?
    /// The frame that shows what was seen, when there is one.
    public var frame: UInt64?
    /// The file `line` is in when it is not the capture's expectation file: a directory's rules file.
    public var file: String?

    public init(
        connection: String? = nil, message: String, detail: [String] = [], line: Int? = nil, frame: UInt64? = nil,
        file: String? = nil
    ) {
        self.connection = connection
        self.message = message
        self.detail = detail
        self.line = line
        self.frame = frame
        self.file = file
    }

    /// The diff line: `Captures/x.pcap: connection 1 (...): server final state: expected ..., seen ... (frame 10)`.
    public func text(capture: String) -> String {
        "\(capture): " + (connection.map { $0 + ": " } ?? "") + message
    }
}

/// Compares an expectation file with a capture's connections.
public enum Evaluator {
    public static func evaluate(_ file: ExpectationFile, _ seen: SeenCapture) -> [Mismatch] {
        facts(file, seen) + rules(file.rules, seen)
    }

    static func frameNote(_ frame: UInt64?, timer: String = "the 2·MSL timer") -> String {
        frame.map { "frame \($0)" } ?? timer
    }

    // MARK: Facts

    static func facts(_ file: ExpectationFile, _ seen: SeenCapture) -> [Mismatch] {
        var out: [Mismatch] = []
        if let count = file.connectionCount, count.count != seen.connections.count {
            out.append(
                Mismatch(
                    message: "connections: expected \(count.count), seen \(seen.connections.count)",
                    line: count.line))
        }
        // Match each described connection with the first unmatched seen one that has its addresses and
        // incarnation (in first-seen order, so repeated tuples pair up in order).
        var used = [Bool](repeating: false, count: seen.connections.count)
        for e in file.connections {
            let index = seen.connections.indices.first { i in
                let c = seen.connections[i]
                return !used[i] && e.client.matches(c.client) && e.server.matches(c.server)
                    && e.incarnation.matches(String(c.incarnation))
            }
            guard let i = index else {
                out.append(
                    Mismatch(
                        connection: e.label,
                        message: "expected this connection, seen none with these "
                            + "addresses\(e.incarnation == .exactly("1") ? "" : " and incarnation")", line: e.line))
                continue
            }
            used[i] = true
            out += compare(e, seen.connections[i])
        }
        if let count = file.connectionCount {
            for (i, c) in seen.connections.enumerated() where !used[i] {
                out.append(
                    Mismatch(
                        connection: c.label,
                        message: "expected no such connection, seen one in frames \(c.firstFrame)-\(c.lastFrame) "
                            + "ending client=\(c.clientState.name) server=\(c.serverState.name) (frame \(c.firstFrame))",
                        line: count.line, frame: c.firstFrame))
            }
        }
        return out
    }

    /// The file's name for the connection with the capture's addresses (and the capture's id when it differs).
    static func label(_ e: ExpectedConnection, _ c: SeenConnection) -> String {
        var s = "connection \(e.id) (\(c.client) -> \(c.server)"
        if c.incarnation != 1 { s += ", incarnation \(c.incarnation)" }
        if c.id != e.id { s += "; connection \(c.id) in the capture" }
        return s + ")"
    }

    static func compare(_ e: ExpectedConnection, _ c: SeenConnection) -> [Mismatch] {
        var out: [Mismatch] = []
        let label = label(e, c)
        if let f = e.final {
            for role in Role.allCases {
                guard let p = role == .client ? f.client : f.server else { continue }
                let state = c.finalState(role)
                if !p.matches(state.name) {
                    let w = c.finalStateWhere(role)
                    out.append(
                        Mismatch(
                            connection: label,
                            message: "\(role.name) final state: expected \(p), seen \(state.name) (\(w.text))",
                            line: f.line, frame: w.frame))
                }
            }
        }
        if let f = e.evidence {
            for role in Role.allCases {
                guard let p = role == .client ? f.client : f.server,
                    let seen = role == .client ? c.clientEvidence : c.serverEvidence
                else { continue }
                if !p.matches(seen.name) {
                    let w = c.finalStateWhere(role)
                    out.append(
                        Mismatch(
                            connection: label,
                            message: "\(role.name) final state evidence: expected \(p), seen \(seen.name) (\(w.text))",
                            line: f.line, frame: w.frame))
                }
            }
        }
        for role in Role.allCases {
            guard let seq = e.sequence(role) else { continue }
            if let m = compareSequence(seq, c.transitions(role), role: role, label: label) { out.append(m) }
        }
        out += compareAnomalies(e, c, label: label)
        return out
    }

    /// The first difference between the expected and the seen transitions, with both whole sequences.
    static func compareSequence(_ seq: ExpectedSequence, _ seen: [SeenTransition], role: Role, label: String) -> Mismatch? {
        let expected = seq.transitions
        var i = 0
        while i < expected.count && i < seen.count && seen[i].matches(expected[i]) { i += 1 }
        if i == expected.count && i == seen.count { return nil }
        let step = "\(role.name) transition \(i + 1)"
        let message: String
        var frame: UInt64? = nil
        if i < expected.count && i < seen.count {
            frame = seen[i].frame
            message = "\(step): expected \(expected[i]), seen \(seen[i]) (\(seen[i].whereNote))"
        } else if i < expected.count {
            frame = seen.last?.frame
            let after =
                seen.last.map { " (the \(role.name)'s last transition is at \($0.whereNote))" }
                ?? " (the \(role.name) never changed state)"
            message = "\(step): expected \(expected[i]), seen none\(after)"
        } else {
            frame = seen[i].frame
            message = "\(step): expected none, seen \(seen[i]) (\(seen[i].whereNote))"
        }
        func render(_ items: [String]) -> String { items.isEmpty ? "none" : items.joined(separator: " ") }
        return Mismatch(
            connection: label, message: message,
            detail: [
                "expected: \(role.name) " + render(expected.map(\.description)),
                "seen:     \(role.name) " + render(seen.map(\.description))
            ],
            line: seq.line, frame: frame)
    }

    /// Anomalies are compared as a list: exact matches first, then code-only matches; what is left
    /// pairs up by code (moved to another frame), and the rest is missing or new.
    static func compareAnomalies(_ e: ExpectedConnection, _ c: SeenConnection, label: String) -> [Mismatch] {
        var expectedLeft = Array(e.anomalies.indices)
        var seenLeft = Array(c.anomalies.indices)
        func take(where match: (ExpectedAnomaly, SeenAnomaly) -> Bool) {
            var keep: [Int] = []
            for ei in expectedLeft {
                if let k = seenLeft.firstIndex(where: { match(e.anomalies[ei], c.anomalies[$0]) }) {
                    seenLeft.remove(at: k)
                } else {
                    keep.append(ei)
                }
            }
            expectedLeft = keep
        }
        take { x, s in x.frame != .any && x.code == s.code && x.frame.matches(s.frame) }
        take { x, s in x.frame == .any && x.code == s.code }
        var out: [Mismatch] = []
        func describe(_ s: SeenAnomaly) -> String {
            "\(s) (\(s.code.severity.name), \(s.endpoint.name): \(s.message); \(frameNote(s.frame, timer: "end of capture")))"
        }
        for ei in expectedLeft {
            let x = e.anomalies[ei]
            if let k = seenLeft.firstIndex(where: { c.anomalies[$0].code == x.code }) {
                let s = c.anomalies[seenLeft.remove(at: k)]
                out.append(
                    Mismatch(
                        connection: label, message: "anomaly \(x.code.code): expected \(x), seen \(describe(s))",
                        line: x.line, frame: s.frame))
            } else {
                out.append(Mismatch(connection: label, message: "anomaly: expected \(x), seen none", line: x.line))
            }
        }
        for k in seenLeft {
            let s = c.anomalies[k]
            out.append(
                Mismatch(
                    connection: label, message: "anomaly: expected none, seen \(describe(s))",
                    line: e.line, frame: s.frame))
        }
        return out
    }

    // MARK: Rules

    /// The value a condition key reads, for a connection and possibly one of its anomalies or transitions.
    enum Subject {
        case connection
        case anomaly(SeenAnomaly)
        case transition(SeenTransition, Role)
    }

    static func value(_ key: ConditionKey, _ c: SeenConnection, _ subject: Subject) -> String? {
        switch key {
        case .clientAddress: return c.client
        case .serverAddress: return c.server
        case .incarnation: return String(c.incarnation)
        case .client: return c.clientState.name
        case .server: return c.serverState.name
        case .refused: return c.refused ? "yes" : "no"
        case .reset: return c.reset ? "yes" : "no"
        case .midstream: return c.midstream ? "yes" : "no"
        case .endpoint:
            switch subject {
            case .anomaly(let a): return a.endpoint.name
            case .transition(_, let r): return r.name
            case .connection: return nil
            }
        case .code:
            if case .anomaly(let a) = subject { return a.code.code }
            return nil
        case .severity:
            if case .anomaly(let a) = subject { return a.code.severity.name }
            return nil
        case .from:
            if case .transition(let t, _) = subject { return t.from.name }
            return nil
        case .to:
            if case .transition(let t, _) = subject { return t.to.name }
            return nil
        case .cause:
            if case .transition(let t, _) = subject { return ExpectationParser.causeName(t.cause) }
            return nil
        }
    }

    static func holds(_ conditions: [Condition], _ c: SeenConnection, _ subject: Subject) -> Bool {
        conditions.allSatisfy { cond in value(cond.key, c, subject).map { cond.pattern.matches($0) } ?? false }
    }

    /// The frame that best shows a connection condition: where the endpoint reached its final state
    /// for a state key, otherwise the connection's first frame.
    static func evidence(_ key: ConditionKey, _ c: SeenConnection) -> (text: String, frame: UInt64?) {
        switch key {
        case .client: return c.finalStateWhere(.client)
        case .server: return c.finalStateWhere(.server)
        default: return ("frame \(c.firstFrame)", c.firstFrame)
        }
    }

    static func describe(_ key: ConditionKey, _ c: SeenConnection) -> String {
        switch key {
        case .client: return "client ends in \(c.clientState.name)"
        case .server: return "server ends in \(c.serverState.name)"
        case .clientAddress: return "client is \(c.client)"
        case .serverAddress: return "server is \(c.server)"
        case .incarnation: return "incarnation is \(c.incarnation)"
        case .refused: return c.refused ? "it was refused" : "it was not refused"
        case .reset: return c.reset ? "it was reset" : "it was not reset"
        case .midstream: return c.midstream ? "it was picked up midstream" : "its handshake was seen"
        default: return "\(key.rawValue)=\(value(key, c, .connection) ?? "?")"
        }
    }

    /// Every rule over every connection. `source` is the rules file the rules come from (nil: the
    /// capture's expectation file); mismatches name it and point at it.
    public static func rules(_ rules: [Rule], _ seen: SeenCapture, source: String? = nil) -> [Mismatch] {
        var out: [Mismatch] = []
        for rule in rules {
            let name = "\(rule.text) (\(source.map { "\($0):\(rule.line)" } ?? "line \(rule.line)"))"
            for c in seen.connections {
                switch rule.kind {
                case .noConnection:
                    guard holds(rule.conditions + rule.scope, c, .connection) else { continue }
                    // Name what the rule forbids, at the frame that shows it (state keys first).
                    let keys: [ConditionKey] = rule.conditions.map(\.key)
                    let primary: ConditionKey? = keys.first { $0 == .client || $0 == .server } ?? keys.first
                    let shown: (text: String, frame: UInt64?) =
                        primary.map { evidence($0, c) }
                        ?? ("frame \(c.firstFrame)", c.firstFrame)
                    let what: String =
                        keys.isEmpty
                        ? "the connection exists"
                        : keys.map { describe($0, c) }.joined(separator: ", ")
                    out.append(
                        Mismatch(
                            connection: c.label,
                            message: "\(name): expected no such connection, seen \(what) (\(shown.text))",
                            line: rule.line, frame: shown.frame, file: source))
                case .everyConnection:
                    guard holds(rule.scope, c, .connection) else { continue }
                    let failed = rule.conditions.filter { !holds([$0], c, .connection) }
                    guard let first = failed.first else { continue }
                    let shown = evidence(first.key, c)
                    let expected = failed.map(\.description).joined(separator: " ")
                    let what = failed.map { describe($0.key, c) }.joined(separator: ", ")
                    out.append(
                        Mismatch(
                            connection: c.label,
                            message: "\(name): expected \(expected), seen \(what) (\(shown.text))",
                            line: rule.line, frame: shown.frame, file: source))
                case .noAnomaly:
                    for a in c.anomalies where holds(rule.conditions + rule.scope, c, .anomaly(a)) {
                        out.append(
                            Mismatch(
                                connection: c.label,
                                message: "\(name): expected no such anomaly, seen \(a) (\(a.code.severity.name), "
                                    + "\(a.endpoint.name): \(a.message); \(frameNote(a.frame, timer: "end of capture")))",
                                line: rule.line, frame: a.frame, file: source))
                    }
                case .noTransition:
                    for role in Role.allCases {
                        for t in c.transitions(role) where holds(rule.conditions + rule.scope, c, .transition(t, role)) {
                            out.append(
                                Mismatch(
                                    connection: c.label,
                                    message: "\(name): expected no such transition, seen \(role.name) \(t) "
                                        + "(\(ExpectationParser.causeName(t.cause)); \(t.whereNote))",
                                    line: rule.line, frame: t.frame, file: source))
                        }
                    }
                }
            }
        }
        return out
    }
}
