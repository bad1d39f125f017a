import WireStateDecoder

/// One JSON Lines record being built, as UTF-8 bytes in a buffer the writer reuses.
///
/// Why not string interpolation: a capture yields about one record per packet (transitions,
/// anomalies, connections), and building each by `+` and `"\(…)"` cost 56 heap allocations per
/// packet and made `--format jsonl` ten times slower than `--quiet` (scripts/benchmark.py). Here
/// a record is appended into one growing byte array (no allocation once it has grown to the
/// longest record), numbers are written digit by digit, and the RFC 3339 prefix of a second is
/// kept from the previous record, since records arrive in capture order.
public struct JSONLine {
    /// Owns the bytes (frees them when the last copy goes). The pointer, count and capacity live
    /// in the struct itself, so an append is a bounds test and a copy, with none of the uniqueness
    /// checks and generic growth paths `Array.append(contentsOf:)` took for every key and number
    /// (a fifth of `--format jsonl`'s instructions, by callgrind).
    final class Owner {
        let base: UnsafeMutablePointer<UInt8>
        init(capacity: Int) { base = .allocate(capacity: capacity) }
        deinit { base.deallocate() }
    }

    // A copy shares the buffer until one of them starts a record (`reset`, which then takes a
    // buffer of its own): copy a JSONLine between records, never while one is being built.
    private var owner: Owner
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    public private(set) var count = 0
    private var cachedSecond: Int64 = .min
    /// `2026-11-21T12:33:43.` of `cachedSecond`: 20 bytes, inline.
    private var cachedPrefix = Text28()
    /// Where `epochSeconds` last wrote a time of this record: its value, the offset of its first
    /// digit and of its dot (`epochNanos` is `.min` when there is none).
    private var epochNanos: Int64 = .min
    private var epochAt = 0
    private var epochDot = 0
    /// The enum spellings records are made of (shared: built once per process).
    let names = JSONNames.shared

    public init() {
        capacity = 1024
        owner = Owner(capacity: capacity)
        base = owner.base
    }

    public mutating func reset() {
        if !isKnownUniquelyReferenced(&owner) {
            owner = Owner(capacity: capacity)
            base = owner.base
        }
        count = 0
        epochNanos = .min
    }

