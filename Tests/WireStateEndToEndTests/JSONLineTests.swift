import Testing
@testable import WireStateReport
import WireStateDecoder
import WireStateTracker

/// `JSONLine` writes numbers and addresses by hand (two digits per division, IPv4 octet by
/// octet) so that `--format jsonl` skips `String(v)` and `description`: these pin that the
/// bytes are exactly what those would have printed, at every digit-count boundary.
@Suite struct JSONLineTests {
    static func line(_ build: (inout JSONLine) -> Void) -> String {
        var l = JSONLine()
        build(&l)
        return l.string
    }

    @Test func unsignedNumbersPrintAsStringDoesAtEveryDigitBoundary() {
        var values: [UInt64] = [0, 1, 9, UInt64.max, UInt64.max - 1, 1 << 63, 4_294_967_295]
        var p: UInt64 = 10
        for _ in 1...19 {
            values += [p - 1, p, p + 1]
            p = p &* 10
        }
        values += (0..<300).map { UInt64($0) }
        for v in values {
            #expect(Self.line { $0.unsigned(v) } == String(v), "\(v)")
        }
    }

    @Test func signedNumbersPrintAsStringDoes() {
        for v: Int64 in [0, -1, -9, -10, -99, -100, 12_345, .min, .max, .min + 1] {
            #expect(Self.line { $0.int(v) } == String(v), "\(v)")
        }
    }

    @Test func addressesAndSocketsPrintAsTheirDescriptionQuoted() {
        let v4: [UInt32] = [0, 0xffff_ffff, 0x0a00_0001, 0x7f00_0001, 0xc0a8_6401, 0x0102_0304, 0x6400_0a0a]
        var addresses = v4.map { IPAddress(ipv4: $0) }
        addresses += [
            IPAddress(ipv6High: 0, low: 1), IPAddress(ipv6High: 0x2001_0db8_0000_0000, low: 0x0000_0000_0000_0001),
            IPAddress(ipv6High: 0xfe80_0000_0000_0000, low: 0x0211_22ff_fe33_4455)
        ]
        for a in addresses {
            #expect(Self.line { $0.address(a) } == "\"\(a.description)\"")
            for port: UInt16 in [0, 9, 80, 443, 65535] {
                let s = SocketAddress(a, port)
                #expect(Self.line { $0.socket(s) } == "\"\(s.description)\"")
            }
        }
    }

    @Test func aCopyKeepsItsBytesWhenTheOriginalStartsTheNextRecord() {
        var l = JSONLine()
        l.raw("{\"first\":1}")
        let kept = l
        l.reset()
        l.raw("{\"second\":22}")
        #expect(kept.string == "{\"first\":1}")
        #expect(l.string == "{\"second\":22}")
    }

    @Test func aRecordLongerThanTheFirstBufferGrowsIntact() {
        var l = JSONLine()
        var expected = ""
        for i in 0..<2_000 {
            l.unsigned(UInt64(i))
            l.raw(",")
            expected += "\(i),"
        }
        l.string(String(repeating: "é\"x", count: 700))
        expected += Self.line { $0.string(String(repeating: "é\"x", count: 700)) }
        #expect(l.string == expected)
        #expect(l.count == expected.utf8.count)
        l.reset()
        l.raw("x")
        #expect(l.string == "x")
    }

    @Test func zeroPaddedNumbersMatchPaddingAStringAndKeepTheLastDigitsWhenTooWide() {
        for (n, width) in [(0, 9), (7, 9), (123_456_789, 9), (999_999_999, 9), (5, 1), (0, 0), (42, 2), (1_234, 2), (-5, 3)] as [(Int64, Int)] {
            let digits = String(max(0, n))
            let expected = String(repeating: "0", count: max(0, width - digits.count)) + String(digits.suffix(width))
            #expect(Self.line { $0.zeroPadded(n, width) } == expected, "\(n) width \(width)")
        }
    }

    @Test func fixedDecimalsMatchTheStringCodeTheyReplaced() {
        var values: [Double] = [0, 1, -1, 0.5, 1e-9, 0.000_000_000_5, 123.456_789_012, 1e12, 9.3e18, -9.3e18, .infinity, .nan]
        var x = 0.000_001_234
        for _ in 0..<40 {
            values.append(x)
            x *= 3.7
        }
        values += [Int64](arrayLiteral: 0, 1, 999_999_999, 1_000_000_000, 86_400_000_000_000, 1 << 52, 1 << 60).map { Double($0) / 1e9 }
        for v in values {
            for places in [-1, 0, 3, 6, 9, 18, 25] {
                #expect(Self.line { $0.fixed(v, places) } == Self.referenceFixed(v, places), "\(v) places \(places)")
                #expect(Format.fixed(v, places) == Self.referenceFixed(v, places))
            }
        }
    }

