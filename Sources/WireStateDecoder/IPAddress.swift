/// An IPv4 or IPv6 address held inline (no heap), so decoded segments and flow keys stay plain values.
///
/// IPv4 addresses live in the low 32 bits of `low` with `high == 0`; the family bit keeps
/// `0.0.0.1` and `::1` apart.
public struct IPAddress: Hashable, Sendable, Comparable {
    public var high: UInt64
    public var low: UInt64
    public var isIPv6: Bool

    @inlinable
    public init(ipv4 value: UInt32) {
        high = 0
        low = UInt64(value)
        isIPv6 = false
    }

    @inlinable
    public init(ipv6High high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
        isIPv6 = true
    }

    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        if a.isIPv6 != b.isIPv6 { return !a.isIPv6 }
        if a.high != b.high { return a.high < b.high }
        return a.low < b.low
    }

    /// Parses dotted IPv4 or RFC 4291 IPv6 text (used by tests and reporters, never per packet).
    public init?(_ text: String) {
        if text.contains(":") {
            var groups: [UInt16] = []
            var halves: [String] = []
            if let r = text.firstRange(of: "::") {
                halves = [String(text[..<r.lowerBound]), String(text[r.upperBound...])]
                if halves[1].contains("::") { return nil }
            } else {
                halves = [text]
            }
            guard halves.count <= 2 else { return nil }
            func parse(_ part: String) -> [UInt16]? {
                if part.isEmpty { return [] }
                var out: [UInt16] = []
                for piece in part.split(separator: ":", omittingEmptySubsequences: false) {
                    guard let v = UInt16(piece, radix: 16), piece.count <= 4 else { return nil }
                    out.append(v)
                }
                return out
            }
            guard let head = parse(halves[0]) else { return nil }
            if halves.count == 2 {
                guard let tail = parse(halves[1]), head.count + tail.count <= 7 else { return nil }
                groups = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
            } else {
                groups = head
            }
            guard groups.count == 8 else { return nil }
            var hi: UInt64 = 0, lo: UInt64 = 0
            for i in 0..<4 { hi = hi << 16 | UInt64(groups[i]) }
            for i in 4..<8 { lo = lo << 16 | UInt64(groups[i]) }
            self.init(ipv6High: hi, low: lo)
        } else {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4 else { return nil }
            var v: UInt32 = 0
            for p in parts {
                guard let b = UInt8(p) else { return nil }
                v = v << 8 | UInt32(b)
            }
            self.init(ipv4: v)
        }
    }
}

extension IPAddress: CustomStringConvertible {
    /// Dotted quad for IPv4; RFC 5952 canonical text for IPv6 (longest zero run compressed).
    public var description: String {
        if !isIPv6 {
            let v = UInt32(truncatingIfNeeded: low)
            return "\(v >> 24).\(v >> 16 & 0xff).\(v >> 8 & 0xff).\(v & 0xff)"
        }
        var groups = [UInt16](repeating: 0, count: 8)
        for i in 0..<4 {
            groups[i] = UInt16(truncatingIfNeeded: high >> UInt64(48 - 16 * i))
            groups[4 + i] = UInt16(truncatingIfNeeded: low >> UInt64(48 - 16 * i))
        }
        // Find the longest run (length >= 2) of zero groups.
        var bestStart = -1, bestLen = 0, i = 0
        while i < 8 {
            if groups[i] == 0 {
                var j = i
                while j < 8 && groups[j] == 0 { j += 1 }
                if j - i > bestLen && j - i >= 2 { bestStart = i; bestLen = j - i }
                i = j
            } else {
                i += 1
            }
        }
        func hex(_ r: Range<Int>) -> String { r.map { String(groups[$0], radix: 16) }.joined(separator: ":") }
        if bestStart < 0 { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLen)..<8)
    }
}

/// One side of a TCP conversation.
public struct SocketAddress: Hashable, Sendable {
    public var address: IPAddress
    public var port: UInt16

    @inlinable
    public init(_ address: IPAddress, _ port: UInt16) {
        self.address = address
        self.port = port
    }
}

extension SocketAddress: CustomStringConvertible {
    /// `127.0.0.1:80`, or `[::1]:80` for IPv6.
    public var description: String {
        address.isIPv6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }
}
