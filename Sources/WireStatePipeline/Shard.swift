import WireStateDecoder

/// `--shard K/N`: a run that analyses only the flows of shard K of N, so that N independent jobs
/// (on one machine or many) together analyse a capture set once (docs/scaling.md).
///
/// A flow's shard depends on its 4-tuple alone, the same in both directions, and is stated here so
/// that any tool can compute it: FNV-1a (64-bit) over the lower endpoint, then the higher (lower by
/// address family, IPv4 first, then address, then port), each endpoint as its address in network
/// byte order (4 bytes for IPv4, 16 for IPv6) followed by its port (2 bytes, network order); the
/// shard is that hash modulo N, plus 1. Tunnels are left out, so every packet of a connection, also
/// one carried in a tunnel, lands in the same shard.
///
/// Every shard reads and decodes every frame (the decode counters are the same in each), and its
/// tracker's clock advances on every TCP segment, its own or not (`ConnectionTracker.pass`): each
/// connection's TIME_WAIT expiry, idle end and every record about it happen at the same frame and
/// with the same content as in one run. What differs: connection ids are numbered within the shard,
/// and a `--max-connections` cap applies to each shard's own table.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    /// K, from 1.
    public let index: UInt32
    /// N.
    public let count: UInt32

    /// The most shards a run can be split into.
    public static let maxCount: UInt32 = 65_536

    public init?(index: UInt32, count: UInt32) {
        guard count >= 1, count <= Self.maxCount, index >= 1, index <= count else { return nil }
        self.index = index
        self.count = count
    }

    /// "K/N", as the option takes it.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
            let k = UInt32(parts[0]), let n = UInt32(parts[1])
        else { return nil }
        self.init(index: k, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    /// Whether this shard analyses the flow of `s`.
    @inline(__always)
    public func owns(_ s: TCPSegment) -> Bool {
        count == 1 || Self.hash(s.source, s.destination) % UInt64(count) == UInt64(index - 1)
    }

    /// The flow hash stated above.
    @inline(__always)
    public static func hash(_ x: SocketAddress, _ y: SocketAddress) -> UInt64 {
        let (a, b) = (x.address, x.port) < (y.address, y.port) ? (x, y) : (y, x)
        var h = FNV1a()
        h.add(a)
        h.add(b)
        return h.value
    }
}

/// FNV-1a, 64-bit (offset basis 0xcbf29ce484222325, prime 0x100000001b3), over bytes fed in order.
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    @inline(__always)
    mutating func byte(_ b: UInt8) {
        value = (value ^ UInt64(b)) &* 0x0000_0100_0000_01b3
    }

    @inline(__always)
    mutating func bigEndian(_ v: UInt64, bytes: Int) {
        var shift = (bytes - 1) * 8
        while shift >= 0 {
            byte(UInt8(truncatingIfNeeded: v >> UInt64(shift)))
            shift -= 8
        }
    }

    /// An endpoint: its address in network byte order (4 or 16 bytes), then its port.
    @inline(__always)
    mutating func add(_ e: SocketAddress) {
        if e.address.isIPv6 {
            bigEndian(e.address.high, bytes: 8)
            bigEndian(e.address.low, bytes: 8)
        } else {
            bigEndian(e.address.low, bytes: 4)
        }
        bigEndian(UInt64(e.port), bytes: 2)
    }
}
