#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import CPcap

/// A device libpcap can capture on (`pcap_findalldevs`), as plain values.
public struct CaptureDevice: Sendable, Equatable {
    public struct Address: Sendable, Equatable {
        public enum Family: Sendable, Equatable {
            case ipv4, ipv6, link
            case other(Int32)

            public var name: String {
                switch self {
                case .ipv4: return "inet"
                case .ipv6: return "inet6"
                case .link: return "link"
                case .other(let f): return "family \(f)"
                }
            }
        }

        public var family: Family
        public var address: String
        /// Prefix length from the netmask (e.g. 24), when it has one.
        public var prefixLength: Int?
        public var broadcast: String?
        /// The other end of a point-to-point link.
        public var destination: String?
    }

    public enum ConnectionStatus: Sendable, Equatable {
        case unknown, connected, disconnected, notApplicable
    }

    public var name: String
    public var description: String?
    public var addresses: [Address]
    /// libpcap's `PCAP_IF_` flags.
    public var flags: UInt32

    public var isLoopback: Bool { flags & UInt32(PCAP_IF_LOOPBACK) != 0 }
    public var isUp: Bool { flags & UInt32(PCAP_IF_UP) != 0 }
    public var isRunning: Bool { flags & UInt32(PCAP_IF_RUNNING) != 0 }
    public var isWireless: Bool { flags & UInt32(PCAP_IF_WIRELESS) != 0 }
    public var connectionStatus: ConnectionStatus {
        switch flags & UInt32(PCAP_IF_CONNECTION_STATUS) {
        case UInt32(PCAP_IF_CONNECTION_STATUS_CONNECTED): return .connected
        case UInt32(PCAP_IF_CONNECTION_STATUS_DISCONNECTED): return .disconnected
        case UInt32(PCAP_IF_CONNECTION_STATUS_NOT_APPLICABLE): return .notApplicable
        default: return .unknown
        }
    }

    /// Flags in words: `up`, `running`, `loopback`, `wireless`, `connected` / `disconnected`.
    public var flagNames: [String] {
        var out: [String] = []
        out.append(isUp ? "up" : "down")
        if isRunning { out.append("running") }
        if isLoopback { out.append("loopback") }
        if isWireless { out.append("wireless") }
        switch connectionStatus {
        case .connected: out.append("connected")
        case .disconnected: out.append("disconnected")
        case .unknown, .notApplicable: break
        }
        return out
    }

    /// Every device libpcap finds, in its order (it puts up, running, non-loopback devices first).
    public static func all() throws(CaptureError) -> [CaptureDevice] {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        var list: UnsafeMutablePointer<pcap_if_t>?
        guard pcap_findalldevs(&list, &errbuf) == 0 else {
            throw CaptureError(kind: .other, source: "pcap_findalldevs", message: errorText(errbuf))
        }
        defer { if list != nil { pcap_freealldevs(list) } }
        var devices: [CaptureDevice] = []
        var node = list
        while let d = node {
            var addresses: [Address] = []
            var a = d.pointee.addresses
            while let addr = a {
                if let parsed = Self.address(addr.pointee) { addresses.append(parsed) }
                a = addr.pointee.next
            }
            devices.append(
                CaptureDevice(
                    name: String(cString: d.pointee.name),
                    description: d.pointee.description.map { String(cString: $0) },
                    addresses: addresses, flags: d.pointee.flags))
            node = d.pointee.next
        }
        return devices
    }

    /// Whether libpcap knows a device by this name.
    public static func exists(_ name: String) -> Bool {
        (try? all())?.contains { $0.name == name } ?? false
    }

    static func address(_ a: pcap_addr) -> Address? {
        guard let sa = a.addr else { return nil }
        let family = Int32(sa.pointee.sa_family)
        guard let text = Self.text(sa) else { return nil }
        let f: Address.Family
        switch family {
        case AF_INET: f = .ipv4
        case AF_INET6: f = .ipv6
        #if os(Linux)
            case AF_PACKET: f = .link
        #endif
        default: f = .other(family)
        }
        return Address(
            family: f, address: text, prefixLength: a.netmask.flatMap(Self.prefixLength),
            broadcast: a.broadaddr.flatMap(Self.text), destination: a.dstaddr.flatMap(Self.text))
    }

    /// An address as text: dotted quad, RFC 5952 IPv6, or a colon-separated hardware address.
    static func text(_ sa: UnsafeMutablePointer<sockaddr>) -> String? {
        let family = Int32(sa.pointee.sa_family)
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch family {
        case AF_INET:
            return sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin -> String? in
                var addr = sin.pointee.sin_addr
                guard inet_ntop(AF_INET, &addr, &buf, socklen_t(buf.count)) != nil else { return nil }
                return errorText(buf)
            }
        case AF_INET6:
            return sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 -> String? in
                var addr = sin6.pointee.sin6_addr
                guard inet_ntop(AF_INET6, &addr, &buf, socklen_t(buf.count)) != nil else { return nil }
                var s = errorText(buf)
                let scope = sin6.pointee.sin6_scope_id
                if scope != 0 {
                    var name = [CChar](repeating: 0, count: Int(IF_NAMESIZE) + 1)
                    s += "%" + (if_indextoname(scope, &name) != nil ? errorText(name) : "\(scope)")
                }
                return s
            }
        #if os(Linux)
            case AF_PACKET:
                // struct sockaddr_ll: family(2) protocol(2) ifindex(4) hatype(2) pkttype(1) halen(1) addr[8].
                let raw = UnsafeRawPointer(sa)
                let n = Int(raw.load(fromByteOffset: 11, as: UInt8.self))
                guard n > 0 else { return nil }
                let bytes = (0..<min(n, 8)).map { raw.load(fromByteOffset: 12 + $0, as: UInt8.self) }
                if bytes.allSatisfy({ $0 == 0 }) { return nil }  // loopback and tunnels: no hardware address
                return bytes.map { b in (b < 16 ? "0" : "") + String(b, radix: 16) }.joined(separator: ":")
        #endif
        default:
            return nil
        }
    }

    /// The prefix length of a netmask with contiguous ones, nil otherwise.
    static func prefixLength(_ sa: UnsafeMutablePointer<sockaddr>) -> Int? {
        let bytes: [UInt8]
        switch Int32(sa.pointee.sa_family) {
        case AF_INET:
            bytes = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                withUnsafeBytes(of: $0.pointee.sin_addr) { Array($0) }
            }
        case AF_INET6:
            bytes = sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                withUnsafeBytes(of: $0.pointee.sin6_addr) { Array($0) }
            }
        default:
            return nil
        }
        var n = 0
        var ended = false
        for b in bytes {
            for bit in (0..<8).reversed() {
                if b & (1 << bit) != 0 {
                    if ended { return nil }
                    n += 1
                } else {
                    ended = true
                }
            }
        }
        return n
    }
}
