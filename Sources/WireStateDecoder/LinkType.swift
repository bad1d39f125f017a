/// The link layers WireState decodes. Raw values are the pcap LINKTYPE_ numbers written in files.
///
/// libpcap hands out DLT_ values, which differ from LINKTYPE_ values on a few platforms
/// (DLT_RAW is 12 or 14, DLT_LOOP 108 or 12); `init(dlt:)` accepts both spellings.
public enum LinkType: Int32, Sendable, CaseIterable {
    case null = 0  // BSD loopback: 4-byte address family in host byte order
    case ethernet = 1  // Ethernet II, with any stack of 802.1Q / 802.1ad tags
    case raw = 101  // raw IPv4 or IPv6, version from the first nibble
    case loop = 108  // OpenBSD loopback: 4-byte address family in network byte order
    case linuxSLL = 113  // Linux cooked capture v1 (16-byte header)
    case ipv4 = 228  // raw IPv4
    case ipv6 = 229  // raw IPv6
    case linuxSLL2 = 276  // Linux cooked capture v2 (20-byte header), what `tcpdump -i any` writes
    // Appended, not sorted: the fuzz corpus indexes `allCases`.
    case fddi = 10  // FDDI: frame control, addresses, then 802.2 LLC/SNAP

    /// Maps a libpcap DLT value (or a file LINKTYPE value) to a link type, or nil when unsupported.
    public init?(dlt: Int32) {
        switch dlt {
        case 12, 14: self = .raw  // DLT_RAW on most systems / OpenBSD
        default:
            guard let t = LinkType(rawValue: dlt) else { return nil }
            self = t
        }
    }

    public var name: String {
        switch self {
        case .null: return "NULL"
        case .ethernet: return "EN10MB"
        case .fddi: return "FDDI"
        case .raw: return "RAW"
        case .loop: return "LOOP"
        case .linuxSLL: return "LINUX_SLL"
        case .ipv4: return "IPV4"
        case .ipv6: return "IPV6"
        case .linuxSLL2: return "LINUX_SLL2"
        }
    }
}
