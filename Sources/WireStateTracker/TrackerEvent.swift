import WireStateDecoder

/// Where a frame lives: which input (0-based, in the order given) and its 1-based number there.
public struct FrameRef: Hashable, Sendable, Comparable {
    // `number` first: 10 bytes, not 16 (no padding between the fields), in every event, summary and
    // endpoint that holds a frame.
    public var number: UInt64
    public var source: UInt16

    public init(source: UInt16 = 0, number: UInt64) {
        self.source = source
        self.number = number
    }

    public static func < (a: FrameRef, b: FrameRef) -> Bool {
        (a.source, a.number) < (b.source, b.number)
    }
}

/// A connection's identity in reports: a run-wide id, and which incarnation of its 4-tuple it is.
public struct ConnectionRef: Hashable, Sendable {
    public var id: UInt64
    public var incarnation: UInt32
}

/// Why an endpoint changed state.
public enum TransitionCause: UInt8, Sendable, CaseIterable {
    case sentSyn, sentSynAck, sentFin, sentRst, sentAck
    case receivedSyn, receivedSynAck, receivedFin, receivedRst, receivedAck
    /// The responder is presumed to be listening because a SYN reached it.
    case presumedListen
    /// Assumed at midstream pickup: no handshake was seen.
    case assumedMidstream
    /// TIME_WAIT ran for 2·MSL of capture time.
    case timeWaitExpired
    /// The endpoint's own segment proves a state the capture did not show it entering.
    case impliedBySent
    /// A new incarnation took over the 4-tuple and ended this one's TIME_WAIT (RFC 6191).
    case replacedByNewIncarnation
    /// It stopped answering retransmissions: presumed gone.
    case presumedGone
    /// Its peer's segment proves a segment of its own that the capture did not show.
    case impliedByPeer
    /// An inferred state its own segment contradicts (a delivery it had not yet had) is taken back.
    case withdrawn
    /// The connection ended with its responder presumed listening: LISTEN is the listening socket's
    /// state, and that socket keeps no TCB for this 4-tuple, so the connection's endpoint is CLOSED.
    case listenerKeepsNoConnection

    /// The stable code written in JSON Lines (`cause_code`) and expectation files (`cause=`).
    /// Spelled out, not derived from the case name, so renaming a case cannot change a file format.
    public var code: String {
        switch self {
        case .sentSyn: return "sent-syn"
        case .sentSynAck: return "sent-syn-ack"
        case .sentFin: return "sent-fin"
        case .sentRst: return "sent-rst"
        case .sentAck: return "sent-ack"
        case .receivedSyn: return "received-syn"
        case .receivedSynAck: return "received-syn-ack"
        case .receivedFin: return "received-fin"
        case .receivedRst: return "received-rst"
        case .receivedAck: return "received-ack"
        case .presumedListen: return "presumed-listen"
        case .assumedMidstream: return "assumed-midstream"
        case .timeWaitExpired: return "time-wait-expired"
        case .impliedBySent: return "implied-by-sent"
        case .replacedByNewIncarnation: return "replaced-by-new-incarnation"
        case .presumedGone: return "presumed-gone"
        case .impliedByPeer: return "implied-by-peer"
        case .withdrawn: return "withdrawn"
        case .listenerKeepsNoConnection: return "listener-keeps-no-connection"
        }
    }

    /// The sentence for people (timelines, the `cause` field).
    public var name: String {
        switch self {
        case .sentSyn: return "sent SYN"
        case .sentSynAck: return "sent SYN+ACK"
        case .sentFin: return "sent FIN"
        case .sentRst: return "sent RST"
        case .sentAck: return "sent ACK"
        case .receivedSyn: return "received SYN"
        case .receivedSynAck: return "received SYN+ACK"
        case .receivedFin: return "received FIN"
        case .receivedRst: return "received RST"
        case .receivedAck: return "received ACK"
        case .presumedListen: return "SYN reached it: presumed listening"
        case .assumedMidstream: return "assumed: picked up midstream"
        case .timeWaitExpired: return "2·MSL elapsed"
        case .impliedBySent: return "implied by its own segment"
        case .replacedByNewIncarnation: return "a new incarnation took over the 4-tuple"
        case .presumedGone: return "stopped answering: presumed gone"
        case .impliedByPeer: return "implied by its peer's segment"
        case .withdrawn: return "inference withdrawn: its own segment shows it had not received that yet"
        case .listenerKeepsNoConnection: return "the connection ended: its listener keeps no connection for this 4-tuple"
        }
    }
}

public struct Transition: Sendable, Equatable {
    public var connection: ConnectionRef
    public var endpoint: Role
    public var from: TCPState
    public var to: TCPState
    public var evidence: Evidence
    public var cause: TransitionCause
    /// nil for transitions caused by time (TIME_WAIT expiry).
    public var frame: FrameRef?
    public var time: Int64
}

/// An endpoint's state became better proven (e.g. a CLOSE_WAIT inferred from the peer's FIN is
/// confirmed when the endpoint acknowledges that FIN).
public struct Confirmation: Sendable, Equatable {
    public var connection: ConnectionRef
    public var endpoint: Role
    public var state: TCPState
    public var evidence: Evidence
    public var frame: FrameRef
    public var time: Int64
}

