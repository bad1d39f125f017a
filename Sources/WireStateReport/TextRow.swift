import WireStateDecoder
import WireStateTracker

/// What the text report keeps of one finished connection: the table's columns and what
/// `ConnectionSelection` sorts on, nothing else (`MemoryLayoutTests` pins it to 128 bytes).
///
/// Why not the `ConnectionSummary`: a summary is 512 bytes, most of it the handshake facts and
/// Zeek's view that the table never shows, and `analyze FILE` kept one per finished connection
/// (with its state times and anomalies: 1.4 KB each). The summary block and the totals are
/// counted as connections finish (`TextReportSink`), so a row is all that is left to keep, and
/// only for the connections the table can still show.
public struct TextRow: Sendable, Equatable {
    public var id: UInt64
    public var client: SocketAddress
    public var server: SocketAddress
    public var packetsFromClient: UInt64
    public var packetsFromServer: UInt64
    public var bytesFromClient: UInt64
    public var bytesFromServer: UInt64
    public var firstTime: Int64
    public var lastTime: Int64
    public var incarnation: UInt32
    public var anomalyCount: UInt32
    public var violationCount: UInt32
    /// 0 on a plain link, else a number in the run's tunnel table (`TextReportSink.tunnels`).
    public var tunnelID: UInt32
    public var clientState: TCPState
    public var serverState: TCPState
    public var clientEvidence: Evidence
    public var serverEvidence: Evidence
    private var flags: UInt8

    private static let midstreamBit: UInt8 = 1, clientGuessedBit: UInt8 = 2, refusedBit: UInt8 = 4, resetBit: UInt8 = 8

    public init(_ c: ConnectionSummary) {
        id = c.ref.id
        incarnation = c.ref.incarnation
        client = c.client
        server = c.server
        packetsFromClient = c.packetsFromClient
        packetsFromServer = c.packetsFromServer
        bytesFromClient = c.bytesFromClient
        bytesFromServer = c.bytesFromServer
        firstTime = c.firstTime
        lastTime = c.lastTime
        anomalyCount = c.anomalyCount
        violationCount = c.violationCount
        tunnelID = c.tunnelID
        clientState = c.clientState
        serverState = c.serverState
        clientEvidence = c.clientEvidence
        serverEvidence = c.serverEvidence
        flags =
            (c.midstream ? Self.midstreamBit : 0) | (c.clientGuessed ? Self.clientGuessedBit : 0)
            | (c.refused ? Self.refusedBit : 0) | (c.reset ? Self.resetBit : 0)
    }

    /// No handshake was seen: states were assumed at pickup.
    public var midstream: Bool { flags & Self.midstreamBit != 0 }
    /// No SYN was seen, so which side is the client was guessed (from the ports).
    public var clientGuessed: Bool { flags & Self.clientGuessedBit != 0 }
    public var refused: Bool { flags & Self.refusedBit != 0 }
    /// A RST closed (or tried to close) the connection.
    public var reset: Bool { flags & Self.resetBit != 0 }
    public var durationNanos: Int64 { CaptureTime.elapsed(from: firstTime, to: lastTime) }
}

/// Which anomaly codes and severities one connection showed: what `--code` and `--severity`
/// select on, in 17 bytes instead of the anomalies themselves.
public struct AnomalyKinds: Sendable, Equatable {
    private var codes: (UInt64, UInt64) = (0, 0)
    private var severities: UInt8 = 0

    public init() {}

    public mutating func insert(_ a: Anomaly) { insert(a.code) }

    /// The code and its severity (a code has one: `AnomalyCode.severity`).
    public mutating func insert(_ code: AnomalyCode) {
        let bit = Int(code.rawValue)
        if bit < 64 { codes.0 |= 1 << UInt64(bit) } else { codes.1 |= 1 << UInt64(bit & 63) }
        severities |= 1 << code.severity.rawValue
    }

    public func contains(_ code: AnomalyCode) -> Bool {
        let bit = Int(code.rawValue)
        return bit < 64 ? codes.0 & (1 << UInt64(bit)) != 0 : codes.1 & (1 << UInt64(bit & 63)) != 0
    }

    public func contains(_ severity: Severity) -> Bool { severities & (1 << severity.rawValue) != 0 }

    public static func == (a: AnomalyKinds, b: AnomalyKinds) -> Bool {
        a.codes == b.codes && a.severities == b.severities
    }
}
