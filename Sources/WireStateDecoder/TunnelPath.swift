/// The encapsulations that give a connection an identity beyond its inner 4-tuple.
///
/// Two customers' overlapping 10.0.0.0/8 inside different VXLAN VNIs are different connections,
/// so the tracker keys flows on the inner tuple *and* the tunnel path (see `TunnelPath`).
public enum TunnelKind: UInt8, Sendable, CaseIterable {
    case none = 0
    case pbb, pppoe, ipInIP, gre, erspan, vxlan, geneve, gtpU, teredo, ayiya

    /// The name used in reports (JSON `"type"`, the text table's tunnel column).
    public var name: String {
        switch self {
        case .none: return "none"
        case .pbb: return "pbb"
        case .pppoe: return "pppoe"
        case .ipInIP: return "ip-in-ip"
        case .gre: return "gre"
        case .erspan: return "erspan"
        case .vxlan: return "vxlan"
        case .geneve: return "geneve"
        case .gtpU: return "gtp-u"
        case .teredo: return "teredo"
        case .ayiya: return "ayiya"
        }
    }

    /// The name of `TunnelLayer.id` for this kind, or nil when the kind has no symmetric id.
    public var idName: String? {
        switch self {
        case .pbb: return "isid"
        case .pppoe: return "session"
        case .erspan: return "session"
        case .vxlan, .geneve: return "vni"
        default: return nil
        }
    }

    /// The name of `TunnelLayer.directionalID`: an id that differs by direction (kept from the
    /// connection's first packet, never part of the key).
    public var directionalIDName: String? {
        switch self {
        case .gre: return "key"
        case .gtpU: return "teid"
        default: return nil
        }
    }
}

/// One tunnel crossed on the way to the TCP segment.
///
/// Key policy (docs/encapsulations.md, from the design reference): ids both directions share
/// (VNI, I-SID, PPPoE session, ERSPAN session) go in `id`. Ids that differ by direction (GTP-U
/// TEIDs are the receiver's; Linux GRE ikey/okey may differ) must not split a connection, so those
/// tunnels are keyed by `scope`, the *unordered* outer address pair, and the id is only shown.
/// The outer UDP source port is never used: VXLAN, Geneve and GTP-U vary it per flow for ECMP.
@frozen
public struct TunnelLayer: Sendable {
    /// The unordered outer address pair, for kinds keyed by it (IP-in-IP, GRE, GTP-U, AYIYA):
    /// exact for two IPv4 addresses (lower << 32 | higher), a 64-bit mix for IPv6 (0 otherwise).
    public var scope: UInt64
    /// Shown, not keyed: the TEID or GRE key of the packet that recorded this layer.
    public var directionalID: UInt32
    /// id (24 bits: VNI, I-SID, PPPoE and ERSPAN sessions all fit) | kind << 24 | hasID << 29 |
    /// hasDirectionalID << 30. Packed so a layer is 16 bytes: four of them ride in every decoded
    /// segment, and the segment is copied per packet.
    @usableFromInline var packed: UInt32

    public var kind: TunnelKind { TunnelKind(rawValue: UInt8(truncatingIfNeeded: packed >> 24) & 0x1F) ?? .none }
    /// The shared id, when `hasID`.
    public var id: UInt32 { packed & 0xFF_FFFF }
    /// Whether `id` was present on the wire (GRE without K, ERSPAN I have none).
    public var hasID: Bool { packed & (1 << 29) != 0 }
    public var hasDirectionalID: Bool { packed & (1 << 30) != 0 }

    @inlinable
    public init(kind: TunnelKind, id: UInt32? = nil, directionalID: UInt32? = nil, scope: UInt64 = 0) {
        packed =
            (id ?? 0) & 0xFF_FFFF | UInt32(kind.rawValue) << 24 | (id != nil ? 1 << 29 : 0)
            | (directionalID != nil ? 1 << 30 : 0)
        self.directionalID = directionalID ?? 0
        self.scope = scope
    }

