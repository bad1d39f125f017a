import WireStateCapture
import WireStateDecoder
import WireStatePipeline
import WireStateTracker

/// One state change as seen in the capture.
public struct SeenTransition: Sendable, Equatable, CustomStringConvertible {
    public var from: TCPState
    public var to: TCPState
    /// nil for a timer (TIME_WAIT's 2·MSL expiry).
    public var frame: UInt64?
    public var cause: TransitionCause

    public init(from: TCPState, to: TCPState, frame: UInt64?, cause: TransitionCause) {
        self.from = from
        self.to = to
        self.frame = frame
        self.cause = cause
    }

    /// `ESTABLISHED>FIN_WAIT_1@8` (`@timer` without a frame, `@end` for the presumed LISTEN that
    /// the end of the connection closes): the expectation-file spelling.
    public var description: String { "\(from.name)>\(to.name)" + FrameSpec(frame).suffix(noFrameWord: noFrameWord) }

    /// What moved it when no frame did: TIME_WAIT's timer, or the end of the connection.
    var noFrameWord: String { cause == .listenerKeepsNoConnection ? "end" : "timer" }

    /// Where it happened, for messages: `frame 8`, `the 2·MSL timer`, `the end of the connection`.
    var whereNote: String {
        if let frame { return "frame \(frame)" }
        return cause == .listenerKeepsNoConnection ? "the end of the connection" : "the 2·MSL timer"
    }

    func matches(_ e: ExpectedTransition) -> Bool { e.from == from && e.to == to && e.frame.matches(frame) }
}

/// One anomaly as seen in the capture.
public struct SeenAnomaly: Sendable, Equatable, CustomStringConvertible {
    public var code: AnomalyCode
    /// nil for end-of-capture findings.
    public var frame: UInt64?
    public var endpoint: Role
    public var message: String

    public init(code: AnomalyCode, frame: UInt64?, endpoint: Role, message: String) {
        self.code = code
        self.frame = frame
        self.endpoint = endpoint
        self.message = message
    }

    /// `refused@2` (`@end` without a frame).
    public var description: String { code.code + FrameSpec(frame).suffix(noFrameWord: "end") }
}

/// One connection (one incarnation of a 4-tuple) as the tracker reported it.
public struct SeenConnection: Sendable, Equatable {
    public var id: UInt64
    public var incarnation: UInt32
    /// `127.0.0.1:36016`, `[::1]:47006`.
    public var client: String
    public var server: String
    public var clientState: TCPState
    public var serverState: TCPState
    public var clientTransitions: [SeenTransition] = []
    public var serverTransitions: [SeenTransition] = []
    public var anomalies: [SeenAnomaly] = []
    public var firstFrame: UInt64
    public var lastFrame: UInt64
    public var refused = false
    public var reset = false
    public var midstream = false
    public var clientGuessed = false
    /// How sure the final states are (nil when not known, e.g. a hand-built connection).
    public var clientEvidence: Evidence? = nil
    public var serverEvidence: Evidence? = nil

    public init(
        id: UInt64, incarnation: UInt32 = 1, client: String, server: String,
        clientState: TCPState, serverState: TCPState, firstFrame: UInt64, lastFrame: UInt64
    ) {
        self.id = id
        self.incarnation = incarnation
        self.client = client
        self.server = server
        self.clientState = clientState
        self.serverState = serverState
        self.firstFrame = firstFrame
        self.lastFrame = lastFrame
    }

    public func transitions(_ role: Role) -> [SeenTransition] {
        role == .client ? clientTransitions : serverTransitions
    }

    public func finalState(_ role: Role) -> TCPState { role == .client ? clientState : serverState }

    /// `connection 1 (127.0.0.1:36016 -> 127.0.0.1:47001)`, with the incarnation when not 1.
    public var label: String {
        "connection \(id) (\(client) -> \(server)" + (incarnation > 1 ? ", incarnation \(incarnation)" : "") + ")"
    }

    /// Where the endpoint entered its final state: `frame 10`, `the 2·MSL timer`, or the first frame
    /// when it never changed state.
    public func finalStateWhere(_ role: Role) -> (text: String, frame: UInt64?) {
        guard let last = transitions(role).last else { return ("frame \(firstFrame)", firstFrame) }
        return (last.whereNote, last.frame)
    }
}

/// Everything `check` compares: the connections of one capture, in first-seen order.
public struct SeenCapture: Sendable, Equatable {
    public var connections: [SeenConnection]

    public init(connections: [SeenConnection]) {
        self.connections = connections
    }
}

/// Collects what `check` compares straight from the tracker's events: every finished connection,
/// with its transitions and anomalies. It sits on the same `Pipeline` as `analyze`'s collector, so
/// it sees the same events; being its own sink, it does not depend on what reporters keep.
public struct ExpectationCollector: EventSink {
    public private(set) var summaries: [ConnectionSummary] = []
    public private(set) var transitions: [UInt64: [Transition]] = [:]
    public private(set) var anomalies: [UInt64: [Anomaly]] = [:]

    public init() {}

    public mutating func consume(_ event: TrackerEvent) {
        switch event {
        case .transition(let t): transitions[t.connection.id, default: []].append(t)
        case .anomaly(let a): anomalies[a.connection.id, default: []].append(a)
        case .finished(let s): summaries.append(s)
        case .opened, .confirmation: break
        }
    }

    /// The connections in first-seen order.
    public var capture: SeenCapture {
        SeenCapture(
            connections: summaries.sorted { $0.ref.id < $1.ref.id }.map { s in
                var c = SeenConnection(
                    id: s.ref.id, incarnation: s.ref.incarnation, client: s.client.description,
                    server: s.server.description, clientState: s.clientState, serverState: s.serverState,
                    firstFrame: s.firstFrame.number, lastFrame: s.lastFrame.number)
                c.refused = s.refused
                c.reset = s.reset
                c.midstream = s.midstream
                c.clientGuessed = s.clientGuessed
                c.clientEvidence = s.clientEvidence
                c.serverEvidence = s.serverEvidence
                for t in transitions[s.ref.id] ?? [] {
                    let x = SeenTransition(from: t.from, to: t.to, frame: t.frame?.number, cause: t.cause)
                    if t.endpoint == .client { c.clientTransitions.append(x) } else { c.serverTransitions.append(x) }
                }
                c.anomalies = (anomalies[s.ref.id] ?? []).map {
                    SeenAnomaly(code: $0.code, frame: $0.frame?.number, endpoint: $0.endpoint, message: $0.message)
                }
                return c
            })
    }
}

/// Runs a capture through the same pipeline as `wirestate analyze` (the shared `Pipeline`, the same
/// tracker configuration), collecting with `ExpectationCollector`.
public enum Observer {
    public static func observe(
        capture path: String,
        configuration: ConnectionTracker.Configuration = .init(),
        tunnelPorts: TunnelPorts = TunnelPorts()
    ) -> Result<SeenCapture, CheckError> {
        var pipeline = Pipeline(configuration: configuration, tunnelPorts: tunnelPorts, sink: ExpectationCollector())
        if let error = pipeline.runFile(path) { return .failure(Self.error(error, path)) }
        pipeline.finish()
        return .success(pipeline.sink.capture)
    }

    static func error(_ e: CaptureError, _ path: String) -> CheckError {
        CheckError(file: path, frame: e.frame, message: "cannot read the capture: " + e.message)
    }
}
