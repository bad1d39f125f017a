import WireStateDecoder
import WireStateTracker

/// Community ID v1 (corelight/community-id-spec), the flow hash Zeek, Suricata and Elastic share:
/// `"1:" + base64(SHA1(seed · saddr · daddr · proto · 0 · sport · dport))`, with the endpoints
/// ordered so both directions give the same ID (smaller address first; ports break ties).
/// A JSON record can then be joined with the same flow in another tool's log.
public enum CommunityID {
    static let tcp: UInt8 = 6

    public static func v1(_ x: SocketAddress, _ y: SocketAddress, seed: UInt16 = 0) -> String {
        "1:" + base64(SHA1.hash(input(x, y, seed: seed)))
    }

    static func input(_ x: SocketAddress, _ y: SocketAddress, seed: UInt16) -> [UInt8] {
        var a = x, b = y
        let ax = bytes(x.address), bx = bytes(y.address)
        if !(ax.lexicographicallyPrecedes(bx) || (ax == bx && x.port < y.port)) { swap(&a, &b) }
        var out: [UInt8] = [UInt8(seed >> 8), UInt8(truncatingIfNeeded: seed)]
        out += bytes(a.address) + bytes(b.address)
        out += [tcp, 0, UInt8(a.port >> 8), UInt8(truncatingIfNeeded: a.port), UInt8(b.port >> 8), UInt8(truncatingIfNeeded: b.port)]
        return out
    }

    /// Network-order address bytes: 4 for IPv4, 16 for IPv6.
    static func bytes(_ a: IPAddress) -> [UInt8] {
        if !a.isIPv6 {
            let v = UInt32(truncatingIfNeeded: a.low)
            return [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
        }
        return (0..<8).map { UInt8(truncatingIfNeeded: a.high >> UInt64(56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: a.low >> UInt64(56 - 8 * $0)) }
    }

    /// RFC 4648 base64 with padding.
    /// In bytes, built once: the table as an array of `Character`s, made on every call, was most
    /// of the cost of a JSON Lines record (grapheme breaking of 64 characters each time).
    static let base64Table: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func base64(_ data: [UInt8]) -> String {
        let table = base64Table
        var out: [UInt8] = []
        out.reserveCapacity((data.count + 2) / 3 * 4)
        var i = 0
        while i < data.count {
            let n = min(3, data.count - i)
            let b0 = data[i], b1 = n > 1 ? data[i + 1] : 0, b2 = n > 2 ? data[i + 2] : 0
            out.append(table[Int(b0 >> 2)])
            out.append(table[Int((b0 & 3) << 4 | b1 >> 4)])
            out.append(n > 1 ? table[Int((b1 & 15) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(n > 2 ? table[Int(b2 & 63)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// A connection's `uid`: stable across runs of the same capture (so records can be re-ingested
/// and joined), distinct for every incarnation of a 4-tuple. Zeek's shape — "C" and 17 base62
/// characters (96 bits) — taken from SHA-1 of the Community ID input, the first packet's time in
/// nanoseconds and the incarnation.
public enum ConnectionUID {
    public static func make(_ c: ConnectionSummary) -> String {
        make(c.client, c.server, firstTime: c.firstTime, incarnation: c.ref.incarnation)
    }

    public static func make(_ client: SocketAddress, _ server: SocketAddress, firstTime: Int64, incarnation: UInt32) -> String {
        var input = CommunityID.input(client, server, seed: 0)
        let t = UInt64(bitPattern: firstTime)
        for i in 0..<8 { input.append(UInt8(truncatingIfNeeded: t >> UInt64(56 - 8 * i))) }
        for i in 0..<4 { input.append(UInt8(truncatingIfNeeded: incarnation >> UInt32(24 - 8 * i))) }
        let digest = SHA1.hash(input)
        // 96 bits as three 32-bit limbs, converted to base62 by repeated division.
        var limbs = (0..<3).map { j in (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(digest[4 * j + $1]) } }
        let alphabet = Self.alphabet
        // "C", then the 17 digits, most significant first (filled from the end).
        var chars = [UInt8](repeating: UInt8(ascii: "C"), count: 18)
        for k in 0..<17 {
            var rem: UInt64 = 0
            for j in 0..<3 {
                let cur = rem << 32 | UInt64(limbs[j])
                limbs[j] = UInt32(cur / 62)
                rem = cur % 62
            }
            chars[17 - k] = alphabet[Int(rem)]
        }
        return String(decoding: chars, as: UTF8.self)
    }

    /// Base62 digits, in bytes, built once (see `CommunityID.base64Table`).
    static let alphabet: [UInt8] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
}
