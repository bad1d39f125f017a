import WireStateTracker

// The parsed form of an expectation file (`NAME.expect` beside `NAME.pcap`). The grammar is
// documented in docs/expectations.md; every element remembers its 1-based line so diffs,
// errors and CI annotations can point at it.

/// A value pattern: alternatives separated by `|`, each a glob where `*` matches any run of
/// characters; a leading `!` negates the whole pattern. `TIME_WAIT|CLOSED`, `*:47001`, `!CLOSED`.
public struct Pattern: Sendable, Equatable, CustomStringConvertible {
    public var negated: Bool
    public var alternatives: [String]

    public init(negated: Bool = false, _ alternatives: [String]) {
        self.negated = negated
        self.alternatives = alternatives
    }

    /// Parses `A|B|C` or `!A|B`; nil if empty or an alternative is empty.
    public init?(parsing text: String) {
        var body = Substring(text)
        negated = body.hasPrefix("!")
        if negated { body = body.dropFirst() }
        let parts = body.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard !parts.isEmpty, !parts.contains(where: \.isEmpty) else { return nil }
        alternatives = parts
    }

    public static func exactly(_ value: String) -> Pattern { Pattern([value]) }

    public var description: String { (negated ? "!" : "") + alternatives.joined(separator: "|") }

    /// True when the pattern accepts every value (`*`).
    public var isAny: Bool { !negated && alternatives.contains("*") }

    public func matches(_ value: String) -> Bool {
        let hit = alternatives.contains { Self.glob($0, value) }
        return negated ? !hit : hit
    }

