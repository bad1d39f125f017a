/// The UDP tunnels the decoder looks inside.
public enum UDPTunnel: UInt8, Sendable, CaseIterable {
    case vxlan, geneve, gtpU, teredo, ayiya

    /// The name `--tunnel-port KIND=PORT` accepts.
    public var name: String {
        switch self {
        case .vxlan: return "vxlan"
        case .geneve: return "geneve"
        case .gtpU: return "gtp-u"
        case .teredo: return "teredo"
        case .ayiya: return "ayiya"
        }
    }

    /// The IANA port: VXLAN 4789 (RFC 7348), Geneve 6081 (RFC 8926), GTP-U 2152 (TS 29.281),
    /// Teredo 3544 (RFC 4380), AYIYA 5072.
    public var standardPort: UInt16 {
        switch self {
        case .vxlan: return 4789
        case .geneve: return 6081
        case .gtpU: return 2152
        case .teredo: return 3544
        case .ayiya: return 5072
        }
    }

    public init?(name: String) {
        guard let k = UDPTunnel.allCases.first(where: { $0.name == name.lowercased() || ($0 == .gtpU && name.lowercased() == "gtpu") })
        else { return nil }
        self = k
    }
}

/// Which UDP ports carry which tunnel. A packet is matched on its destination port, then its
/// source port (a server's replies come *from* the well-known port).
///
/// Held inline (at most `capacity` entries, no array), so handing it to the decoder per packet
/// costs no reference counting, and a lookup is a few compares that happen only for UDP, never on
/// the TCP fast path. Ports are added, never replaced: Linux's VXLAN driver defaults to 8472, so
/// `--vxlan-port 8472` keeps 4789 too.
public struct TunnelPorts: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var port: UInt16
        public var tunnel: UDPTunnel
    }
    public static let capacity = 16
    private var ports = SIMD16<UInt16>()
    private var kinds = SIMD16<UInt8>()
    private var count = 0

    /// The IANA ports of every UDP tunnel.
    public init() {
        for t in UDPTunnel.allCases { _ = add(t, port: t.standardPort) }
    }

    /// No UDP tunnels at all (every UDP packet is "not TCP").
    public static var none: TunnelPorts { var p = TunnelPorts(); p.count = 0; return p }

    public var entries: [Entry] {
        (0..<count).map { Entry(port: ports[$0], tunnel: UDPTunnel(rawValue: kinds[$0])!) }
    }

    /// Also decode `tunnel` on `port` (a port given twice keeps its latest meaning). Returns false
    /// when `capacity` ports are already configured.
    @discardableResult
    public mutating func add(_ tunnel: UDPTunnel, port: UInt16) -> Bool {
        for i in 0..<count where ports[i] == port {
            kinds[i] = tunnel.rawValue
            return true
        }
        guard count < Self.capacity else { return false }
        ports[count] = port
        kinds[count] = tunnel.rawValue
        count += 1
        return true
    }

    @inline(__always)
    func tunnel(destination: UInt16, source: UInt16) -> UDPTunnel? {
        for i in 0..<count where ports[i] == destination { return UDPTunnel(rawValue: kinds[i]) }
        for i in 0..<count where ports[i] == source { return UDPTunnel(rawValue: kinds[i]) }
        return nil
    }
}
