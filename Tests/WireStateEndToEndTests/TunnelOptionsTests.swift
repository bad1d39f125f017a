import Foundation
import Testing

/// `--tunnel-port` and friends, through the real `wirestate` binary.
@Suite struct TunnelOptionsTests {
    static let recorded = TunnelConnectionTests.dir.appendingPathComponent("vxlan-recorded.pcap").path
    static let multi = TunnelConnectionTests.dir.appendingPathComponent("multi-interface.pcapng").path

    @Test func udpTunnelsCanBeTurnedOffAndBackOnPerPort() throws {
        let off = try WireStateBinary.run(["analyze", "--no-udp-tunnels", Self.recorded])
        #expect(off.status == 0)
        #expect(off.stdout.contains("Totals: 0 connections"))
        let on = try WireStateBinary.run(["analyze", "--no-udp-tunnels", "--tunnel-port", "vxlan=4789", Self.recorded])
        #expect(on.stdout.contains("Totals: 1 connection "))
        #expect(on.stdout.contains("[vxlan vni 42]"))
        // The port given to another kind no longer means VXLAN.
        let other = try WireStateBinary.run(["analyze", "--gtpu-port", "4789", Self.recorded])
        #expect(other.stdout.contains("Totals: 0 connections"))
    }

    /// Every format decodes the same tunnels: `--format zeek` once ignored the tunnel options.
    @Test func tunnelOptionsHoldInEveryFormat() throws {
        for format in ["text", "jsonl", "zeek"] {
            let off = try WireStateBinary.run(["analyze", "--format", format, "--no-udp-tunnels", Self.recorded])
            let on = try WireStateBinary.run(["analyze", "--format", format, "--no-udp-tunnels", "--tunnel-port", "vxlan=4789", Self.recorded])
            #expect(off.status == 0 && on.status == 0, "\(format)")
            #expect(on.stdout.contains("10.") && on.stdout != off.stdout, "\(format): the tunnel options changed nothing")
        }
        let zeekOff = try WireStateBinary.run(["analyze", "--format", "zeek", "--no-udp-tunnels", Self.recorded])
        #expect(!zeekOff.stdout.split(separator: "\n").contains { !$0.hasPrefix("#") }, "no connection without the tunnel")
    }

    @Test func badTunnelPortIsAUsageError() throws {
        let r = try WireStateBinary.run(["analyze", "--tunnel-port", "mpls=6635", Self.recorded])
        #expect(r.status != 0)
        #expect(r.stderr.contains("expected KIND=PORT"))
        let zero = try WireStateBinary.run(["analyze", "--tunnel-port", "vxlan=0", Self.recorded])
        #expect(zero.status != 0)
    }

    @Test func multiInterfacePcapngIsAnalysedByTheCommand() throws {
        let r = try WireStateBinary.run(["analyze", "--format", "jsonl", Self.multi])
        #expect(r.status == 0)
        #expect(r.stdout.contains("\"link_type\":\"EN10MB+RAW+LINUX_SLL\""))
        #expect(r.stdout.contains("\"complete\":true"))
        let filtered = try WireStateBinary.run(["analyze", "--filter", "tcp", Self.multi])
        #expect(filtered.status == 2)
        #expect(filtered.stderr.contains("run without --filter"))
    }
}
