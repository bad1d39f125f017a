/// TCP header flags, including the ECN bits (RFC 3168) and the historic NS/AE bit.
/// The constants are inlinable computed properties, not `static let`s: a `static let` read from
/// another module goes through a lazy-initialisation accessor on every use, and the tracker reads
/// flags several times per packet.
@frozen
public struct TCPFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }

    @inlinable public static var fin: TCPFlags { TCPFlags(rawValue: 0x001) }
    @inlinable public static var syn: TCPFlags { TCPFlags(rawValue: 0x002) }
    @inlinable public static var rst: TCPFlags { TCPFlags(rawValue: 0x004) }
    @inlinable public static var psh: TCPFlags { TCPFlags(rawValue: 0x008) }
    @inlinable public static var ack: TCPFlags { TCPFlags(rawValue: 0x010) }
    @inlinable public static var urg: TCPFlags { TCPFlags(rawValue: 0x020) }
    @inlinable public static var ece: TCPFlags { TCPFlags(rawValue: 0x040) }
    @inlinable public static var cwr: TCPFlags { TCPFlags(rawValue: 0x080) }
    @inlinable public static var ns: TCPFlags { TCPFlags(rawValue: 0x100) }

    /// Wireshark-style letters, e.g. `SYN,ACK` (reporters only).
    public var names: String {
        var out: [String] = []
        if contains(.ns) { out.append("NS") }
        if contains(.cwr) { out.append("CWR") }
        if contains(.ece) { out.append("ECE") }
        if contains(.urg) { out.append("URG") }
        if contains(.ack) { out.append("ACK") }
        if contains(.psh) { out.append("PSH") }
        if contains(.rst) { out.append("RST") }
        if contains(.syn) { out.append("SYN") }
        if contains(.fin) { out.append("FIN") }
        return out.isEmpty ? "none" : out.joined(separator: ",")
    }
}

/// One SACK block (RFC 2018): the receiver holds `[left, right)`.
public struct SACKBlock: Hashable, Sendable {
    public var left: UInt32
    public var right: UInt32
    @inlinable public init(left: UInt32, right: UInt32) { self.left = left; self.right = right }
}

/// The TCP options WireState understands, held inline: at most four SACK blocks fit in 40 bytes.
public struct TCPOptions: Hashable, Sendable {
    public var mss: UInt16?
    public var windowScale: UInt8?
    public var sackPermitted = false
    public var sackBlockCount: UInt8 = 0
    var sack0 = SACKBlock(left: 0, right: 0)
    var sack1 = SACKBlock(left: 0, right: 0)
    var sack2 = SACKBlock(left: 0, right: 0)
    var sack3 = SACKBlock(left: 0, right: 0)
    public var timestampValue: UInt32?
    public var timestampEcho: UInt32?
    /// TCP Fast Open option (kind 34, RFC 7413). `fastOpenCookieLength == 0` is a cookie request.
    public var fastOpenCookieLength: UInt8?
    /// Bytes of the cookie, up to 16, packed big-endian into two words (reporters only).
    public var fastOpenCookieHigh: UInt64 = 0
    public var fastOpenCookieLow: UInt64 = 0
    /// An option whose length field is impossible; parsing stopped there.
    public var malformed = false
    /// The capture cut the options short (snaplen): what was cut is unknown, not absent.
    public var truncated = false

    @inlinable public init() {}

    public func sackBlock(_ i: Int) -> SACKBlock {
        switch i {
        case 0: return sack0
        case 1: return sack1
        case 2: return sack2
        default: return sack3
        }
    }

    public var sackBlocks: [SACKBlock] { (0..<Int(sackBlockCount)).map(sackBlock) }

    mutating func appendSACK(_ b: SACKBlock) {
        switch sackBlockCount {
        case 0: sack0 = b
        case 1: sack1 = b
        case 2: sack2 = b
        case 3: sack3 = b
        default: return
        }
        sackBlockCount += 1
    }

