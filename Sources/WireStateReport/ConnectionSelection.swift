import WireStateDecoder
import WireStateTracker

/// Which connections a text report shows, and in what order: `analyze --connection/--state/
/// --severity/--code/--midstream/--reset --sort --limit`. Every criterion given must hold (AND);
/// values of one repeated criterion are alternatives (OR). Totals and the summary always cover the
/// whole run, so a selection never hides how big the capture was.
public struct ConnectionSelection: Sendable {
    /// One `--connection` value: an id (`7`, or `7.2` for one incarnation) or a 4-tuple, either way round.
    public enum ConnectionPick: Sendable, Equatable {
        case id(UInt64, incarnation: UInt32?)
        case endpoints(String, String)
    }
    /// One `--state` value: either endpoint, or the one named.
    public struct StatePick: Sendable, Equatable {
        public var role: Role?
        public var state: TCPState
    }
    public enum SortKey: String, Sendable, CaseIterable {
        case start, duration, packets, bytes, anomalies
    }

    public var connections: [ConnectionPick] = []
    public var states: [StatePick] = []
    public var severities: [Severity] = []
    public var codes: [AnomalyCode] = []
    public var midstream = false
    public var reset = false
    public var sort: SortKey = .start
    /// nil: all.
    public var limit: Int?

    public init() {}

    /// Whether anything narrows the run (a report then says how many of how many it shows).
    public var narrows: Bool {
        !connections.isEmpty || !states.isEmpty || !severities.isEmpty || !codes.isEmpty || midstream || reset
    }

    /// Parses `7`, `7.2`, or `ADDR:PORT-ADDR:PORT` (IPv6 as `[::1]:80`). nil when it is neither.
    public static func connection(_ text: String) -> ConnectionPick? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count <= 2, let id = UInt64(parts[0]), id > 0 {
            if parts.count == 1 { return .id(id, incarnation: nil) }
            if let inc = UInt32(parts[1]), inc > 0 { return .id(id, incarnation: inc) }
            return nil
        }
        // The dash between the endpoints: the one after a port (IPv6 addresses hold no dash).
        guard let dash = text.firstIndex(of: "-") else { return nil }
        let a = String(text[..<dash]), b = String(text[text.index(after: dash)...])
        func looksLikeEndpoint(_ s: String) -> Bool {
            guard let colon = s.lastIndex(of: ":"), UInt16(s[s.index(after: colon)...]) != nil else { return false }
            return colon != s.startIndex
        }
        guard looksLikeEndpoint(a), looksLikeEndpoint(b) else { return nil }
        return .endpoints(a, b)
    }

    /// Parses `CLOSE_WAIT`, `client=CLOSE_WAIT` or `server=CLOSE_WAIT` (case-insensitive).
    public static func state(_ text: String) -> StatePick? {
        var role: Role? = nil
        var name = Substring(text.uppercased())
        if let eq = name.firstIndex(of: "=") {
            switch name[..<eq] {
            case "CLIENT": role = .client
            case "SERVER": role = .server
            default: return nil
            }
            name = name[name.index(after: eq)...]
        }
        guard let s = TCPState(name: String(name).replacingDashes()) else { return nil }
        return StatePick(role: role, state: s)
    }

    /// Whether `c`, which showed the anomalies `kinds`, passes every criterion.
    public func matches(_ c: TextRow, kinds: AnomalyKinds) -> Bool {
        if !connections.isEmpty,
            !connections.contains(where: { pick in
                switch pick {
                case .id(let id, let inc): return c.id == id && (inc == nil || inc == c.incarnation)
                case .endpoints(let a, let b):
                    let client = c.client.description, server = c.server.description
                    return (client == a && server == b) || (client == b && server == a)
                }
            })
        {
            return false
        }
        if !states.isEmpty,
            !states.contains(where: { pick in
                switch pick.role {
                case .client: return c.clientState == pick.state
                case .server: return c.serverState == pick.state
                case nil: return c.clientState == pick.state || c.serverState == pick.state
                }
            })
        {
            return false
        }
        if !severities.isEmpty, !severities.contains(where: kinds.contains) { return false }
        if !codes.isEmpty, !codes.contains(where: kinds.contains) { return false }
        if midstream && !c.midstream { return false }
        if reset && !c.reset { return false }
        return true
    }

    /// What `--sort` orders by (0 for the file's own order); the larger is shown first.
    func key(_ c: TextRow) -> UInt64 {
        switch sort {
        case .start: return 0
        case .duration: return UInt64(max(0, c.durationNanos))
        case .packets: return c.packetsFromClient &+ c.packetsFromServer
        case .bytes: return c.bytesFromClient &+ c.bytesFromServer
        case .anomalies: return UInt64(c.anomalyCount)
        }
    }

    /// Whether `a` is shown before `b`: the file's own order (connection ids are given in the
    /// order connections were first seen) unless `--sort` says otherwise; the larger first for
    /// sizes and counts; ties keep the file's order.
    public func precedes(_ a: TextRow, _ b: TextRow) -> Bool {
        let ka = key(a), kb = key(b)
        return ka != kb ? ka > kb : a.id < b.id
    }
}

extension String {
    /// `close-wait` is accepted for `CLOSE_WAIT`.
    func replacingDashes() -> String { String(map { $0 == "-" ? "_" : $0 }) }
}
