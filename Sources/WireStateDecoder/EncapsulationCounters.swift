/// Every header the decoder can look through besides Ethernet/VLAN, IP and TCP.
public enum Encapsulation: UInt8, Sendable, CaseIterable {
    case pbb, mpls, pseudowire, pppoe, llcSnap, fddi, ipInIP, gre, erspan, vxlan, geneve, gtpU, teredo, ayiya

    public var name: String {
        switch self {
        case .pbb: return "802.1ah PBB"
        case .mpls: return "MPLS"
        case .pseudowire: return "MPLS Ethernet pseudowire"
        case .pppoe: return "PPPoE"
        case .llcSnap: return "LLC/SNAP"
        case .fddi: return "FDDI"
        case .ipInIP: return "IP-in-IP"
        case .gre: return "GRE"
        case .erspan: return "ERSPAN"
        case .vxlan: return "VXLAN"
        case .geneve: return "Geneve"
        case .gtpU: return "GTP-U"
        case .teredo: return "Teredo"
        case .ayiya: return "AYIYA"
        }
    }

    /// A short stable key for JSON (`"gre"`, `"gtp_u"`).
    public var key: String {
        switch self {
        case .pbb: return "pbb"
        case .mpls: return "mpls"
        case .pseudowire: return "pseudowire"
        case .pppoe: return "pppoe"
        case .llcSnap: return "llc_snap"
        case .fddi: return "fddi"
        case .ipInIP: return "ip_in_ip"
        case .gre: return "gre"
        case .erspan: return "erspan"
        case .vxlan: return "vxlan"
        case .geneve: return "geneve"
        case .gtpU: return "gtp_u"
        case .teredo: return "teredo"
        case .ayiya: return "ayiya"
        }
    }

    @inlinable var bit: UInt32 { 1 << UInt32(rawValue) }
}

/// Why the decoder stopped inside an encapsulation: what a user needs to see to know why a
/// connection is missing ("GRE version 1 (PPTP) not decoded, first at frame 17").
public enum EncapsulationSkip: UInt8, Sendable, CaseIterable {
    case tooDeep, tunnelInFragment
    case mplsTooManyLabels, mplsControlChannel
    case pppoeDiscovery, pppoeBadHeader, pppVanJacobson, pppNotIP
    case llcNotSNAP, snapUnknownOUI, fddiNotData
    case greVersion1, greOtherVersion, greRouting, greUnknownType, erspanUnknownVersion
    case vxlanNoVNI, geneveVersion, gtpVersion, gtpNotUserData, gtpBadExtension, gtpNotIP
    case teredoNotIPv6, ayiyaNotData, ayiyaNotIP

    /// A stable code for JSON, independent of the wording.
    public var code: String {
        switch self {
        case .tooDeep: return "too_deep"
        case .tunnelInFragment: return "tunnel_in_fragment"
        case .mplsTooManyLabels: return "mpls_too_many_labels"
        case .mplsControlChannel: return "mpls_control_channel"
        case .pppoeDiscovery: return "pppoe_discovery"
        case .pppoeBadHeader: return "pppoe_bad_header"
        case .pppVanJacobson: return "ppp_van_jacobson"
        case .pppNotIP: return "ppp_not_ip"
        case .llcNotSNAP: return "llc_not_snap"
        case .snapUnknownOUI: return "snap_unknown_oui"
        case .fddiNotData: return "fddi_not_data"
        case .greVersion1: return "gre_version_1"
        case .greOtherVersion: return "gre_other_version"
        case .greRouting: return "gre_routing"
        case .greUnknownType: return "gre_unknown_type"
        case .erspanUnknownVersion: return "erspan_unknown_version"
        case .vxlanNoVNI: return "vxlan_no_vni"
        case .geneveVersion: return "geneve_version"
        case .gtpVersion: return "gtp_version"
        case .gtpNotUserData: return "gtp_not_user_data"
        case .gtpBadExtension: return "gtp_bad_extension"
        case .gtpNotIP: return "gtp_not_ip"
        case .teredoNotIPv6: return "teredo_not_ipv6"
        case .ayiyaNotData: return "ayiya_not_data"
        case .ayiyaNotIP: return "ayiya_not_ip"
        }
    }

