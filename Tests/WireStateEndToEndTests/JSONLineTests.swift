import Testing
@testable import WireStateReport
import WireStateDecoder

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
}
