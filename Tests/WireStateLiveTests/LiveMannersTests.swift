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
        let r = try Child.run(
            [
                "live", "-i", number, "-n", "-s", "128", "-c", "1", "-w", pcap, "--filter", "tcp port 9",
                "--duration", "0.3"
            ], in: dir)
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

    /// On a terminal (a pty), a refused connection's anomaly line is in its severity's colour and the
    /// client's entry into SYN_SENT in the stuck-state colour; NO_COLOR turns both off.
    @Test(.enabled(if: LiveEnv.isRoot, Comment(rawValue: needsRoot)))
    func colourOnATerminal() throws {
        let dir = try LiveEnv.scratch("colour")
        defer { LiveEnv.remove(dir) }
        let helper = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/terminal/pty-run.py").path
        let binary = try #require(LiveEnv.binary).path
        // Two connection attempts to port 9 (nothing listens: refused) while live runs on the pty.
        let knock =
            "import socket,time\ntime.sleep(1.2)\nfor i in range(2):\n s=socket.socket()\n try: s.connect(('127.0.0.1',9))\n except OSError: pass\n s.close()"
        func run(_ noColor: String) throws -> String {
            let script = "(python3 -c \"$1\" &) ; exec python3 \"$0\" --env NO_COLOR=\(noColor) -- \"$2\" live -i lo --filter 'tcp port 9' --duration 2.5"
            let r = try Child.run(["-c", script, helper, knock, binary], executable: "/bin/sh", in: dir, timeout: 30)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stderr)")
            return json["output"] as? String ?? ""
        }
        let coloured = try run("")
        #expect(coloured.contains("\u{1b}[2m") && coloured.contains("refused (notable)"), "\(coloured)")
        #expect(coloured.contains("\u{1b}[33m"), "SYN_SENT in yellow: \(coloured)")
        let plain = try run("1")
        #expect(plain.contains("refused (notable)"))
        #expect(!plain.contains("\u{1b}["), "\(plain)")
    }
}
