#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import WireStateDecoder
import WireStateReport
import WireStateTracker

/// The bench's subcommands for scripts/benchmark.py.
enum Subcommands {
    /// `generate FILE [--seed S] [--packets N] [--snaplen L] [--spacing-us U] [--vlan-share F]`:
    /// writes the realistic capture (Generator) and prints what it holds as one JSON object.
    static func generate(_ args: [String]) -> Never {
        var o = Generator.Options()
        var path: String?
        var i = 0
        func value() -> String? { i += 1; return i < args.count ? args[i] : nil }
        while i < args.count {
            switch args[i] {
            case "--seed": o.seed = value().flatMap { UInt64($0) } ?? o.seed
            case "--packets": o.packets = value().flatMap { Int($0) }.map { max(1, $0) } ?? o.packets
            case "--snaplen": o.snaplen = value().flatMap { Int($0) }.map { min(max(64, $0), 262_144) } ?? o.snaplen
            case "--spacing-us": o.spacing = value().flatMap { Int64($0) }.map { max(1, $0) * 1000 } ?? o.spacing
            case "--vlan-share": o.vlanShare = value().flatMap { Double($0) } ?? o.vlanShare
            default: path = args[i]
            }
            i += 1
        }
        guard let path else {
            print("usage: wirestate-bench generate FILE [--seed S] [--packets N] [--snaplen L] [--spacing-us U] [--vlan-share F]")
            exit(2)
        }
        let captures =
            FileManager.default.fileExists(atPath: "Captures")
            ? "Captures"
            : URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Captures").path
        do {
            let r = try Generator.write(try Generator.loadTemplates(captures), o, to: path)
            print(
                "{\"packets\":\(r.packets),\"connections\":\(r.connections),\"bytes\":\(r.bytes),\"ipv6_connections\":\(r.ipv6),"
                    + "\"vlan_connections\":\(r.vlan),\"seed\":\(o.seed),\"snaplen\":\(o.snaplen)}")
            exit(0)
        } catch {
            print("wirestate-bench: \(error)")
            exit(2)
        }
    }

    /// `layout`: what one tracked connection costs, from MemoryLayout.
    static func layout() -> Never {
        print(
            "{\"bytes_per_tracked_connection\":\(ConnectionTracker.bytesPerConnection),"
                + "\"tracker_event\":\(MemoryLayout<TrackerEvent>.stride),\"connection_summary\":\(MemoryLayout<ConnectionSummary>.stride),"
                + "\"transition\":\(MemoryLayout<Transition>.stride),\"anomaly\":\(MemoryLayout<Anomaly>.stride),"
                + "\"tcp_segment\":\(MemoryLayout<TCPSegment>.stride),\"text_row\":\(MemoryLayout<TextRow>.stride)}")
        exit(0)
    }
}