    /// The record so far, valid during `body`.
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    /// The record so far, copied.
    public var bytes: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    public var string: String { String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self) }

    /// Takes the last byte back (a record's closing brace, to add a member after it).
    public mutating func dropLast() { if count > 0 { count -= 1 } }

    @inline(never)
    private mutating func grow(to needed: Int) {
        var c = capacity * 2
        while c < needed { c *= 2 }
        let o = Owner(capacity: c)
        o.base.update(from: base, count: count)
        owner = o
        base = o.base
        capacity = c
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        if count == capacity { grow(to: count + 1) }
        base[count] = byte
        count += 1
    }

    @inline(__always)
    mutating func append(_ p: UnsafeRawPointer, count n: Int) {
        if count + n > capacity { grow(to: count + n) }
        let to = base + count
        if n <= 16 {
            // Keys, punctuation and digits: a call to memcpy costs more than the bytes.
            let from = p.assumingMemoryBound(to: UInt8.self)
            for i in 0..<n { to[i] = from[i] }
        } else {
            UnsafeMutableRawPointer(to).copyMemory(from: p, byteCount: n)
        }
        count += n
    }

    @inline(__always)
    mutating func append(contentsOf b: UnsafeBufferPointer<UInt8>) {
        guard let p = b.baseAddress else { return }
        append(p, count: b.count)
    }

    @inline(__always)
    mutating func append(contentsOf b: UnsafeRawBufferPointer) {
        guard let p = b.baseAddress else { return }
        append(p, count: b.count)
    }

    mutating func append(contentsOf a: [UInt8]) { a.withUnsafeBufferPointer { append(contentsOf: $0) } }

    /// Text known to need no escaping (keys, punctuation, RFC state names, codes).
    @inline(__always)
    public mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { append(contentsOf: $0) }
    }

    /// A `String` known to need no escaping (names of enum cases, numbers already formatted).
    public mutating func rawString(_ s: String) {
        var s = s
        s.withUTF8 { append(contentsOf: $0) }
    }

    public mutating func int<T: BinaryInteger>(_ v: T) {
        if v < 0 {
            append(UInt8(ascii: "-"))
            unsigned(UInt64(v.magnitude))
        } else {
            unsigned(UInt64(v))
        }
    }

    /// "00" to "99", for two digits per division (a literal: no lazy global to check per call).
    static var digitPairs: StaticString {
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
    }

    public mutating func unsigned(_ v: UInt64) {
        if v < 10 { append(UInt8(truncatingIfNeeded: v) + 48); return }
        // Digits right to left, two per division, straight into the record: no stack buffer to
        // copy from, and no closure (the literal's bytes are read through its pointer).
        let n = Self.digitCount(v)
        if count + n > capacity { grow(to: count + n) }
        Self.writeDigits(v, endingAt: base + count + n)
        count += n
    }

    /// How many decimal digits `v` has (1 to 20), by comparisons in a binary search (a loop
    /// multiplying up to the count took 19 steps for a nanosecond time).
    @inline(__always)
    static func digitCount(_ v: UInt64) -> Int {
        if v < 10_000_000_000 {
            if v < 100_000 {
                if v < 100 { return v < 10 ? 1 : 2 }
                return v < 1_000 ? 3 : (v < 10_000 ? 4 : 5)
            }
            if v < 10_000_000 { return v < 1_000_000 ? 6 : 7 }
            return v < 100_000_000 ? 8 : (v < 1_000_000_000 ? 9 : 10)
        }
        if v < 1_000_000_000_000_000 {
            if v < 1_000_000_000_000 { return v < 100_000_000_000 ? 11 : 12 }
            if v < 100_000_000_000_000 { return v < 10_000_000_000_000 ? 13 : 14 }
            return 15
        }
        if v < 100_000_000_000_000_000 { return v < 10_000_000_000_000_000 ? 16 : 17 }
        if v < 10_000_000_000_000_000_000 { return v < 1_000_000_000_000_000_000 ? 18 : 19 }
        return 20
    }

    /// Writes `v`'s digits so that the last one is just before `end`, two per division.
    @inline(__always)
    static func writeDigits(_ v: UInt64, endingAt end: UnsafeMutablePointer<UInt8>) {
        let pairs = digitPairs.utf8Start
        var x = v
        var at = end
        while x >= 100 {
            let r = Int(x % 100)
            x /= 100
            at -= 2
            at[0] = pairs[2 * r]
            at[1] = pairs[2 * r + 1]
        }
        if x >= 10 {
            at -= 2
            at[0] = pairs[2 * Int(x)]
            at[1] = pairs[2 * Int(x) + 1]
        } else {
            at -= 1
            at[0] = UInt8(truncatingIfNeeded: x) + 48
        }
    }

    /// `n` as exactly `width` digits with leading zeros (0 ≤ n < 10^width, width ≤ 20).
    mutating func zeroPadded(_ n: Int64, _ width: Int) {
        let w = min(max(width, 0), 20)
        if count + w > capacity { grow(to: count + w) }
        let end = base + count + w
        // Zeros first, then the digits over their tail; a number wider than `width` keeps its
        // last `width` digits.
        for i in 0..<w { base[count + i] = UInt8(ascii: "0") }
        var v = UInt64(max(0, n))
        if Self.digitCount(v) > w {
            var p: UInt64 = 1
            for _ in 0..<w { p &*= 10 }
            v %= p
        }
        if v > 0 { Self.writeDigits(v, endingAt: end) }
        count += w
    }

    public mutating func bool(_ b: Bool) { if b { raw("true") } else { raw("false") } }

    public mutating func optional(_ v: Int64?) { if let v { int(v) } else { raw("null") } }

    /// A JSON string literal with RFC 8259 escaping, byte for byte what `Format.json` writes.
    public mutating func string(_ s: String) {
        append(UInt8(ascii: "\""))
        // Most strings (addresses, uids, messages) need no escape: one append of the whole.
        var s = s
        let plain = s.withUTF8 { u -> Bool in
            guard !u.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else { return false }
            append(contentsOf: u)
            return true
        }
        if plain { append(UInt8(ascii: "\"")); return }
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case UInt8(ascii: "\n"): raw("\\n")
            case UInt8(ascii: "\r"): raw("\\r")
            case UInt8(ascii: "\t"): raw("\\t")
            case 0..<0x20:
                raw("\\u00")
                let hex: StaticString = "0123456789abcdef"
                hex.withUTF8Buffer { h in
                    append(h[Int(b >> 4)])
                    append(h[Int(b & 15)])
                }
            default: append(b)
            }
        }
        append(UInt8(ascii: "\""))
    }

    /// Seconds since the epoch with nine decimals, as `Format.time`: `1700000000.123456789`.
    public mutating func epochSeconds(_ nanos: Int64) {
        if nanos < 0 { append(UInt8(ascii: "-")) }
        let m = nanos.magnitude
        let at = count
        unsigned(m / 1_000_000_000)
        let dot = count
        append(UInt8(ascii: "."))
        zeroPadded(Int64(m % 1_000_000_000), 9)
        if nanos >= 0 {
            epochNanos = nanos
            epochAt = at
            epochDot = dot
        }
    }

    /// The digits of `nanos` and of its fraction, when `epochSeconds` wrote them in this record
    /// and there is a whole second (so that the nanoseconds' digits are the seconds' and then
    /// the fraction's nine): the offsets of the seconds' digits and of the fraction's, or nil.
    @inline(__always)
    func writtenDigits(of nanos: Int64) -> (seconds: Int, dot: Int)? {
        nanos == epochNanos && nanos >= 1_000_000_000 ? (epochAt, epochDot) : nil
    }

    /// Appends `n` bytes of this record, from offset `from` (earlier than the end), again.
    @inline(__always)
    mutating func repeatBytes(from: Int, count n: Int) {
        // Internal: the offsets come from `epochSeconds` in this record (`reset` forgets them).
        assert(from >= 0 && n >= 0 && from + n <= count, "JSONLine.repeatBytes outside the record")
        // Room first: growing moves the buffer, and the bytes are read from it.
        if count + n > capacity { grow(to: count + n) }
        append(UnsafeRawPointer(base + from), count: n)
    }

    /// RFC 3339 UTC with nine fraction digits, as `Format.rfc3339`, quoted.
    public mutating func rfc3339(_ rawNanos: Int64) { rfc3339(rawNanos, fractionAt: nil) }

    /// `rfc3339`, with `fractionAt` the offset in this record where the nine digits of its
    /// fraction were written already (`writtenDigits`), to copy instead of making them again.
    @inline(__always)
    mutating func rfc3339(_ rawNanos: Int64, fractionAt: Int?) {
        // Tracker times are clamped to ±2^62 ns (CaptureTime); clamping here too keeps the
        // second's multiple of 10^9 inside Int64 for any caller.
        let nanos = min(max(rawNanos, -(1 << 62)), 1 << 62)
        let second = nanos >= 0 ? nanos / 1_000_000_000 : -((-(nanos + 1)) / 1_000_000_000) - 1
        if second != cachedSecond {
            // Written digit by digit: a connection record's two times are often in different
            // seconds, and the string interpolation this was cost a microsecond each time.
            cachedSecond = second
            cachedPrefix = Self.stamp(Format.civil(second * 1_000_000_000))
        }
        append(UInt8(ascii: "\""))
        cachedPrefix.withBytes { append(contentsOf: $0) }
        if let fractionAt, nanos == rawNanos {
            repeatBytes(from: fractionAt, count: 9)
        } else {
            zeroPadded(nanos - second * 1_000_000_000, 9)
        }
        raw("Z\"")
    }

    /// `2026-11-21T12:33:43.`, the RFC 3339 prefix of a second (`Format.rfc3339` and `rfc3339`).
    mutating func append(stamp c: Format.Civil) {
        Self.stamp(c).withBytes { append(contentsOf: $0) }
    }

    /// The 20 bytes of `append(stamp:)`, each field zero-padded to its width.
    static func stamp(_ c: Format.Civil) -> Text28 {
        var out = Text28()
        out.count = 20
        var at = 0
        func put(_ v: Int64, _ width: Int, then separator: UInt8) {
            var d = v
            for i in stride(from: width - 1, through: 0, by: -1) {
                out[at + i] = UInt8(truncatingIfNeeded: d % 10) + 48
                d /= 10
            }
            out[at + width] = separator
            at += width + 1
        }
        put(c.year, 4, then: UInt8(ascii: "-"))
        put(c.month, 2, then: UInt8(ascii: "-"))
        put(c.day, 2, then: UInt8(ascii: "T"))
        put(c.hour, 2, then: UInt8(ascii: ":"))
        put(c.minute, 2, then: UInt8(ascii: ":"))
        put(c.second, 2, then: UInt8(ascii: "."))
        return out
    }

    /// `v` with `places` decimals (kept to 0...18; no point for 0): `v` scaled by 10^places,
    /// rounded, and written digit by digit. `Format.fixed` is this, as a string.
    mutating func fixed(_ v: Double, _ requestedPlaces: Int) {
        let places = min(max(requestedPlaces, 0), 18)
        var scale: UInt64 = 1
        for _ in 0..<places { scale *= 10 }
        let scaled = (v * Double(scale)).rounded()
        guard scaled.isFinite else { append(UInt8(ascii: "0")); return }
        let clamped = max(min(scaled, 9.2e18), -9.2e18)
        let n = Int64(clamped)
        let m = n.magnitude
        if n < 0 { append(UInt8(ascii: "-")) }
        if places <= 0 { unsigned(m); return }
        unsigned(m / scale)
        append(UInt8(ascii: "."))
        zeroPadded(Int64(m % scale), places)
    }

    /// A Community ID v1 (seed 0), quoted: as `CommunityID.v1`, without its strings.
    mutating func communityID(_ x: SocketAddress, _ y: SocketAddress) {
        var text = Text28()
        CommunityID.base64(CommunityID.input(x, y, seed: 0).digest(), into: &text)
        raw("\"1:")
        text.withBytes { append(contentsOf: $0) }
        append(UInt8(ascii: "\""))
    }
}