    /// The TFO cookie as lowercase hex (reporters and tests).
    public var fastOpenCookieHex: String? {
        guard let n = fastOpenCookieLength else { return nil }
        var s = ""
        for i in 0..<Int(n) {
            let word = i < 8 ? fastOpenCookieHigh : fastOpenCookieLow
            let shift = UInt64(56 - 8 * (i % 8))
            let byte = UInt8(truncatingIfNeeded: word >> shift)
            s += byte < 16 ? "0" + String(byte, radix: 16) : String(byte, radix: 16)
        }
        return s
    }
}

/// A decoded TCP segment: everything the tracker needs, and nothing that costs an allocation.
public struct TCPSegment: Hashable, Sendable {
    public var source: SocketAddress
    public var destination: SocketAddress
    public var sequence: UInt32
    public var acknowledgment: UInt32
    public var flags: TCPFlags
    public var window: UInt16
    public var urgentPointer: UInt16
    /// TCP header length in bytes (data offset × 4).
    public var headerLength: UInt8
    /// Payload length from the IP length fields: right even when the capture cut the payload short.
    public var payloadLength: UInt32
    /// Payload bytes actually present in the capture.
    public var capturedPayloadLength: UInt32
    public var options: TCPOptions
    public var ipVersion: UInt8
    /// IPv4 header length (IHL × 4) or IPv6 fixed header plus extension headers.
    public var ipHeaderLength: UInt16
    /// IPv4 identification (0 for IPv6 without a fragment header).
    public var ipIdentification: UInt32
    public var ttl: UInt8
    /// The segment came in a first fragment (more fragments follow).
    public var isFragment: Bool
    /// For fragments (first or later): the IP payload bytes this fragment carries, and where they
    /// start in the datagram. `FragmentReassembler` uses them to learn the whole segment's length.
    public var fragmentOffset: UInt32 = 0
    public var fragmentLength: UInt32 = 0
    public var moreFragments = false
    /// IPv6: extension headers between the fragment header and TCP, part of the fragmentable data.
    public var fragmentHeaderBytes: UInt32 = 0
    /// The tunnels the segment came through, outermost first (empty on a plain link). Part of
    /// the connection's identity: the same inner 4-tuple in two VXLAN VNIs is two connections.
    public var tunnel = TunnelPath()

    /// A zeroed segment for the decoder to fill in place.
    public static var empty: TCPSegment {
        TCPSegment(
            source: SocketAddress(IPAddress(ipv4: 0), 0), destination: SocketAddress(IPAddress(ipv4: 0), 0),
            sequence: 0, acknowledgment: 0, flags: [], window: 0)
    }

    /// Sequence space the segment occupies: payload plus one for SYN and one for FIN.
    @inlinable
    public var sequenceLength: UInt32 {
        payloadLength &+ (flags.contains(.syn) ? 1 : 0) &+ (flags.contains(.fin) ? 1 : 0)
    }

    public init(
        source: SocketAddress, destination: SocketAddress, sequence: UInt32, acknowledgment: UInt32,
        flags: TCPFlags, window: UInt16, urgentPointer: UInt16 = 0, headerLength: UInt8 = 20,
        payloadLength: UInt32 = 0, capturedPayloadLength: UInt32? = nil, options: TCPOptions = TCPOptions(),
        ipVersion: UInt8 = 4, ipHeaderLength: UInt16 = 20, ipIdentification: UInt32 = 0, ttl: UInt8 = 64,
        isFragment: Bool = false
    ) {
        self.source = source
        self.destination = destination
        self.sequence = sequence
        self.acknowledgment = acknowledgment
        self.flags = flags
        self.window = window
        self.urgentPointer = urgentPointer
        self.headerLength = headerLength
        self.payloadLength = payloadLength
        self.capturedPayloadLength = capturedPayloadLength ?? payloadLength
        self.options = options
        self.ipVersion = ipVersion
        self.ipHeaderLength = ipHeaderLength
        self.ipIdentification = ipIdentification
        self.ttl = ttl
        self.isFragment = isFragment
    }
}
