import Foundation
import Testing
import WireStateCapture
import WireStateDecoder
import WireStatePipeline
import WireStateReport
import WireStateTracker

/// Connections inside tunnels, end to end (file → decoder → tracker → reports), on the tunnel
/// fixtures of Tests/Fixtures/decoder: each wraps a real recorded conversation, so the plain
/// recording is the reference for what the tunnelled one must show.
@Suite struct TunnelConnectionTests {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/decoder")

    static func analyse(_ names: [String], ports: TunnelPorts = TunnelPorts()) throws
        -> (connections: [ConnectionSummary], inputs: [InputReport])
    {
        let r = try analyseWithTunnels(names, ports: ports)
        return (r.connections, r.inputs)
    }

    /// Connections with their tunnel paths resolved from the run's table.
    static func analyseWithTunnels(_ names: [String], ports: TunnelPorts = TunnelPorts()) throws
        -> (connections: [ConnectionSummary], tunnels: [TunnelPath], inputs: [InputReport])
    {
        var pipeline = Pipeline(tunnelPorts: ports, sink: AnalysisCollector())
        for n in names { pipeline.run(try PcapFile(path: dir.appendingPathComponent(n + ".pcap").path)) }
        pipeline.finish()
        let c = pipeline.sink.sortedConnections
        return (c, c.map(pipeline.sink.tunnel(of:)), pipeline.inputs)
    }

    /// What identifies a connection's outcome, tunnel aside.
    static func outcome(_ c: ConnectionSummary) -> String {
        "\(c.client) \(c.server) \(c.clientState.name)/\(c.serverState.name) \(c.packetsFromClient)/\(c.packetsFromServer)"
    }

    /// Each fixture and the plain recordings it wraps.
    static let sources: [String: [String]] = [
        "tun-pbb": ["eth"], "tun-mpls-pw": ["eth"], "tun-gre-teb": ["eth"], "tun-erspan": ["eth"], "tun-erspan-type1": ["eth"],
        "tun-mpls": ["eth", "ipv6"], "tun-pppoe": ["eth", "ipv6"], "tun-llc-snap": ["eth", "ipv6"],
        "fddi": ["eth", "ipv6"], "tun-ipip": ["eth", "ipv6"], "tun-ipip-same": ["eth", "ipv6"], "tun-gre": ["eth", "ipv6"], "tun-gtpu": ["eth", "ipv6"],
        "tun-teredo": ["ipv6"], "tun-ayiya": ["ipv6"], "tun-nested": ["ipv6"]
    ]

    @Test(arguments: sources.keys.sorted())
    func tunnelledConnectionsEndLikeThePlainRecording(_ name: String) throws {
        let plain = try Self.sources[name]!.flatMap { try Self.analyse([$0]).connections }.map(Self.outcome)
        let (tunnelled, paths, _) = try Self.analyseWithTunnels([name])
        #expect(!plain.isEmpty)
        // One connection per plain one: per-direction ids (GRE keys 7/8, GTP-U TEIDs) do not split it.
        #expect(tunnelled.map(Self.outcome).sorted() == plain.sorted(), "\(name)")
        let linkOnly: Set<String> = ["tun-mpls", "tun-mpls-pw", "tun-llc-snap", "fddi"]
        for (c, path) in zip(tunnelled, paths) {
            #expect(path.isEmpty == linkOnly.contains(name), "\(name): tunnel \(path.text)")
            #expect((c.tunnelID == 0) == path.isEmpty)
        }
    }

