import Foundation
import Testing

/// tcpdump's habits: `-i N` with the number `interfaces` prints, `-c`, `-w`, `-s`; and `live` says
/// which format it writes when standard output is a pipe.
@Suite struct LiveMannersTests {
    static let needsRoot = "capturing needs root (or cap_net_raw): run the suite as root"

    @Test(.enabled(if: LiveEnv.isRoot, Comment(rawValue: needsRoot)))
    func theInterfaceNumberAndShortFlagsMeanWhatTcpdumpsDo() throws {
        let dir = try LiveEnv.scratch("manners")
        defer { LiveEnv.remove(dir) }
        let list = try Child.run(["interfaces"], in: dir)
        let lo = try #require(list.stdout.split(separator: "\n").first { $0.contains(" lo ") }, "\(list.stdout)")
        let number = String(lo.prefix { $0.isNumber })
        let pcap = dir.appendingPathComponent("saved.pcap").path
        let r = try Child.run(["live", "-i", number, "-n", "-s", "128", "-c", "1", "-w", pcap, "--filter", "tcp port 9",
                               "--duration", "0.3"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("listening on lo, link-type EN10MB, snapshot length 128 bytes"), "\(r.stderr)")
        #expect(r.stderr.contains("writing \(pcap)"))
        // Standard output is a pipe here: it says so, once, before the records.
        #expect(r.stderr.contains("standard output is not a terminal: writing JSON Lines"))
        #expect(r.stdout.contains("\"type\":\"summary\""))
        #expect(FileManager.default.fileExists(atPath: pcap))
        let explicit = try Child.run(["live", "-i", "lo", "--format", "jsonl", "--filter", "tcp port 9", "--duration", "0.2"], in: dir)
        #expect(!explicit.stderr.contains("not a terminal"), "asked for jsonl: nothing to explain")
    }
}