public struct Anomaly: Sendable, Equatable {
    public var connection: ConnectionRef
    public var code: AnomalyCode
    /// The endpoint the anomaly is about (usually the sender of the proving segment).
    public var endpoint: Role
    /// The frame that proves it (nil only for end-of-capture findings such as one-sided captures).
    public var frame: FrameRef?
    /// An earlier frame it refers to (the first SYN, the first FIN), when there is one.
    public var relatedFrame: FrameRef?
    public var time: Int64
    public var clientBefore: TCPState
    public var serverBefore: TCPState
    public var clientAfter: TCPState
    public var serverAfter: TCPState
    /// Values for the message: sequence numbers are absolute, as on the wire.
    public var expected: UInt32?
    public var actual: UInt32?
    /// Segments that showed the same finding in one unbroken run (a window that stayed shrunk),
    /// and the last of them; 1 and nil for a finding of one frame. A run is reported once, when it
    /// ends, with `frame` its first segment and the states around that first segment.
    public var count: UInt32 = 1
    public var lastFrame: FrameRef? = nil

    /// The only way to build one (declared here, so there is no memberwise initializer): a
    /// step's finding with both endpoints' states before and after that step, all at once
    /// (`Connection.finishStep`). No anomaly exists half built.
    init(_ f: Finding, connection: ConnectionRef, before: (TCPState, TCPState), after: (TCPState, TCPState)) {
        self.connection = connection
        code = f.code
        endpoint = f.endpoint
        frame = f.frame
        relatedFrame = f.relatedFrame
        time = f.time
        clientBefore = before.0
        serverBefore = before.1
        clientAfter = after.0
        serverAfter = after.1
        expected = f.expected
        actual = f.actual
    }

    public var severity: Severity { code.severity }
    public var message: String { code.sentence(who: endpoint.name, expected: expected, actual: actual) }
}

/// Why a connection left the table.
public enum EndReason: UInt8, Sendable {
    /// Both endpoints CLOSED (after the linger period).
    case closed
    /// Replaced by a new incarnation on the same 4-tuple.
    case reused
    /// No packets for the idle timeout.
    case idle
    /// The input ended with the connection still in the table.
    case endOfCapture
    /// Removed to stay under the connection cap (`--max-connections`).
    case evicted

    public var name: String {
        switch self {
        case .closed: return "closed"
        case .reused: return "reused"
        case .idle: return "idle"
        case .endOfCapture: return "end-of-capture"
        case .evicted: return "evicted"
        }
    }
}

/// Everything a report needs to know about one connection, as a plain value.
public struct ConnectionSummary: Sendable, Equatable {
    // Declared in an order that packs (468 bytes, not 512: every event that carries a summary is
    // copied at that size): each 20-byte address and the 10-byte frames followed by the small
    // fields that fill the rest of their 8 bytes. `MemoryLayoutTests` pins the size.
    public var ref: ConnectionRef
    public var violationCount: UInt32 = 0
    public var client: SocketAddress
    /// The tunnels the connection was seen in: 0 for none, else a number in the run's tunnel table
    /// (`ConnectionTracker.tunnelPaths`, handed to sinks by `EventSink.tunnelsChanged`). A number,
    /// not the path, so summaries and events stay as small as on a plain link.
    public var tunnelID: UInt32 = 0
    public var server: SocketAddress
    public var anomalyCount: UInt32 = 0
    public var firstFrame: FrameRef
    public var clientState: TCPState
    public var serverState: TCPState
    public var clientEvidence: Evidence
    public var serverEvidence: Evidence
    /// No handshake was seen: states were assumed at pickup.
    public var midstream = false
    /// No SYN was seen, so which side is the client was guessed (from the ports).
    public var clientGuessed = false
    public var lastFrame: FrameRef
    public var refused = false
    /// A RST closed (or tried to close) the connection.
    public var reset = false
    public var endReason: EndReason? = nil
    public var packetsFromClient: UInt64 = 0
    public var packetsFromServer: UInt64 = 0
    public var bytesFromClient: UInt64 = 0
    public var bytesFromServer: UInt64 = 0
    public var firstTime: Int64
    public var lastTime: Int64
    /// Handshake timing, who reset or closed it, Zeek's view: complete in the final summary.
    public var facts = ConnectionFacts()

    public var durationNanos: Int64 { CaptureTime.elapsed(from: firstTime, to: lastTime) }
}

/// What the tracker tells its consumers, in order.
public enum TrackerEvent: Sendable, Equatable {
    /// A connection (or a new incarnation of a 4-tuple) was first seen.
    /// Events hold no references, so the reusable event buffer is trivially copied and cleared
    /// (boxing the summaries made every per-packet copy pay for reference counting: measured slower).
    case opened(ConnectionSummary)
    case transition(Transition)
    case confirmation(Confirmation)
    case anomaly(Anomaly)
    /// The connection left the table; this is its final record.
    case finished(ConnectionSummary)
}
