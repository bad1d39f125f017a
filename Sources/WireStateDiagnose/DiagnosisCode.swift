/// How urgent a finding is. Sorted most urgent first in every output.
public enum DiagnosisSeverity: UInt8, Sendable, CaseIterable, Comparable {
    /// Worth knowing; usually explained by another finding or by design.
    case info
    /// Something on a host needs looking at.
    case warning
    /// Connections are being lost now (a full accept queue, port exhaustion, many leaked sockets).
    case critical

    public var name: String {
        switch self {
        case .info: return "info"
        case .warning: return "warning"
        case .critical: return "critical"
        }
    }

    public init?(name: String) {
        guard let s = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = s
    }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// The findings `wirestate diagnose` can raise. Codes are stable once released: add, never rename.
/// The case order is the order of importance used to rank findings of the same severity;
/// docs/diagnoses.md documents each with its threshold, causes and next steps.
public enum DiagnosisCode: UInt8, Sendable, CaseIterable, Comparable {
    case closeWaitStuck
    case finWait2Stuck
    case connectionRefused
    case synUnanswered
    case abortiveClose
    case timeWaitPileup
    case zeroWindowStall
    case peerVanished
    case handshakeStalled
    case listenQueueOverflow
    case synFlood
    case retransmissionHeavy
    case slowHandshake

    /// Stable kebab-case code, spelled out so renaming a case cannot change an output format.
    public var code: String {
        switch self {
        case .closeWaitStuck: return "close-wait-stuck"
        case .finWait2Stuck: return "fin-wait-2-stuck"
        case .connectionRefused: return "connection-refused"
        case .synUnanswered: return "syn-unanswered"
        case .abortiveClose: return "abortive-close"
        case .timeWaitPileup: return "time-wait-pileup"
        case .zeroWindowStall: return "zero-window-stall"
        case .peerVanished: return "peer-vanished"
        case .handshakeStalled: return "handshake-stalled"
        case .listenQueueOverflow: return "listen-queue-overflow"
        case .synFlood: return "syn-flood"
        case .retransmissionHeavy: return "retransmission-heavy"
        case .slowHandshake: return "slow-handshake"
        }
    }

    public init?(code: String) {
        guard let c = Self.allCases.first(where: { $0.code == code }) else { return nil }
        self = c
    }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// What a finding is about: a listener (`addr:port` of the server side, whether or not anything
/// listens there), or a host (an address, usually a client's, with the `addr:port` it talks to).
/// Each finding lists its connections, so one connection's trouble is found under its listener.
public enum DiagnosisSubject: UInt8, Sendable {
    case listener, host

    public var name: String {
        switch self {
        case .listener: return "listener"
        case .host: return "host"
        }
    }
}
