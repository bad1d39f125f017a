import Foundation
import Testing

/// `wirestate live --diagnose`: a CLOSE_WAIT leak on loopback is reported while the capture runs,
/// as soon as it has been held for --stuck-after, on a quiet wire (no packet moves time on).
@Suite(.serialized, .timeLimit(.minutes(2)))
struct LiveDiagnoseTests {
    @Test(.enabled(if: LiveEnv.isRoot, Comment(rawValue: LiveCommandTests.needsRoot)))
    func closeWaitLeakIsReportedWhileTheCaptureRuns() throws {
        let dir = try LiveEnv.scratch("diagnose")
        defer { LiveEnv.remove(dir) }
        let port = try Net.freePort()
        let live = try Child(
            [
                "live", "-i", "lo", "--filter", "tcp port \(port)", "--diagnose", "--stuck-after", "1",
                "--format", "jsonl", "--duration", "8"
            ], in: dir)
        try live.waitUntilListening()
        let started = LiveEnv.monotonic()
        let listener = try Net.listen(port: port)
        let c = try Net.connect(port: port)
        let server = try Net.accept(listener)
        defer { Net.abort(server); Net.close(listener) }
        try Net.send(c.fd, "request\n")
        _ = try Net.receive(server, exactly: 8)
        Net.close(c.fd)
        _ = try Net.receiveToEOF(server)  // the server reads EOF and does not close: CLOSE_WAIT
        let closedAt = LiveEnv.monotonic()
        // Printed while the capture still runs (it ends at 8 s), about 1 s after the FIN.
        let early = live.waitFor(5) { $0.stdout.contains("\"status\":\"new\",\"code\":\"close-wait-stuck\"") }
        let after = LiveEnv.monotonic() - closedAt
        #expect(early, "no new close-wait-stuck record while capturing: \(live.stdout)")
        #expect(live.isRunning)
        #expect(after >= 0.9, "reported \(after)s after the FIN, before --stuck-after 1")
        #expect(live.exitStatus(within: 20) == 0, "stderr: \(live.stderr)")
        let records = try JSONL.parse(live.stdout)
        let final = try #require(records.first { $0.string("status") == "final" && $0.string("code") == "close-wait-stuck" })
        #expect(final.string("subject") == "127.0.0.1:\(port)")
        #expect(final.string("evidence") == "observed")
        // Held until the capture stopped (8 s after it began), not only until the last look.
        let held = Double(final.int("duration_ns") ?? 0) / 1e9
        #expect(held > 8 - (closedAt - started) - 0.5, "final duration \(held)s")
    }
}
