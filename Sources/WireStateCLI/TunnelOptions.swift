import ArgumentParser
import WireStateDecoder

/// Which UDP ports carry tunnels, shared by every subcommand that decodes packets. Ports are added
/// to the IANA defaults (VXLAN 4789, Geneve 6081, GTP-U 2152, Teredo 3544, AYIYA 5072), because a
/// capture can hold both (Linux's VXLAN driver defaults to 8472).
struct TunnelOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Also decode a UDP tunnel on a port: KIND=PORT, KIND one of "
                + UDPTunnel.allCases.map(\.name).joined(separator: ", ") + " (repeatable).", valueName: "kind=port"))
    var tunnelPort: [String] = []

    @Option(name: .long, help: ArgumentHelp("Also decode VXLAN on this UDP port (repeatable).", valueName: "port"))
    var vxlanPort: [UInt16] = []

    @Option(name: .long, help: ArgumentHelp("Also decode Geneve on this UDP port (repeatable).", valueName: "port"))
    var genevePort: [UInt16] = []

    @Option(name: .long, help: ArgumentHelp("Also decode GTP-U on this UDP port (repeatable).", valueName: "port"))
    var gtpuPort: [UInt16] = []

    @Flag(name: .long, help: "Do not look inside UDP tunnels at all.")
    var noUdpTunnels = false

    func validate() throws { _ = try parsedPorts() }

    var ports: TunnelPorts { (try? parsedPorts()) ?? TunnelPorts() }

    func parsedPorts() throws -> TunnelPorts {
        var p = noUdpTunnels ? TunnelPorts.none : TunnelPorts()
        for spec in tunnelPort {
            let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let kind = UDPTunnel(name: parts[0]) else {
                throw ValidationError(
                    "--tunnel-port \(spec): expected KIND=PORT with KIND one of "
                        + UDPTunnel.allCases.map(\.name).joined(separator: ", "))
            }
            guard let port = UInt16(parts[1]), port > 0 else {
                throw ValidationError("--tunnel-port \(spec): the port must be 1…65535")
            }
            try add(kind, port, to: &p)
        }
        for port in vxlanPort { try add(.vxlan, port, to: &p) }
        for port in genevePort { try add(.geneve, port, to: &p) }
        for port in gtpuPort { try add(.gtpU, port, to: &p) }
        return p
    }

    private func add(_ kind: UDPTunnel, _ port: UInt16, to p: inout TunnelPorts) throws {
        guard p.add(kind, port: port) else {
            throw ValidationError("at most \(TunnelPorts.capacity) tunnel ports (the 5 standard ones included)")
        }
    }
}
