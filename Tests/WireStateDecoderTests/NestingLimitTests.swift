import Testing
import WireStateDecoder

/// The decoder's nesting limits: a crafted frame must end in a counted refusal, never in a loop
/// or a crash (docs/encapsulations.md: ≤ 4 tunnels, ≤ 16 headers, ≤ 16 MPLS labels).
@Suite struct NestingLimitTests {
    /// A bare TCP SYN from 10.0.0.1:1000 to 10.0.0.2:80.
    static let tcp: [UInt8] = [0x03, 0xE8, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xFF, 0xFF, 0, 0, 0, 0]

    static func ipv4(_ proto: UInt8, _ payload: [UInt8], src: UInt8 = 1, dst: UInt8 = 2) -> [UInt8] {
        let length = 20 + payload.count
        return [
            0x45, 0, UInt8(length >> 8), UInt8(length & 0xFF), 0, 0, 0x40, 0, 64, proto, 0, 0,
            10, 0, 0, src, 10, 0, 0, dst
        ] + payload
    }

    static func decode(_ bytes: [UInt8], _ link: LinkType = .raw) -> DecodeResult {
        bytes.withUnsafeBytes { PacketDecoder.decode($0, wireLength: bytes.count, linkType: link) }
    }

    @Test func fourIPTunnelsDecodeAndAFifthIsRefused() {
        var packet = Self.ipv4(6, Self.tcp)
        for _ in 0..<4 { packet = Self.ipv4(4, packet) }
        guard case .tcp(let s) = Self.decode(packet) else { Issue.record("four tunnels must decode"); return }
        #expect(s.tunnel.count == 4)
        #expect(s.destination.port == 80)
        packet = Self.ipv4(4, packet)
        #expect(Self.decode(packet) == .malformed(.tooDeeplyNested))
    }

    @Test func pseudowireLoopStopsAtTheHeaderBudget() {
        // Ethernet → MPLS → control word → Ethernet → MPLS → … (Suricata's Ethernet↔MPLS recursion).
        let mac: [UInt8] = [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6]
        var frame = mac + [0x08, 0x00] + Self.ipv4(6, Self.tcp)
        for _ in 0..<20 { frame = mac + [0x88, 0x47, 0x00, 0x01, 0x01, 0x40, 0, 0, 0, 0] + frame }
        #expect(Self.decode(frame, .ethernet) == .malformed(.tooDeeplyNested))
        var decoder = PacketDecoder(linkType: .ethernet)
        _ = frame.withUnsafeBytes { decoder.decode($0, wireLength: frame.count, frame: 9) }
        #expect(decoder.counters.encapsulations.skipped(.tooDeep).firstFrame == 9)
        #expect(decoder.counters.malformed.count == 1)
    }

    @Test func unterminatedLabelStackIsRefused() {
        let mac: [UInt8] = [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6]
        let labels = [UInt8](repeating: 0, count: 4 * 17)  // 17 entries, none bottom-of-stack
        #expect(Self.decode(mac + [0x88, 0x47] + labels + Self.ipv4(6, Self.tcp), .ethernet) == .malformed(.tooDeeplyNested))
        #expect(Self.decode(mac + [0x88, 0x47] + labels.prefix(12), .ethernet) == .truncated(.linkHeader))
    }

    @Test func truncatedTunnelHeadersNeverReadPastTheCapture() {
        // Every prefix of a GTP-U-with-extension and a Geneve-with-options packet: no crash, and
        // only the whole packet is TCP.
        let gtp: [UInt8] = [0x36, 0xFF, 0, 0, 0, 0, 0x10, 0x01, 0, 1, 0, 0x85, 1, 0, 9, 0] + Self.ipv4(6, Self.tcp)
        let geneve: [UInt8] = [0x02, 0, 0x08, 0x00, 0, 0, 0x42, 0, 1, 2, 0x80, 1, 1, 2, 3, 4] + Self.ipv4(6, Self.tcp)
        for (port, body) in [(UInt16(2152), gtp), (6081, geneve)] {
            let udp: [UInt8] = [0x9C, 0x40, UInt8(port >> 8), UInt8(port & 0xFF), 0, 0, 0, 0] + body
            let whole = Self.ipv4(17, udp, src: 9, dst: 8)
            guard case .tcp = Self.decode(whole) else { Issue.record("port \(port): whole packet must decode"); continue }
            for cut in 20..<whole.count {
                if case .tcp = Self.decode(Array(whole.prefix(cut))) { Issue.record("port \(port): cut at \(cut) decoded") }
            }
        }
    }
}