    @Test func sameInnerTupleInTwoVNIsIsTwoConnections() throws {
        let plain = try Self.analyse(["eth"]).connections
        let (connections, paths, _) = try Self.analyseWithTunnels(["tun-vxlan-two-vnis"])
        try #require(plain.count == 1)
        #expect(connections.count == 2)
        #expect(Set(paths.map { $0.layers.first?.id }) == [42, 43])
        for (c, path) in zip(connections, paths) {
            #expect(Self.outcome(c) == Self.outcome(plain[0]))
            #expect(path.layers.map(\.kind) == [.vxlan])
        }
        // Reports tell them apart: the JSON Lines writer as the pipeline's own sink.
        var pipeline = Pipeline(sink: JSONLinesWriter(out: StringSink()))
        pipeline.runFile(Self.dir.appendingPathComponent("tun-vxlan-two-vnis.pcap").path)
        pipeline.finish()
        let text = pipeline.sink.out.text
        #expect(text.contains("\"tunnel\":[{\"type\":\"vxlan\",\"vni\":42}]"))
        #expect(text.contains("\"tunnel\":[{\"type\":\"vxlan\",\"vni\":43}]"))
    }

    @Test func recordedVXLANConnectionCarriesItsVNI() throws {
        let (connections, paths, inputs) = try Self.analyseWithTunnels(["vxlan-recorded"])
        try #require(connections.count == 1)
        #expect(paths[0].text == "vxlan vni 42")
        #expect(connections[0].clientState == .timeWait && connections[0].serverState == .closed)
        // Every frame of the recording went through VXLAN (ARP, neighbour discovery, TCP).
        let rows = try String(contentsOf: Self.dir.appendingPathComponent("vxlan-recorded.expected.tsv"), encoding: .utf8)
            .split(separator: "\n").dropFirst()
        #expect(inputs[0].counters.encapsulations.decoded(.vxlan).count == UInt64(rows.count))
        #expect(inputs[0].counters.tcp.count == UInt64(rows.filter { $0.contains(":tcp") }.count))
    }

    @Test func linuxDefaultVXLANPortIsDecodedOnlyWhenConfigured() throws {
        // The same recording with the VXLAN port rewritten is the Linux-default (8472) case: a
        // user port must be added for it. Here: with no UDP tunnels, nothing is TCP.
        let (none, inputs) = try Self.analyse(["vxlan-recorded"], ports: .none)
        #expect(none.isEmpty)
        #expect(inputs[0].counters.notTCP.count == inputs[0].counters.frames)
        var vxlanOnly = TunnelPorts.none
        vxlanOnly.add(.vxlan, port: 4789)
        #expect(try Self.analyse(["vxlan-recorded"], ports: vxlanOnly).connections.count == 1)
    }

    @Test func skippedEncapsulationsNameReasonAndFirstFrame() throws {
        func firstFrame(_ fixture: String, where pick: (String) -> Bool) throws -> UInt64 {
            let lines = try String(contentsOf: Self.dir.appendingPathComponent(fixture + ".expected.tsv"), encoding: .utf8)
                .split(separator: "\n").dropFirst()
            return UInt64(try #require(lines.first { pick(String($0)) }).split(separator: "\t")[0])!
        }
        let (_, gre) = try Self.analyse(["tun-gre"])
        let pptp = try firstFrame("tun-gre") { $0.contains(":gre:ppp") || $0.contains(":pptp") || !$0.contains(":gre:i") }
        #expect(gre[0].counters.encapsulations.skipped(.greVersion1).count == 1)
        #expect(gre[0].counters.encapsulations.skipped(.greVersion1).firstFrame == pptp)
        let text = RunTotals().text(inputs: gre)
        #expect(text.contains("Not decoded: GRE version 1 (PPTP) not decoded, 1 frame, first at frame \(pptp)"))
        #expect(text.contains("Encapsulations: GRE \(gre[0].counters.frames)"))

        let (_, gtp) = try Self.analyse(["tun-gtpu"])
        let echo = try firstFrame("tun-gtpu") { !$0.contains(":gtp:ip") }
        #expect(gtp[0].counters.encapsulations.skipped(.gtpNotUserData).firstFrame == echo)
        var json = JSONLinesWriter(out: StringSink())
        json.writeEnd(inputs: gtp)
        #expect(json.out.text.contains("{\"reason\":\"gtp_not_user_data\""))
        #expect(json.out.text.contains("\"gtp_u\":{\"frames\":\(gtp[0].counters.frames),\"first_frame\":1}"))
    }
}
