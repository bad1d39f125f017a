/// The eleven connection states of RFC 9293 §3.3.2, held per endpoint.
public enum TCPState: UInt8, CaseIterable, Sendable, Comparable {
    case closed, listen, synSent, synReceived, established
    case finWait1, finWait2, closeWait, closing, lastAck, timeWait

    /// RFC name, upper case with underscores (`TIME_WAIT`): the spelling every report uses.
    public var name: String {
        switch self {
        case .closed: return "CLOSED"
        case .listen: return "LISTEN"
        case .synSent: return "SYN_SENT"
        case .synReceived: return "SYN_RECEIVED"
        case .established: return "ESTABLISHED"
        case .finWait1: return "FIN_WAIT_1"
        case .finWait2: return "FIN_WAIT_2"
        case .closeWait: return "CLOSE_WAIT"
        case .closing: return "CLOSING"
        case .lastAck: return "LAST_ACK"
        case .timeWait: return "TIME_WAIT"
        }
    }

    public init?(name: String) {
        guard let s = TCPState.allCases.first(where: { $0.name == name }) else { return nil }
        self = s
    }

    /// ESTABLISHED and every state after it: the sequence spaces of both sides are known.
    public var isSynchronized: Bool { self >= .established }

    public static func < (a: TCPState, b: TCPState) -> Bool { a.rawValue < b.rawValue }

    /// The transitions RFC 9293 allows (figure 5 plus the RST and abort edges of §3.10).
    /// Any other move the tracker makes must come with an anomaly at the same frame.
    public static func rfcAllows(from: TCPState, to: TCPState) -> Bool {
        switch (from, to) {
        case (.closed, .listen), (.closed, .synSent),
            (.listen, .synReceived), (.listen, .synSent), (.listen, .closed),
            (.synSent, .synReceived), (.synSent, .established), (.synSent, .closed),
            (.synReceived, .established), (.synReceived, .finWait1), (.synReceived, .closeWait),
            (.synReceived, .listen), (.synReceived, .closed),
            (.established, .finWait1), (.established, .closeWait),
            (.finWait1, .finWait2), (.finWait1, .closing), (.finWait1, .timeWait),
            (.finWait2, .timeWait), (.closing, .timeWait),
            (.closeWait, .lastAck), (.lastAck, .closed), (.timeWait, .closed):
            return true
        case (let f, .closed) where f.isSynchronized:
            return true  // RST received or sent, or ABORT
        default:
            return false
        }
    }
}

/// How the tracker knows an endpoint's state (design note §3).
public enum Evidence: UInt8, Sendable, Comparable, CaseIterable {
    /// Nothing proves it: the capture began mid-connection, or the state is the starting assumption.
    case unknown
    /// Follows from a segment that passed the capture point and is presumed delivered, not yet confirmed.
    case inferred
    /// The endpoint's own segments prove it.
    case observed

    public var name: String {
        switch self {
        case .unknown: return "unknown"
        case .inferred: return "inferred"
        case .observed: return "observed"
        }
    }

    public static func < (a: Evidence, b: Evidence) -> Bool { a.rawValue < b.rawValue }
}

/// Which endpoint of a connection: the client is the one whose SYN came first.
public enum Role: UInt8, Sendable, CaseIterable {
    case client, server

    public var peer: Role { self == .client ? .server : .client }
    public var name: String { self == .client ? "client" : "server" }
}

/// One value per endpoint, addressed by role (no mirrored client/server fields).
struct PerRole<Value> {
    var client: Value
    var server: Value

    init(_ both: Value) { client = both; server = both }

    @inline(__always)
    subscript(_ role: Role) -> Value {
        get { role == .client ? client : server }
        // In place, not a copy of the endpoint and a write back.
        _modify { if role == .client { yield &client } else { yield &server } }
    }
}

extension PerRole: Sendable where Value: Sendable {}