    /// `*` matches any run of characters (possibly empty); everything else matches itself.
    static func glob(_ pattern: String, _ value: String) -> Bool {
        if !pattern.contains("*") { return pattern == value }
        let p = Array(pattern.unicodeScalars), v = Array(value.unicodeScalars)
        var pi = 0, vi = 0
        var star = -1, mark = 0
        while vi < v.count {
            if pi < p.count && p[pi] != "*" && p[pi] == v[vi] {
                pi += 1; vi += 1
            } else if pi < p.count && p[pi] == "*" {
                star = pi; mark = vi; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; vi = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}

/// Which frame a fact names: `@12`, `@timer`/`@end` (no frame: a timer expiry or an end-of-capture
/// finding), or nothing (any frame matches; only hand-written facts omit it).
public enum FrameSpec: Sendable, Equatable {
    case any
    case frame(UInt64)
    case none

    public func matches(_ frame: UInt64?) -> Bool {
        switch self {
        case .any: return true
        case .frame(let n): return frame == n
        case .none: return frame == nil
        }
    }

    /// `@12`, `@timer` (or the given word for `.none`), or empty.
    public func suffix(noFrameWord: String) -> String {
        switch self {
        case .any: return ""
        case .frame(let n): return "@\(n)"
        case .none: return "@" + noFrameWord
        }
    }

    init(_ frame: UInt64?) { self = frame.map { .frame($0) } ?? .none }
}

/// One expected state change of one endpoint: `ESTABLISHED>FIN_WAIT_1@8`.
public struct ExpectedTransition: Sendable, Equatable, CustomStringConvertible {
    public var from: TCPState
    public var to: TCPState
    public var frame: FrameSpec

    public init(from: TCPState, to: TCPState, frame: FrameSpec) {
        self.from = from
        self.to = to
        self.frame = frame
    }

    public var description: String { "\(from.name)>\(to.name)" + frame.suffix(noFrameWord: "timer") }
}

/// One expected anomaly: `refused@2`.
public struct ExpectedAnomaly: Sendable, Equatable, CustomStringConvertible {
    public var code: AnomalyCode
    public var frame: FrameSpec
    public var line: Int

    public init(code: AnomalyCode, frame: FrameSpec, line: Int) {
        self.code = code
        self.frame = frame
        self.line = line
    }

    public var description: String { code.code + frame.suffix(noFrameWord: "end") }
}

/// `final client=TIME_WAIT server=CLOSED`: patterns over the final states (nil: not checked).
public struct ExpectedFinal: Sendable, Equatable {
    public var client: Pattern?
    public var server: Pattern?
    public var line: Int

    public init(client: Pattern?, server: Pattern?, line: Int) {
        self.client = client
        self.server = server
        self.line = line
    }
}

/// `client CLOSED>SYN_SENT@1 ...` (or `client none`): an endpoint's whole transition sequence.
public struct ExpectedSequence: Sendable, Equatable {
    public var transitions: [ExpectedTransition]
    public var line: Int

    public init(transitions: [ExpectedTransition], line: Int) {
        self.transitions = transitions
        self.line = line
    }
}

/// A `connection` block: the header and the fact lines under it.
public struct ExpectedConnection: Sendable, Equatable {
    /// The number after `connection`: its position in first-seen order when generated. It names the
    /// connection in diffs; matching uses the addresses and the incarnation.
    public var id: UInt64
    public var client: Pattern
    public var server: Pattern
    /// `incarnation=N`; absent means 1.
    public var incarnation: Pattern
    public var line: Int
    public var final: ExpectedFinal?
    /// `evidence client=observed server=inferred`: patterns over the final states' evidence.
    public var evidence: ExpectedFinal?
    public var clientSequence: ExpectedSequence?
    public var serverSequence: ExpectedSequence?
    /// Every anomaly the connection has: the list is complete (none listed means none expected).
    public var anomalies: [ExpectedAnomaly] = []

    public init(id: UInt64, client: Pattern, server: Pattern, incarnation: Pattern = .exactly("1"), line: Int) {
        self.id = id
        self.client = client
        self.server = server
        self.incarnation = incarnation
        self.line = line
    }

    /// `connection 1 (127.0.0.1:36016 -> 127.0.0.1:47001)`, with `incarnation 2` when not 1.
    public var label: String {
        let inc = incarnation == .exactly("1") ? "" : ", incarnation \(incarnation)"
        return "connection \(id) (\(client) -> \(server)\(inc))"
    }

    func sequence(_ role: Role) -> ExpectedSequence? { role == .client ? clientSequence : serverSequence }
}

/// What a rule condition looks at.
public enum ConditionKey: String, Sendable, CaseIterable {
    // The connection (usable in every rule).
    case clientAddress = "client-addr"
    case serverAddress = "server-addr"
    case incarnation
    /// Final state of the client / the server.
    case client
    case server
    case refused
    case reset
    case midstream
    // An anomaly (no-anomaly) or a transition (no-transition).
    case endpoint
    // An anomaly.
    case code
    case severity
    // A transition.
    case from
    case to
    case cause

    static let connectionKeys: [ConditionKey] = [
        .clientAddress, .serverAddress, .incarnation, .client, .server,
        .refused, .reset, .midstream
    ]
}

/// `key=pattern`.
public struct Condition: Sendable, Equatable, CustomStringConvertible {
    public var key: ConditionKey
    public var pattern: Pattern

    public init(_ key: ConditionKey, _ pattern: Pattern) {
        self.key = key
        self.pattern = pattern
    }

    public var description: String { "\(key.rawValue)=\(pattern)" }
}

/// `rule KIND CONDITION... [where CONDITION...]`: a hand-written check over every connection.
public struct Rule: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// No connection may match all conditions.
        case noConnection = "no-connection"
        /// Every connection (matching the `where` conditions) must match all conditions.
        case everyConnection = "every-connection"
        /// No anomaly may match all conditions.
        case noAnomaly = "no-anomaly"
        /// No transition of either endpoint may match all conditions.
        case noTransition = "no-transition"

        /// The condition keys the kind accepts.
        public var keys: [ConditionKey] {
            switch self {
            case .noConnection, .everyConnection: return ConditionKey.connectionKeys
            case .noAnomaly: return ConditionKey.connectionKeys + [.endpoint, .code, .severity]
            case .noTransition: return ConditionKey.connectionKeys + [.endpoint, .from, .to, .cause]
            }
        }
    }

    public var kind: Kind
    public var conditions: [Condition]
    /// After `where`: which connections the rule is about (all when empty).
    public var scope: [Condition]
    public var line: Int

    public init(kind: Kind, conditions: [Condition], scope: [Condition] = [], line: Int) {
        self.kind = kind
        self.conditions = conditions
        self.scope = scope
        self.line = line
    }

    /// The rule as written, normalised: `rule no-connection server=CLOSE_WAIT`.
    public var text: String {
        var s = "rule \(kind.rawValue)"
        if !conditions.isEmpty { s += " " + conditions.map(\.description).joined(separator: " ") }
        if !scope.isEmpty { s += " where " + scope.map(\.description).joined(separator: " ") }
        return s
    }
}

/// What each line of the file is, so `--update` can keep the hand-written ones.
public enum LineKind: Sendable, Equatable {
    case blank
    case comment
    case blockBegin
    case blockEnd
    case fact
    case rule
}

/// A whole expectation file.
public struct ExpectationFile: Sendable, Equatable {
    /// The file's lines, without line terminators.
    public var lines: [String]
    public var kinds: [LineKind]
    /// `connections N`: when present, the connection blocks are the complete list.
    public var connectionCount: (count: Int, line: Int)? {
        get { countValue.map { ($0, countLine) } }
        set { countValue = newValue?.count; countLine = newValue?.line ?? 0 }
    }
    var countValue: Int?
    var countLine = 0
    public var connections: [ExpectedConnection] = []
    public var rules: [Rule] = []
    /// 0-based indices of the generated block's marker lines, when the file has one.
    public var block: (begin: Int, end: Int)? {
        get { blockBegin.map { ($0, blockEnd ?? $0) } }
        set { blockBegin = newValue?.begin; blockEnd = newValue?.end }
    }
    var blockBegin: Int?
    var blockEnd: Int?
    /// The block's begin marker says `--pin-ports`: `--update` keeps writing client ports as numbers.
    public var blockPinsPorts = false

    public init(lines: [String] = [], kinds: [LineKind] = []) {
        self.lines = lines
        self.kinds = kinds
    }
}
