import Foundation
import Testing
import WireStateCapture
import WireStateDecoder

/// Never crash on any bytes: every prefix and many corruptions of real frames, under every link type.
@Suite struct DecoderRobustnessTests {
    static func realFrames() throws -> [[UInt8]] {
        var frames: [[UInt8]] = []
        for name in ["eth-qinq", "ipv6-ext", "sll2", "tcp-options", "tfo", "ipv4-options"] {
            let file = try PcapFile(path: TsharkOracleTests.dir.appendingPathComponent(name + ".pcap").path)
            while let f = try file.next() { frames.append(Array(f.bytes)) }
        }
        return frames
    }

    @Test func everyPrefixOfEveryRealFrameDecodesWithoutCrashing() throws {
        var outcomes = 0
        for frame in try Self.realFrames() {
            for cut in 0...frame.count {
                for link in LinkType.allCases {
                    frame.prefix(cut).withUnsafeBytes { raw in
                        _ = PacketDecoder.decode(raw, wireLength: frame.count, linkType: link)
                        outcomes += 1
                    }
                }
            }
        }
        #expect(outcomes > 10_000)
    }

    @Test func randomCorruptionsNeverCrashAndShortHeadersAreTruncated() throws {
        var rng = SystemRandomNumberGenerator()
        var tcp = 0, other = 0
        for frame in try Self.realFrames() {
            for _ in 0..<40 {
                var bytes = frame
                for _ in 0..<Int.random(in: 1...6, using: &rng) where !bytes.isEmpty {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
                let wire = Int.random(in: 0...(bytes.count * 2), using: &rng)
                let r = bytes.withUnsafeBytes { PacketDecoder.decode($0, wireLength: wire, linkType: .ethernet) }
                if case .tcp(let s) = r {
                    tcp += 1
                    #expect(s.headerLength >= 20 && s.headerLength <= 60)
                    #expect(s.capturedPayloadLength <= s.payloadLength)
                } else {
                    other += 1
                }
            }
        }
        #expect(tcp + other > 1000)
        let short: [UInt8] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00, 0x45, 0]
        short.withUnsafeBytes { #expect(PacketDecoder.decode($0, wireLength: 60, linkType: .ethernet) == .truncated(.ipHeader)) }
    }

    /// Field-level checks on hand-built headers, for cases no capture isolates.
    @Test func badDataOffsetAndBadOptionLengthsAreCaught() {
        var ip: [UInt8] = [0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]
        var tcp: [UInt8] = [0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x40, 0x02, 0xff, 0xff, 0, 0, 0, 0]
        (ip + tcp).withUnsafeBytes {
            #expect(PacketDecoder.decode($0, wireLength: 40, linkType: .ipv4) == .malformed(.badTCPDataOffset))
        }
        // Data offset 6 with an MSS option claiming length 9.
        ip[3] = 44
        tcp[12] = 0x60
        tcp += [2, 9, 5, 0xb4]
        (ip + tcp).withUnsafeBytes {
            guard case .tcp(let s) = PacketDecoder.decode($0, wireLength: 44, linkType: .ipv4) else {
                Issue.record("expected a segment"); return
            }
            #expect(s.options.malformed)
            #expect(s.options.mss == nil)
        }
    }

    @Test func ipv6AndIPv4AddressesFormatCanonically() {
        #expect(IPAddress("fd00::1")!.description == "fd00::1")
        #expect(IPAddress("::1")!.description == "::1")
        #expect(IPAddress("2001:db8:0:0:1:0:0:1")!.description == "2001:db8::1:0:0:1")
        #expect(IPAddress("127.0.0.1")!.description == "127.0.0.1")
        #expect(SocketAddress(IPAddress("::1")!, 80).description == "[::1]:80")
        #expect(IPAddress("1::2::3") == nil)
    }
}