    /// Identity: kind, shared id and scope; the directional id is left out so both directions match.
    @inlinable
    func sameIdentity(_ o: TunnelLayer) -> Bool {
        packed & 0x3FFF_FFFF == o.packed & 0x3FFF_FFFF && scope == o.scope
    }

    /// The unordered pair of outer addresses as one word, the same whichever way the packet went.
    @inlinable
    public static func scope(_ a: IPAddress, _ b: IPAddress) -> UInt64 {
        let (x, y) = a < b ? (a, b) : (b, a)
        if !x.isIPv6 && !y.isIPv6 { return x.low << 32 | y.low }
        var h = x.high &* 0x9E37_79B9_7F4A_7C15 ^ x.low &* 0xC2B2_AE3D_27D4_EB4F
        h ^= (y.high &* 0x1656_67B1_9E37_79F9) ^ (y.low &* 0xBF58_476D_1CE4_E5B9)
        h ^= h >> 31
        h = h &* 0x94D0_49BB_1331_11EB
        return h ^ (h >> 29) | 1  // never 0, which means "no scope"
    }
}

/// The tunnels of one segment, outermost first: at most `capacity` held inline, so a decoded
/// segment and a flow key stay plain fixed-size values (no heap per packet).
///
/// Equality and hashing cover only the first `count` layers' identities, so a reused segment's
/// stale layers and per-direction ids never split a connection.
@frozen
public struct TunnelPath: Sendable, Hashable {
    public static let capacity = 4
    @usableFromInline var l0 = TunnelLayer(kind: .none)
    @usableFromInline var l1 = TunnelLayer(kind: .none)
    @usableFromInline var l2 = TunnelLayer(kind: .none)
    @usableFromInline var l3 = TunnelLayer(kind: .none)
    @usableFromInline var storedCount: UInt8 = 0
    public var count: UInt8 { storedCount }

    @inlinable public init() {}

    public var isEmpty: Bool { count == 0 }

    @inlinable
    public mutating func removeAll() { storedCount = 0 }

    /// Appends a layer; returns false when the path is full (the decoder's tunnel nesting limit).
    @inlinable @discardableResult
    public mutating func append(_ layer: TunnelLayer) -> Bool {
        switch count {
        case 0: l0 = layer
        case 1: l1 = layer
        case 2: l2 = layer
        case 3: l3 = layer
        default: return false
        }
        storedCount += 1
        return true
    }

    @inlinable
    public subscript(i: Int) -> TunnelLayer {
        switch i {
        case 0: return l0
        case 1: return l1
        case 2: return l2
        default: return l3
        }
    }

    /// All layers, outermost first (reporters only: allocates).
    public var layers: [TunnelLayer] { (0..<Int(count)).map { self[$0] } }

    @inlinable
    public static func == (a: TunnelPath, b: TunnelPath) -> Bool {
        guard a.count == b.count else { return false }
        if a.count == 0 { return true }
        for i in 0..<Int(a.count) where !a[i].sameIdentity(b[i]) { return false }
        return true
    }

    public func hash(into h: inout Hasher) {
        h.combine(count)
        for i in 0..<Int(count) {
            let l = self[i]
            h.combine(l.packed & 0x3FFF_FFFF); h.combine(l.scope)
        }
    }

    /// A 64-bit mix of the identities, 0 for no tunnel (the flow table's hash adds it).
    @inlinable
    public var mix: UInt64 {
        if count == 0 { return 0 }
        var x: UInt64 = UInt64(count)
        for i in 0..<Int(count) {
            let l = self[i]
            x = (x ^ UInt64(l.packed & 0x3FFF_FFFF) << 32 ^ l.scope) &* 0x9E37_79B9_7F4A_7C15
            x ^= x >> 31
        }
        return x
    }

    /// "vxlan vni 42 / gre key 7", for the text table.
    public var text: String {
        layers.map { l in
            var s = l.kind.name
            if l.hasID, let n = l.kind.idName { s += " \(n) \(l.id)" }
            if l.hasDirectionalID, let n = l.kind.directionalIDName { s += " \(n) \(l.directionalID)" }
            return s
        }.joined(separator: " / ")
    }
}
