/// One JSON Lines record being built, as UTF-8 bytes in a buffer the writer reuses.
///
/// Why not string interpolation: a capture yields about one record per packet (transitions,
/// anomalies, connections), and building each by `+` and `"\(…)"` cost 56 heap allocations per
/// packet and made `--format jsonl` ten times slower than `--quiet` (scripts/benchmark.py). Here
/// a record is appended into one growing byte array (no allocation once it has grown to the
/// longest record), numbers are written digit by digit, and the RFC 3339 prefix of a second is
/// kept from the previous record, since records arrive in capture order.
public struct JSONLine {
    public private(set) var bytes: [UInt8] = []
    private var cachedSecond: Int64 = .min
    private var cachedPrefix: [UInt8] = []

    public init() { bytes.reserveCapacity(1024) }

    public mutating func reset() { bytes.removeAll(keepingCapacity: true) }

    public var string: String { String(decoding: bytes, as: UTF8.self) }

    /// Takes the last byte back (a record's closing brace, to add a member after it).
    public mutating func dropLast() { if !bytes.isEmpty { bytes.removeLast() } }

    /// Text known to need no escaping (keys, punctuation, RFC state names, codes).
    @inline(__always)
    public mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// A `String` known to need no escaping (names of enum cases, numbers already formatted).
    public mutating func rawString(_ s: String) {
        var s = s
        s.withUTF8 { bytes.append(contentsOf: $0) }
    }

    public mutating func int<T: BinaryInteger>(_ v: T) {
        if v < 0 {
            bytes.append(UInt8(ascii: "-"))
            unsigned(UInt64(v.magnitude))
        } else {
            unsigned(UInt64(v))
        }
    }

    public mutating func unsigned(_ v: UInt64) {
        if v < 10 { bytes.append(UInt8(truncatingIfNeeded: v) + 48); return }
        // Digits right to left into a stack buffer, then one append (per-byte appends cost a
        // uniqueness check each).
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &buffer) { raw in
            var n = v, at = 20
            while n > 0 { at -= 1; raw[at] = UInt8(truncatingIfNeeded: n % 10) + 48; n /= 10 }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[at..<20]))
        }
    }

    /// `n` as exactly `width` digits with leading zeros (0 ≤ n < 10^width, width ≤ 20).
    mutating func zeroPadded(_ n: Int64, _ width: Int) {
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &buffer) { raw in
            var n = UInt64(max(0, n)), at = 20
            while at > 20 - width { at -= 1; raw[at] = UInt8(truncatingIfNeeded: n % 10) + 48; n /= 10 }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[at..<20]))
        }
    }

    public mutating func bool(_ b: Bool) { if b { raw("true") } else { raw("false") } }

    public mutating func optional(_ v: Int64?) { if let v { int(v) } else { raw("null") } }

    /// A JSON string literal with RFC 8259 escaping, byte for byte what `Format.json` writes.
    public mutating func string(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        // Most strings (addresses, uids, messages) need no escape: one append of the whole.
        var s = s
        let plain = s.withUTF8 { u -> Bool in
            guard !u.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else { return false }
            bytes.append(contentsOf: u)
            return true
        }
        if plain { bytes.append(UInt8(ascii: "\"")); return }
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
                    bytes.append(h[Int(b >> 4)])
                    bytes.append(h[Int(b & 15)])
                }
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Seconds since the epoch with nine decimals, as `Format.time`: `1700000000.123456789`.
    public mutating func epochSeconds(_ nanos: Int64) {
        if nanos < 0 { bytes.append(UInt8(ascii: "-")) }
        let m = nanos.magnitude
        unsigned(m / 1_000_000_000)
        bytes.append(UInt8(ascii: "."))
        zeroPadded(Int64(m % 1_000_000_000), 9)
    }

    /// RFC 3339 UTC with nine fraction digits, as `Format.rfc3339`, quoted.
    public mutating func rfc3339(_ rawNanos: Int64) {
        // Tracker times are clamped to ±2^62 ns (CaptureTime); clamping here too keeps the
        // second's multiple of 10^9 inside Int64 for any caller.
        let nanos = min(max(rawNanos, -(1 << 62)), 1 << 62)
        let second = nanos >= 0 ? nanos / 1_000_000_000 : -((-(nanos + 1)) / 1_000_000_000) - 1
        if second != cachedSecond {
            cachedSecond = second
            let text = Format.rfc3339(second * 1_000_000_000)
            cachedPrefix = Array(text.utf8.dropLast(10))  // up to and with the point: the nine digits and Z go
        }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: cachedPrefix)
        zeroPadded(nanos - second * 1_000_000_000, 9)
        raw("Z\"")
    }
}