    @Test func rfc3339TimesMatchTheStringCodeAcrossSecondsDaysAndTheRange() {
        // Alternating seconds (a connection record's start and last time) and repeats of one.
        var times: [Int64] = [0, -1, 1, 999_999_999, 1_000_000_000, -1_000_000_000, -1_000_000_001, 1 << 62, -(1 << 62)]
        times += [1_700_000_000_123_456_789, 1_700_000_000_999_999_999, 1_600_000_000_000_000_000, 1_700_000_000_000_000_001]
        times += [951_782_400_000_000_000, 951_868_799_999_999_999, 4_107_542_400_000_000_000]  // 2000-02-29, 2100-03-01
        var l = JSONLine()
        // Format.rfc3339 takes any Int64, unclamped: the ends of the range too.
        for t in times + [Int64.min, Int64.max, Int64.min + 1] {
            #expect(Format.rfc3339(t) == Self.referenceRFC3339(t), "\(t)")
        }
        for t in times + times.reversed() {
            l.reset()
            l.rfc3339(t)
            let clamped = min(max(t, -(1 << 62)), 1 << 62)
            #expect(l.string == "\"" + Self.referenceRFC3339(clamped) + "\"", "\(t)")
        }
    }

    /// A record's time is written three ways (`"time"`, `"time_ns"`, `"time_utc"`), the last two
    /// copied from the digits of the first when they can be: each must still be what it is
    /// alone, for times under a second, before the epoch, at whole seconds, at the clamp, when
    /// the buffer grows between the first and the others, and when the time is another one.
    @Test func timeFieldsCopiedFromTheSecondsDigitsMatchEachRenderingAlone() {
        var times: [Int64] = [0, 1, 999_999_999, 1_000_000_000, 1_000_000_001, 9_999_999_999, 10_000_000_000, -1, -1_000_000_000]
        times += [1_700_000_000_123_456_789, 1_700_000_000_000_000_000, 1 << 62, (1 << 62) + 5, Int64.max, Int64.min]
        func alone(_ t: Int64, _ key: String) -> String {
            let clamped = min(max(t, -(1 << 62)), 1 << 62)
            return ",\"\(key)_ns\":\(t),\"\(key)_utc\":\"" + Format.rfc3339(clamped) + "\""
        }
        for t in times {
            for gap in [0, 3_000] {
                for other in [t, t &+ 1_000_000_000, 5] {
                    var l = JSONLine()
                    l.reset()
                    l.raw("{\"time\":")
                    l.epochSeconds(t)
                    for _ in 0..<gap { l.raw("x") }
                    l.timeFields("time", t)
                    l.timeFields("last", other)
                    let expected = "{\"time\":" + Format.time(t) + String(repeating: "x", count: gap) + alone(t, "time") + alone(other, "last")
                    #expect(l.string == expected, "\(t) gap \(gap) other \(other)")
                }
            }
        }
        // A new record forgets the digits of the last one.
        var l = JSONLine()
        l.epochSeconds(1_700_000_000_123_456_789)
        l.reset()
        l.timeFields("time", 1_700_000_000_123_456_789)
        #expect(l.string == alone(1_700_000_000_123_456_789, "time"))
    }