    public var sentence: String {
        switch self {
        case .tooDeep: return "nesting limit reached (more than 4 tunnels or 16 headers)"
        case .tunnelInFragment: return "tunnel inside an IP fragment not reassembled"
        case .mplsTooManyLabels: return "MPLS stack of more than 16 labels"
        case .mplsControlChannel: return "MPLS G-ACh/PW control channel (not data)"
        case .pppoeDiscovery: return "PPPoE discovery (no user data)"
        case .pppoeBadHeader: return "PPPoE session header not version 1, type 1, code 0"
        case .pppVanJacobson: return "PPP Van Jacobson compressed TCP not decoded"
        case .pppNotIP: return "PPP protocol other than IPv4, IPv6 or MPLS"
        case .llcNotSNAP: return "802.2 LLC without SNAP"
        case .snapUnknownOUI: return "SNAP with an OUI other than 00-00-00 or 00-00-F8"
        case .fddiNotData: return "FDDI MAC/SMT frame (not LLC data)"
        case .greVersion1: return "GRE version 1 (PPTP) not decoded"
        case .greOtherVersion: return "GRE version other than 0 or 1"
        case .greRouting: return "GRE with routing present (RFC 1701) not decoded"
        case .greUnknownType: return "GRE protocol type not decoded"
        case .erspanUnknownVersion: return "ERSPAN header version not II or III"
        case .vxlanNoVNI: return "VXLAN without the I (valid VNI) flag"
        case .geneveVersion: return "Geneve version other than 0"
        case .gtpVersion: return "GTP-U not version 1 with PT=1"
        case .gtpNotUserData: return "GTP-U message other than G-PDU (echo, error, end marker)"
        case .gtpBadExtension: return "GTP-U extension header chain malformed or over 16"
        case .gtpNotIP: return "GTP-U payload not IPv4 or IPv6"
        case .teredoNotIPv6: return "Teredo payload not IPv6"
        case .ayiyaNotData: return "AYIYA message other than forward (opcode 1)"
        case .ayiyaNotIP: return "AYIYA next header not IPv4 or IPv6"
        }
    }
}

/// Per-frame notes the decoder core leaves for the counters: which encapsulations it crossed and,
/// if it stopped in one, why. Two words, reset per frame, so the plain path pays one compare.
@usableFromInline
struct DecodeTrace {
    @usableFromInline var crossed: UInt32 = 0
    @usableFromInline var skip: EncapsulationSkip? = nil
    @inlinable init() {}
}

/// Frames per encapsulation (decoded through it) and per reason the decoder stopped inside one,
/// each with the first frame. Storage is allocated on the first tunnelled frame only, so a plain
/// capture never pays for it.
public struct EncapsulationCounters: Sendable, Equatable {
    public private(set) var decoded: [DecodeCounters.Count] = []
    public private(set) var skipped: [DecodeCounters.Count] = []

    public init() {}

    public var isEmpty: Bool { decoded.isEmpty && skipped.isEmpty }

    public func decoded(_ e: Encapsulation) -> DecodeCounters.Count {
        decoded.isEmpty ? DecodeCounters.Count() : decoded[Int(e.rawValue)]
    }

    public func skipped(_ r: EncapsulationSkip) -> DecodeCounters.Count {
        skipped.isEmpty ? DecodeCounters.Count() : skipped[Int(r.rawValue)]
    }

    private mutating func allocate() {
        if decoded.isEmpty {
            decoded = Array(repeating: DecodeCounters.Count(), count: Encapsulation.allCases.count)
            skipped = Array(repeating: DecodeCounters.Count(), count: EncapsulationSkip.allCases.count)
        }
    }

    @usableFromInline
    mutating func count(_ trace: DecodeTrace, frame: UInt64) {
        allocate()
        var bits = trace.crossed
        while bits != 0 {
            let i = bits.trailingZeroBitCount
            decoded[i].add(frame)
            bits &= bits - 1
        }
        if let s = trace.skip { skipped[Int(s.rawValue)].add(frame) }
    }

    public mutating func merge(_ other: EncapsulationCounters) {
        guard !other.isEmpty else { return }
        allocate()
        for i in decoded.indices { decoded[i].merge(other.decoded[i]) }
        for i in skipped.indices { skipped[i].merge(other.skipped[i]) }
    }

    /// Encapsulations with frames, in declaration order.
    public var decodedList: [(Encapsulation, DecodeCounters.Count)] {
        Encapsulation.allCases.compactMap { e in
            let c = decoded(e); return c.count > 0 ? (e, c) : nil
        }
    }

    public var skippedList: [(EncapsulationSkip, DecodeCounters.Count)] {
        EncapsulationSkip.allCases.compactMap { r in
            let c = skipped(r); return c.count > 0 ? (r, c) : nil
        }
    }
}
