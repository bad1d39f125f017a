import CPcap
import Foundation
import Testing
import WireStateCapture

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// `live` keeps up with a burst: the frames of a real recording are injected onto loopback with
/// libpcap (`pcap_inject`, as tcpreplay does) as fast as the kernel takes them, while
/// `wirestate live --format jsonl --write FILE` captures them. Every frame must be captured and
/// saved, with no kernel drop: the capture thread only copies frames into its ring, and the
/// analysis and the file follow behind. (Reading on the analysis thread in immediate mode lost
/// most of such a burst: a 32 MiB buffer holds 128 snapshot-length slots.)
@Suite(.serialized, .timeLimit(.minutes(2)))
struct LiveBurstTests {
    static let needsRoot = "live capture needs root (or cap_net_raw)"

    /// The recording replayed: its frames carry port 47007, which the live filter selects.
    static let recording = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Captures/multi.pcap").standardized.path

    /// On one thread, and with the tracking on worker threads (`--threads 2`).
    @Test(.enabled(if: LiveEnv.isRoot, Comment(rawValue: needsRoot)), arguments: [1, 2])
    func aBurstOnLoopbackIsCapturedWholeAndSaved(threads: Int) throws {
        let dir = try LiveEnv.scratch("burst-\(threads)")
        defer { LiveEnv.remove(dir) }
        let saved = dir.appendingPathComponent("burst.pcap").path
        let live = try Child(
            ["live", "-i", "lo", "--filter", "tcp port 47007", "--format", "jsonl", "--write", saved, "--threads", "\(threads)"],
            in: dir)
        try live.waitUntilListening()
        defer { if live.isRunning { live.signal(SIGKILL) } }

        // The recording's frames, in memory, then injected 1,000 times over (51,000 frames).
        let file = try PcapFile(path: Self.recording)
        var frames: [[UInt8]] = []
        while let f = try file.next() { frames.append(Array(f.bytes)) }
        try #require(frames.count == 51)
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        let out = try #require(pcap_open_live("lo", 65535, 0, 100, &errbuf), "pcap_open_live: \(String(cString: errbuf))")
        defer { pcap_close(out) }
        let rounds = 1000
        let start = LiveEnv.monotonic()
        var injected = 0
        for _ in 0..<rounds {  // bounded: 51,000 frames
            for f in frames where f.withUnsafeBytes({ pcap_inject(out, $0.baseAddress, $0.count) }) == Int32(f.count) {
                injected += 1
            }
        }
        let seconds = LiveEnv.monotonic() - start
        #expect(injected == rounds * frames.count, "pcap_inject refused \(rounds * frames.count - injected) frames")

        // Let the analysis catch up (bounded), then stop it.
        _ = live.waitFor(30, poll: 0.05) { _ in Self.quiet(saved, for: injected) }
        live.signal(SIGINT)
        let status = live.exitStatus(within: 60)
        #expect(status == 0, "stderr: \(live.stderr)")
        let records = try JSONL.parse(live.stdout)
        let capture = try #require(records.first { $0.string("type") == "capture" }, "no capture record")
        #expect(capture.int("dropped_by_kernel") == 0, "kernel drops: \(live.stderr)")
        #expect(capture.int("frames") == injected)
        let summary = try #require(records.last)
        #expect(summary.int("frames") == injected)

        // The saved file holds the same frames, byte for byte, in order.
        let replay = try PcapFile(path: saved)
        var n = 0
        var same = true
        while let f = try replay.next() {
            if same && Array(f.bytes) != frames[n % frames.count] { same = false }
            n += 1
        }
        #expect(n == injected)
        #expect(same, "a saved frame differs from the one injected")
        print(
            "[live-test] burst: \(injected) frames injected in \(Int(seconds * 1000)) ms "
                + "(\(Int(Double(injected) / seconds)) frames/s); captured \(capture.int("frames") ?? -1), "
                + "kernel drops \(capture.int("dropped_by_kernel") ?? -1)")
    }

    /// Whether the saved file has reached `count` frames (its size stops growing once it has).
    static func quiet(_ path: String, for count: Int) -> Bool {
        guard let f = try? PcapFile(path: path) else { return false }
        var n = 0
        while (try? f.next()) != nil, n < count { n += 1 }
        return n >= count
    }
}