    /// The names records take from `EncodedNames` are the enums' own spellings, byte for byte.
    @Test func encodedNamesAreTheEnumsSpellings() {
        let n = JSONNames.shared
        func bytes(_ table: EncodedNames, _ raw: UInt8) -> String { String(decoding: table.bytes(raw), as: UTF8.self) }
        for c in TCPState.allCases { #expect(bytes(n.state, c.rawValue) == c.name) }
        for c in Role.allCases { #expect(bytes(n.role, c.rawValue) == c.name) }
        for c in Evidence.allCases { #expect(bytes(n.evidence, c.rawValue) == c.name) }
        for c in TransitionCause.allCases {
            #expect(bytes(n.causeCode, c.rawValue) == c.code)
            #expect(bytes(n.causeSentence, c.rawValue) == Format.json(c.name))
            #expect(bytes(n.causeSentence, c.rawValue) == Self.line { $0.string(c.name) })
        }
        for c in AnomalyCode.allCases { #expect(bytes(n.anomalyCode, c.rawValue) == c.code) }
        for c in Severity.allCases { #expect(bytes(n.severity, c.rawValue) == c.name) }
        for c in ZeekConnState.allCases { #expect(bytes(n.zeekState, c.rawValue) == c.name) }
        #expect(n.state.bytes(200).count == 0)
    }

    /// `Format.fixed` as it was written with strings, before `JSONLine.fixed` became its one
    /// implementation.
    static func referenceFixed(_ v: Double, _ requestedPlaces: Int) -> String {
        let places = min(max(requestedPlaces, 0), 18)
        var scale: UInt64 = 1
        for _ in 0..<places { scale *= 10 }
        let scaled = (v * Double(scale)).rounded()
        guard scaled.isFinite else { return "0" }
        let clamped = max(min(scaled, 9.2e18), -9.2e18)
        let n = Int64(clamped)
        let m = n.magnitude
        if places <= 0 { return (n < 0 ? "-" : "") + "\(m)" }
        let frac = String(m % scale)
        return (n < 0 ? "-" : "") + "\(m / scale)." + String(repeating: "0", count: places - frac.count) + frac
    }

    /// `Format.rfc3339` as it was written with string interpolation.
    static func referenceRFC3339(_ nanos: Int64) -> String {
        let c = Format.civil(nanos)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let y = String(c.year.magnitude)
        let year = (c.year < 0 ? "-" : "") + String(repeating: "0", count: max(0, 4 - y.count)) + y
        let frac = String(c.nanos)
        return "\(year)-\(two(c.month))-\(two(c.day))T\(two(c.hour)):\(two(c.minute)):\(two(c.second))."
            + String(repeating: "0", count: 9 - frac.count) + frac + "Z"
    }

    /// RFC 4648 base64 of an array, as `CommunityID` wrote it before it hashed on the stack.
    static func referenceBase64(_ data: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
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

    /// The reference: what CommunityID and uid computed before they moved to stack buffers
    /// (arrays of bytes, ordered by `lexicographicallyPrecedes`, `SHA1.hash` of the array).
    static func referenceInput(_ x: SocketAddress, _ y: SocketAddress) -> [UInt8] {
        func bytes(_ a: IPAddress) -> [UInt8] {
            if !a.isIPv6 {
                let v = UInt32(truncatingIfNeeded: a.low)
                return [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
            }
            return (0..<8).map { UInt8(truncatingIfNeeded: a.high >> UInt64(56 - 8 * $0)) }
                + (0..<8).map { UInt8(truncatingIfNeeded: a.low >> UInt64(56 - 8 * $0)) }
        }
        var a = x, b = y
        let ax = bytes(x.address), bx = bytes(y.address)
        if !(ax.lexicographicallyPrecedes(bx) || (ax == bx && x.port < y.port)) { swap(&a, &b) }
        return [0, 0] + bytes(a.address) + bytes(b.address)
            + [6, 0, UInt8(a.port >> 8), UInt8(truncatingIfNeeded: a.port), UInt8(b.port >> 8), UInt8(truncatingIfNeeded: b.port)]
    }

    static func referenceUID(_ x: SocketAddress, _ y: SocketAddress, _ t: Int64, _ incarnation: UInt32) -> String {
        var input = referenceInput(x, y)
        for i in 0..<8 { input.append(UInt8(truncatingIfNeeded: UInt64(bitPattern: t) >> UInt64(56 - 8 * i))) }
        for i in 0..<4 { input.append(UInt8(truncatingIfNeeded: incarnation >> UInt32(24 - 8 * i))) }
        let digest = SHA1.hash(input)
        var limbs = (0..<3).map { j in (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(digest[4 * j + $1]) } }
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
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

    @Test func communityIDAndUIDMatchTheArrayReferenceForEveryAddressOrder() {
        let addresses = [
            IPAddress(ipv4: 0x0a00_0001), IPAddress(ipv4: 0x0a00_0002), IPAddress(ipv4: 0xffff_ffff), IPAddress(ipv4: 0),
            IPAddress(ipv6High: 0x2001_0db8_0000_0000, low: 1), IPAddress(ipv6High: 0x2001_0db8_0000_0000, low: 2),
            IPAddress(ipv6High: 0x0a00_0001_0000_0000, low: 0),  // begins with the bytes of 10.0.0.1
            IPAddress(ipv6High: 0, low: 1)
        ]
        for a in addresses {
            for b in addresses {
                for (p, q) in [(80, 443), (443, 80), (5, 5)] as [(UInt16, UInt16)] {
                    let x = SocketAddress(a, p), y = SocketAddress(b, q)
                    let input = Self.referenceInput(x, y)
                    #expect(CommunityID.input(x, y, seed: 0).bytes == input, "\(x) \(y)")
                    let id = "1:" + Self.referenceBase64(SHA1.hash(input))
                    #expect(CommunityID.v1(x, y) == id)
                    #expect(Self.line { $0.communityID(x, y) } == "\"" + id + "\"")
                    for (t, n) in [(0, 1), (1_700_000_000_123_456_789, 2), (-5, UInt32.max)] as [(Int64, UInt32)] {
                        #expect(ConnectionUID.make(x, y, firstTime: t, incarnation: n) == Self.referenceUID(x, y, t, n))
                    }
                }
            }
        }
    }
}
