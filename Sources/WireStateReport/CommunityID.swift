import WireStateDecoder
import WireStateTracker

/// Community ID v1 (corelight/community-id-spec), the flow hash Zeek, Suricata and Elastic share:
/// `"1:" + base64(SHA1(seed · saddr · daddr · proto · 0 · sport · dport))`, with the endpoints
/// ordered so both directions give the same ID (smaller address first; ports break ties).
/// A JSON record can then be joined with the same flow in another tool's log.
///
/// Every connection record hashes twice (this and its uid): the input is built in a stack buffer
/// (`HashInput`) and the digest read as words, with no array on the way (they had been about ten
/// allocations per connection record).
public enum CommunityID {
    static let tcp: UInt8 = 6

    public static func v1(_ x: SocketAddress, _ y: SocketAddress, seed: UInt16 = 0) -> String {
        var text = Text28()
        base64(input(x, y, seed: seed).digest(), into: &text)
        return "1:" + text.string
    }

    /// The hash input: seed, the ordered addresses, protocol, a zero byte, the ordered ports.
    static func input(_ x: SocketAddress, _ y: SocketAddress, seed: UInt16) -> HashInput {
        var a = x, b = y
        if !(precedes(x.address, y.address) ?? (x.port < y.port)) { swap(&a, &b) }
        var out = HashInput()
        out.append(UInt8(seed >> 8)); out.append(UInt8(truncatingIfNeeded: seed))
        out.append(a.address); out.append(b.address)
        out.append(tcp); out.append(0)
        out.append(UInt8(a.port >> 8)); out.append(UInt8(truncatingIfNeeded: a.port))
        out.append(UInt8(b.port >> 8)); out.append(UInt8(truncatingIfNeeded: b.port))
        return out
    }

    /// Whether `a`'s network-order bytes (4 for IPv4, 16 for IPv6) sort before `b`'s, as
    /// `lexicographicallyPrecedes` on the byte arrays; nil when they are equal.
    static func precedes(_ a: IPAddress, _ b: IPAddress) -> Bool? {
        switch (a.isIPv6, b.isIPv6) {
        case (false, false):
            let x = UInt32(truncatingIfNeeded: a.low), y = UInt32(truncatingIfNeeded: b.low)
            return x == y ? nil : x < y
        case (true, true):
            return (a.high, a.low) == (b.high, b.low) ? nil : (a.high, a.low) < (b.high, b.low)
        case (false, true):
            // Four bytes against the first four of sixteen; equal, the shorter sorts first.
            let x = UInt32(truncatingIfNeeded: a.low), y = UInt32(truncatingIfNeeded: b.high >> 32)
            return x == y ? true : x < y
        case (true, false):
            let x = UInt32(truncatingIfNeeded: a.high >> 32), y = UInt32(truncatingIfNeeded: b.low)
            return x == y ? false : x < y
        }
    }

    /// RFC 4648 base64 with padding.
    /// In bytes, built once: the table as an array of `Character`s, made on every call, was most
    /// of the cost of a JSON Lines record (grapheme breaking of 64 characters each time).
    static let base64Table: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// A 20-byte digest in RFC 4648 base64 with padding: 28 characters, the last one `=`.
    static func base64(_ d: SHA1.Digest, into out: inout Text28) {
        base64Table.withUnsafeBufferPointer { table in
            var at = 0, i = 0
            while i < 18 {
                let b0 = d.byte(i), b1 = d.byte(i + 1), b2 = d.byte(i + 2)
                out[at] = table[Int(b0 >> 2)]
                out[at + 1] = table[Int((b0 & 3) << 4 | b1 >> 4)]
                out[at + 2] = table[Int((b1 & 15) << 2 | b2 >> 6)]
                out[at + 3] = table[Int(b2 & 63)]
                at += 4
                i += 3
            }
            let b0 = d.byte(18), b1 = d.byte(19)
            out[24] = table[Int(b0 >> 2)]
            out[25] = table[Int((b0 & 3) << 4 | b1 >> 4)]
            out[26] = table[Int((b1 & 15) << 2)]
            out[27] = UInt8(ascii: "=")
        }
    }
}

/// Up to 64 bytes to hash, on the stack.
struct HashInput {
    private var storage: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    private(set) var count = 0

