import Testing
import WireStateDecoder

/// The tunnel half of the tshark oracle: which IP header is innermost, and whether the tunnel
/// identities the decoder put in the segment's path are the ones tshark dissected.
extension TsharkOracleTests {
    /// The addresses of the IP header just before TCP. tshark lists every IP layer's fields in
    /// dissection order (`-E occurrence=a`); `frame.protocols` says which family that header is and
    /// how many of its family came before it.
    static func innermostAddresses(_ row: [String: String]) -> (String, String) {
        let layers = row["frame.protocols"]!.split(separator: ":").map(String.init)
        let beforeTCP = layers.prefix(while: { $0 != "tcp" })
        let family = beforeTCP.last(where: { $0 == "ip" || $0 == "ipv6" }) ?? "ip"
        // ICMP quotes an IP header too, but never before a TCP layer of its own.
        let k = beforeTCP.filter { $0 == family }.count - 1
        func pick(_ field: String) -> String {
            let values = row[field]!.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            return k >= 0 && k < values.count ? values[k] : values.last ?? ""
        }
        return (pick(family + ".src"), pick(family + ".dst"))
    }

    static func number(_ text: String) -> UInt32? {
        let t = text.split(separator: ",").last.map(String.init) ?? text
        if t.hasPrefix("0x") { return UInt32(t.dropFirst(2), radix: 16) }
        return UInt32(t)
    }

    /// Every tunnel id tshark shows must be in the path, with the same value.
    static func checkTunnel(_ row: [String: String], _ s: TCPSegment, _ where_: String) {
        let layers = s.tunnel.layers
        func layer(_ kind: TunnelKind) -> TunnelLayer? { layers.last { $0.kind == kind } }
        let shared: [(String, TunnelKind)] = [
            ("vxlan.vni", .vxlan), ("geneve.vni", .geneve), ("ieee8021ah.isid", .pbb),
            ("pppoe.session_id", .pppoe), ("erspan.spanid", .erspan)
        ]
        for (field, kind) in shared {
            guard let text = row[field], !text.isEmpty else { continue }
            #expect(layer(kind)?.id == number(text), "\(where_): \(field) \(text), path \(s.tunnel.text)")
        }
        let directional: [(String, TunnelKind)] = [("gtp.teid", .gtpU), ("gre.key", .gre)]
        for (field, kind) in directional {
            guard let text = row[field], !text.isEmpty else { continue }
            #expect(layer(kind)?.directionalID == number(text), "\(where_): \(field) \(text), path \(s.tunnel.text)")
        }
        if row["frame.protocols"]!.contains(":udp:vxlan:") { #expect(layer(.vxlan) != nil, "\(where_): VXLAN layer") }
        if row["frame.protocols"]!.contains(":teredo:") { #expect(layer(.teredo) != nil, "\(where_): Teredo layer") }
        if row["frame.protocols"]!.contains(":ayiya:") { #expect(layer(.ayiya) != nil, "\(where_): AYIYA layer") }
        let ipLayers = row["frame.protocols"]!.split(separator: ":").filter { $0 == "ip" || $0 == "ipv6" }.count
        if ipLayers >= 2 && !row["frame.protocols"]!.contains("icmp") {
            #expect(!s.tunnel.isEmpty, "\(where_): IP inside IP, no tunnel recorded")
        }
    }
}