    @inline(__always)
    mutating func append(_ b: UInt8) {
        guard count < 64 else { return }
        withUnsafeMutableBytes(of: &storage) { $0[count] = b }
        count += 1
    }

    /// Network-order bytes: 4 for IPv4, 16 for IPv6.
    mutating func append(_ a: IPAddress) {
        if !a.isIPv6 {
            let v = UInt32(truncatingIfNeeded: a.low)
            for i in 0..<4 { append(UInt8(truncatingIfNeeded: v >> UInt32(24 - 8 * i))) }
            return
        }
        for i in 0..<8 { append(UInt8(truncatingIfNeeded: a.high >> UInt64(56 - 8 * i))) }
        for i in 0..<8 { append(UInt8(truncatingIfNeeded: a.low >> UInt64(56 - 8 * i))) }
    }

    var bytes: [UInt8] { withUnsafeBytes(of: storage) { Array($0[0..<count]) } }

    func digest() -> SHA1.Digest {
        withUnsafeBytes(of: storage) { SHA1.digest(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }
}

/// 28 bytes of text on the stack: a Community ID's base64, or a uid's 18 characters.
struct Text28 {
    private var storage: (UInt64, UInt64, UInt64, UInt32) = (0, 0, 0, 0)
    var count = 28

    @inline(__always)
    subscript(_ i: Int) -> UInt8 {
        get { withUnsafeBytes(of: storage) { $0[i] } }
        set { withUnsafeMutableBytes(of: &storage) { $0[i] = newValue } }
    }

    func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeBytes(of: storage) { body(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }

    var string: String { withBytes { String(decoding: $0, as: UTF8.self) } }
}

/// A connection's `uid`: stable across runs of the same capture (so records can be re-ingested
/// and joined), distinct for every incarnation of a 4-tuple. Zeek's shape — "C" and 17 base62
/// characters (96 bits) — taken from SHA-1 of the Community ID input, the first packet's time in
/// nanoseconds and the incarnation.
public enum ConnectionUID {
    public static func make(_ c: ConnectionSummary) -> String {
        text(c.client, c.server, firstTime: c.firstTime, incarnation: c.ref.incarnation).string
    }

    public static func make(_ client: SocketAddress, _ server: SocketAddress, firstTime: Int64, incarnation: UInt32) -> String {
        text(client, server, firstTime: firstTime, incarnation: incarnation).string
    }

    static func text(_ c: ConnectionSummary) -> UIDText {
        text(c.client, c.server, firstTime: c.firstTime, incarnation: c.ref.incarnation)
    }

    /// The uid as 18 bytes held inline: a `String` of 18 is on the heap, and every record of an
    /// open connection names it (a retain and a release each).
    static func text(_ client: SocketAddress, _ server: SocketAddress, firstTime: Int64, incarnation: UInt32) -> UIDText {
        var input = CommunityID.input(client, server, seed: 0)
        let t = UInt64(bitPattern: firstTime)
        for i in 0..<8 { input.append(UInt8(truncatingIfNeeded: t >> UInt64(56 - 8 * i))) }
        for i in 0..<4 { input.append(UInt8(truncatingIfNeeded: incarnation >> UInt32(24 - 8 * i))) }
        let d = input.digest()
        // 96 bits (the digest's first three words) converted to base62 by repeated division.
        var limbs = (d.h.0, d.h.1, d.h.2)
        var out = Text28()
        out.count = 18
        out[0] = UInt8(ascii: "C")
        alphabet.withUnsafeBufferPointer { alphabet in
            // "C", then the 17 digits, most significant first (filled from the end).
            for k in 0..<17 {
                var cur = UInt64(limbs.0)
                limbs.0 = UInt32(cur / 62)
                cur = (cur % 62) << 32 | UInt64(limbs.1)
                limbs.1 = UInt32(cur / 62)
                cur = (cur % 62) << 32 | UInt64(limbs.2)
                limbs.2 = UInt32(cur / 62)
                out[17 - k] = alphabet[Int(cur % 62)]
            }
        }
        return UIDText(text: out)
    }

    /// Base62 digits, in bytes, built once (see `CommunityID.base64Table`).
    static let alphabet: [UInt8] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
}

/// A uid's 18 characters, inline.
struct UIDText {
    var text: Text28

    var string: String { text.string }
}
