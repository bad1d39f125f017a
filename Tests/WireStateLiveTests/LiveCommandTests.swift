import Foundation
import Testing
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// `wirestate live` and `wirestate interfaces`, run as a user would, against real connections on
/// loopback. Capturing needs root (or the capabilities), so most tests are enabled only as root.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct LiveCommandTests {
    static let needsRoot = "live capture needs root (or cap_net_raw): run the tests as root to exercise it"

    // MARK: What it shows equals what analyze and the kernel say

    /// The scenarios, in the order their SYNs are sent, with the kernel states they must end in.
    enum Scenario: String, CaseIterable {
        case refused, clientClose, serverClose, clientAbort, serverAbort, halfCloseOpen, establishedOpen, ipv6ClientClose

        var expected: (client: String, server: String) {
            switch self {
            case .refused, .clientAbort, .serverAbort: return ("CLOSED", "CLOSED")
            case .clientClose, .ipv6ClientClose: return ("TIME_WAIT", "CLOSED")
            case .serverClose: return ("CLOSED", "TIME_WAIT")
            case .halfCloseOpen: return ("FIN_WAIT_2", "CLOSE_WAIT")
            case .establishedOpen: return ("ESTABLISHED", "ESTABLISHED")
            }
        }
    }

    /// Drives every scenario on `port` (listeners are opened after the refused connect). Returns the
    /// client endpoint of each scenario and the sockets left open (closed by the caller after `ss`).
    static func drive(port: UInt16) throws -> (clients: [(Scenario, String)], open: [Int32]) {
        var clients: [(Scenario, String)] = []
        var open: [Int32] = []
        let request = "GET / HTTP/1.0\r\n\r\n", reply = "HTTP/1.0 200 OK\r\n\r\nhello"

        // Refused: nothing listens on the port yet.
        let r = try Net.connect(port: port)
        clients.append((.refused, r.local))
        guard r.error == ECONNREFUSED else { throw LiveTestError("expected ECONNREFUSED, got \(r.error)") }
        Net.close(r.fd)

        let listener = try Net.listen(port: port)
        let listener6 = try Net.listen(v6: true, port: port)
        open += [listener, listener6]

        func exchange(v6: Bool = false) throws -> (client: Int32, server: Int32, local: String) {
            let c = try Net.connect(v6: v6, port: port)
            guard c.error == 0 else { throw LiveTestError("connect failed: \(c.error)") }
            let s = try Net.accept(v6 ? listener6 : listener)
            try Net.send(c.fd, request)
            _ = try Net.receive(s, exactly: request.utf8.count)
            try Net.send(s, reply)
            _ = try Net.receive(c.fd, exactly: reply.utf8.count)
            return (c.fd, s, c.local)
        }

        // Client closes first; the server reads EOF and closes.
        var x = try exchange()
        clients.append((.clientClose, x.local))
        Net.close(x.client)
        _ = try Net.receiveToEOF(x.server)
        Net.close(x.server)

        // Server closes first; the client reads EOF and closes.
        x = try exchange()
        clients.append((.serverClose, x.local))
        Net.close(x.server)
        _ = try Net.receiveToEOF(x.client)
        Net.close(x.client)

        // Client aborts (RST).
        x = try exchange()
        clients.append((.clientAbort, x.local))
        Net.abort(x.client)
        LiveEnv.sleep(0.05)
        Net.close(x.server)

        // Server aborts (RST).
        x = try exchange()
        clients.append((.serverAbort, x.local))
        Net.abort(x.server)
        LiveEnv.sleep(0.05)
        Net.close(x.client)

        // Half-close left open: client request + FIN; server reads to EOF and replies; nobody closes.
        let c = try Net.connect(port: port)
        let s = try Net.accept(listener)
        clients.append((.halfCloseOpen, c.local))
        try Net.send(c.fd, request)
        Net.shutdownWrite(c.fd)
        _ = try Net.receiveToEOF(s)
        try Net.send(s, reply)
        _ = try Net.receive(c.fd, exactly: reply.utf8.count)
        open += [c.fd, s]

        // ESTABLISHED left open.
        x = try exchange()
        clients.append((.establishedOpen, x.local))
        open += [x.client, x.server]

        // Client close over IPv6.
        x = try exchange(v6: true)
        clients.append((.ipv6ClientClose, x.local))
        Net.close(x.client)
        _ = try Net.receiveToEOF(x.server)
        Net.close(x.server)

        return (clients, open)
    }

    /// On one thread, and with the tracking on worker threads (`--threads`): the same records.
    @Test(.enabled(if: LiveEnv.isRoot, Comment(rawValue: needsRoot)), arguments: [1, 3])
    func liveResultsEqualAnalyzeAndTheKernel(threads: Int) throws {
        let dir = try LiveEnv.scratch("equal-\(threads)")
        defer { LiveEnv.remove(dir) }
        let port = try Net.freePort()
        let pcap = dir.appendingPathComponent("live.pcap").path
        let duration = 4.0
        let live = try Child(
            [
                "live", "-i", "lo", "--filter", "tcp port \(port)", "--write", pcap,
                "--format", "jsonl", "--duration", "\(duration)", "--threads", "\(threads)"
            ], in: dir)
        try live.waitUntilListening()
        let started = LiveEnv.monotonic()
        var open: [Int32] = []
        defer { for fd in open { Net.abort(fd) } }
        let driven = try Self.drive(port: port)
        open = driven.open
        let took = LiveEnv.monotonic() - started
        #expect(took < duration - 1.5, "the scenarios took \(took)s, too close to --duration \(duration)")

        // --duration ends the capture by itself.
        let status = live.exitStatus(within: duration + 15)
        #expect(status == 0, "stderr: \(live.stderr)")
        // The kernel's view at the end of the capture, with every socket still as the scenarios left it.
        let kernel = try Kernel.sockets(port: port, in: dir)

        let liveRecords = try JSONL.parse(live.stdout)
        let capture = try #require(liveRecords.first { $0.type == "capture" })
        let summary = try #require(liveRecords.last)
        #expect(summary.type == "summary")
        #expect(capture.string("stopped_by") == "duration")
        #expect(capture.int("dropped_by_kernel") == 0)
        #expect(capture.int("frames") == summary.int("frames"))
        #expect((capture.int("received") ?? 0) >= (capture.int("frames") ?? 1))
        print(
            "[live-test] pcap_stats on lo: received \(capture.int("received") ?? -1), dropped by kernel "
                + "\(capture.int("dropped_by_kernel") ?? -1), dropped by interface \(capture.int("dropped_by_interface") ?? -1); "
                + "frames captured \(capture.int("frames") ?? -1); scenarios took \(Int(took * 1000)) ms")
        #expect(live.stderr.contains("dropped by kernel"))

        // Replaying the file gives the very same records.
        let replay = try Child.run(["analyze", "--format", "jsonl", pcap], in: dir)
        #expect(replay.status == 0, "analyze: \(replay.stderr)")
        let replayRecords = try JSONL.parse(replay.stdout)
        #expect(JSONL.eventLines(liveRecords) == JSONL.eventLines(replayRecords))
        let replaySummary = try #require(replayRecords.last)
        #expect(replaySummary.int("frames") == summary.int("frames"))
        #expect(replaySummary.int("connections") == summary.int("connections"))

        // Every connection's states equal the kernel's (ss) view, and are what each scenario does.
        let connections = liveRecords.filter { $0.type == "connection" }
        #expect(connections.count == Scenario.allCases.count)
        for (scenario, client) in driven.clients {
            let record = try #require(
                connections.first { $0.string("client") == client },
                "no connection record for \(scenario) (\(client))")
            let server = try #require(record.string("server"))
            let k = Kernel.states(kernel, client: client, server: server)
            #expect(
                k.client == scenario.expected.client && k.server == scenario.expected.server,
                "\(scenario): the kernel says \(k), the scenario meant \(scenario.expected)")
            #expect(record.string("client_state") == k.client, "\(scenario) client: live \(record.string("client_state") ?? "-"), kernel \(k.client)")
            #expect(record.string("server_state") == k.server, "\(scenario) server: live \(record.string("server_state") ?? "-"), kernel \(k.server)")
        }
        let refused = try #require(connections.first { $0.string("client") == driven.clients[0].1 })
        #expect(refused.bool("refused") == true)
    }

    // MARK: Stopping

    @Test(.enabled(if: LiveEnv.isRoot, Comment(rawValue: needsRoot)))
    func sigintMidCaptureLeavesAReadablePcapAndASummary() throws {
        let dir = try LiveEnv.scratch("sigint")
        defer { LiveEnv.remove(dir) }
        let port = try Net.freePort()
        let pcap = dir.appendingPathComponent("interrupted.pcap").path
        let live = try Child(["live", "-i", "lo", "--filter", "tcp port \(port)", "--write", pcap, "--format", "text"], in: dir)
        try live.waitUntilListening()
        let listener = try Net.listen(port: port)
        defer { Net.close(listener) }
        let c = try Net.connect(port: port)
        let s = try Net.accept(listener)
        defer { Net.abort(c.fd); Net.abort(s) }
        // Traffic flows before, during and after the signal.
        let chunk = String(repeating: "x", count: 1000)
        for i in 0..<200 {  // bounded: 200 chunks, ~1 s
            try Net.send(c.fd, chunk)
            Net.drain(s)
            if i == 100 { live.signal(SIGINT) }
            LiveEnv.sleep(0.005)
        }
        let status = live.exitStatus(within: 15)
        #expect(status == 0, "stderr: \(live.stderr)")
        let out = live.stdout
        #expect(out.contains("Totals: 1 connection"), "summary missing: \(out.suffix(600))")
        #expect(out.contains("stopped by SIGINT"))
        #expect(out.contains("Still held when the capture stopped:"))
        #expect(out.contains("ESTABLISHED"))
        let captured = try #require(Self.capturedPackets(out), "no Capture line: \(out.suffix(400))")
        #expect(captured > 3)

        let replay = try Child.run(["analyze", "--format", "jsonl", pcap], in: dir)
        #expect(replay.status == 0, "the interrupted pcap must be readable: \(replay.stderr)")
        let summary = try #require(try JSONL.parse(replay.stdout).last)
        #expect(summary.int("frames") == captured)
        #expect(summary.int("errors") == 0)
        print("[live-test] SIGINT mid-capture: \(captured) packets captured and replayed; pcap \(Self.fileSize(pcap)) bytes")
    }

    static func capturedPackets(_ text: String) -> Int? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Capture: ") }) else { return nil }
        let words = line.split(separator: " ")
        guard let i = words.firstIndex(where: { $0.hasPrefix("packet") }), i > 0 else { return nil }
        return Int(words[i - 1])
    }

    static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? -1
    }

    @Test(.enabled(if: LiveEnv.isRoot, Comment(rawValue: needsRoot)))
    func countStopsTheCaptureAndAPipeGetsJSONLines() throws {
        let dir = try LiveEnv.scratch("count")
        defer { LiveEnv.remove(dir) }
        let port = try Net.freePort()
        let pcap = dir.appendingPathComponent("three.pcap").path
        // No --format: standard output is a file, so JSON Lines.
        let live = try Child(["live", "-i", "lo", "--filter", "tcp port \(port)", "--count", "3", "--write", pcap], in: dir)
        try live.waitUntilListening()
        let listener = try Net.listen(port: port)
        defer { Net.close(listener) }
        let c = try Net.connect(port: port)
        let s = try Net.accept(listener)
        defer { Net.abort(c.fd); Net.abort(s) }
        try Net.send(c.fd, "more than three packets")
        let status = live.exitStatus(within: 15)
        #expect(status == 0, "stderr: \(live.stderr)")
        let records = try JSONL.parse(live.stdout)
        let capture = try #require(records.first { $0.type == "capture" })
        #expect(capture.string("stopped_by") == "count")
        #expect(capture.int("frames") == 3)
        #expect(records.last?.type == "summary")
        #expect(records.last?.int("frames") == 3)
        let connection = try #require(records.first { $0.type == "connection" })
        #expect(connection.string("client_state") == "ESTABLISHED")
        let replay = try Child.run(["analyze", "--format", "jsonl", pcap], in: dir)
        #expect(replay.status == 0)
        #expect(try JSONL.parse(replay.stdout).last?.int("frames") == 3)
    }

    // MARK: Timing and memory

    /// Events are printed as the packets pass (immediate mode, flushed per event), and connections
    /// are reported and forgotten while the capture idles (closed ones after --closed-linger, idle
    /// ones after --idle-timeout), which is what keeps memory flat on an endless capture.
    @Test(.enabled(if: LiveEnv.isRoot, Comment(rawValue: needsRoot)))
    func eventsArePromptAndFinishedConnectionsAreEvictedWhileIdle() throws {
        let dir = try LiveEnv.scratch("latency")
        defer { LiveEnv.remove(dir) }
        let port = try Net.freePort()
        let live = try Child(
            [
                "live", "-i", "lo", "--filter", "tcp port \(port)", "--format", "jsonl",
                "--closed-linger", "0.3", "--idle-timeout", "1"
            ], in: dir)
        try live.waitUntilListening()
        defer { if live.isRunning { live.signal(SIGKILL) } }
        let listener = try Net.listen(port: port)
        defer { Net.close(listener) }

        // Latency: from connect() to the SYN's transition on standard output.
        let before = LiveEnv.wallClock()
        let c = try Net.connect(port: port)
        let s = try Net.accept(listener)
        var seenAt = 0.0
        let seen = live.waitFor(5, poll: 0.0005) {
            if $0.stdout.contains("\"to\":\"SYN_SENT\"") { seenAt = LiveEnv.wallClock(); return true }
            return false
        }
        #expect(seen, "the SYN's transition was not printed within 5 s")
        let syn = try JSONL.parse(live.stdout).first { $0.string("to") == "SYN_SENT" }
        let packetTime = syn?.double("time") ?? before
        let fromConnect = (seenAt - before) * 1000, fromPacket = (seenAt - packetTime) * 1000
        print(
            "[live-test] latency: connect() → printed SYN_SENT \(Self.ms(fromConnect)) ms; "
                + "packet timestamp → printed \(Self.ms(fromPacket)) ms")
        #expect(fromConnect < 1000)

        // A connection aborted now is CLOSED on both sides: reported within --closed-linger + a tick.
        Net.abort(c.fd)
        LiveEnv.sleep(0.05)
        Net.close(s)
        let abortedAt = LiveEnv.monotonic()
        var evictedAfter = 0.0
        let closedReported = live.waitFor(5, poll: 0.005) {
            guard $0.stdout.contains("\"end\":\"closed\"") else { return false }
            evictedAfter = LiveEnv.monotonic() - abortedAt
            return true
        }
        #expect(closedReported, "the closed connection was not reported while the capture idled")

        // A connection left ESTABLISHED and silent is reported as idle after --idle-timeout.
        let c2 = try Net.connect(port: port)
        let s2 = try Net.accept(listener)
        defer { Net.abort(c2.fd); Net.abort(s2) }
        let openedAt = LiveEnv.monotonic()
        var idleAfter = 0.0
        let idleReported = live.waitFor(6, poll: 0.005) {
            guard $0.stdout.contains("\"end\":\"idle\"") else { return false }
            idleAfter = LiveEnv.monotonic() - openedAt
            return true
        }
        #expect(idleReported, "the idle connection was not reported while the capture ran")
        #expect(live.isRunning, "both reports must come while the capture is still running")
        print(
            "[live-test] eviction while idle: closed after \(Self.ms(evictedAfter * 1000)) ms (--closed-linger 0.3), "
                + "idle after \(Self.ms(idleAfter * 1000)) ms (--idle-timeout 1)")

        live.signal(SIGTERM)
        #expect(live.exitStatus(within: 10) == 0)
        let records = try JSONL.parse(live.stdout)
        #expect(records.filter { $0.type == "connection" }.count == 2)
        #expect(records.first { $0.type == "capture" }?.string("signal") == "SIGTERM")
    }

    static func ms(_ v: Double) -> String { String(format: "%.2f", v) }

    // MARK: Errors and privileges

    @Test func unknownInterfaceIsAOneLineErrorAndExit2() throws {
        let dir = try LiveEnv.scratch("nosuch")
        defer { LiveEnv.remove(dir) }
        let r = try Child.run(["live", "-i", "nosuch-ws0", "--duration", "1"], in: dir, timeout: 20)
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(r.stderr)")
        #expect(r.stderr.contains("nosuch-ws0: no such capture device"))
    }

    /// As root the binary is run as user `nobody` (setpriv, else runuser); otherwise as ourselves.
    @Test func missingPrivilegesIsAOneLineErrorAndExit2() throws {
        let dir = try LiveEnv.scratch("noperm")
        defer { LiveEnv.remove(dir) }
        var prefix: [String] = []
        var binary = try #require(LiveEnv.binary).path
        if LiveEnv.isRoot {
            guard let asNobody = LiveEnv.asNobody, LiveEnv.hasNobody else {
                try Test.cancel("running as root without setpriv/runuser or user nobody: cannot drop privileges to test")
            }
            prefix = asNobody
            binary = try LiveEnv.copyOfBinary(in: dir)
            let probe = try Child.run(["--version"], executable: binary, prefix: prefix, in: dir, timeout: 20)
            if probe.status != 0 { try Test.cancel("user nobody cannot run wirestate here: \(probe.stderr)") }
        }

        let r = try Child.run(["live", "-i", "lo", "--duration", "1"], executable: binary, prefix: prefix, in: dir, timeout: 20)
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.split(separator: "\n").count == 1, "stderr: \(r.stderr)")
        #expect(r.stderr.contains("no permission to capture"))
        #expect(r.stderr.contains("run as root"))
        #expect(r.stderr.contains("setcap cap_net_raw,cap_net_admin=eip"))

        // Without privileges an unknown interface is still called unknown.
        let u = try Child.run(["live", "-i", "nosuch-ws0"], executable: binary, prefix: prefix, in: dir, timeout: 20)
        #expect(u.status == 2)
        #expect(u.stderr.contains("no such capture device"))
        #expect(u.stderr.split(separator: "\n").count == 1)
    }

    /// The advice in that message works: the capabilities alone let user nobody capture.
    @Test(
        .enabled(
            if: LiveEnv.isRoot && LiveEnv.asNobody != nil && LiveEnv.hasNobody && LiveEnv.tool("setcap") != nil,
            "needs root, setcap and setpriv/runuser"))
    func theCapabilitiesAreEnoughToCapture() throws {
        let dir = try LiveEnv.scratch("caps")
        defer { LiveEnv.remove(dir) }
        let copy = try LiveEnv.copyOfBinary(in: dir)
        let setcap = try Child.run(["cap_net_raw,cap_net_admin=eip", copy], executable: LiveEnv.tool("setcap"), in: dir)
        if setcap.status != 0 {
            try Test.cancel("setcap is not possible here: \(setcap.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        let prefix = try #require(LiveEnv.asNobody)
        let port = try Net.freePort()
        let live = try Child(
            ["live", "-i", "lo", "--filter", "tcp port \(port)", "--duration", "2", "--format", "jsonl"],
            executable: copy, prefix: prefix, in: dir)
        try live.waitUntilListening()
        let listener = try Net.listen(port: port)
        defer { Net.close(listener) }
        let c = try Net.connect(port: port)
        let s = try Net.accept(listener)
        defer { Net.abort(c.fd); Net.abort(s) }
        #expect(live.exitStatus(within: 15) == 0, "stderr: \(live.stderr)")
        #expect(try JSONL.parse(live.stdout).contains { $0.type == "connection" })
    }

    @Test(.enabled(if: LiveEnv.isRoot && LiveEnv.hasNobody, Comment(rawValue: needsRoot)))
    func userDropsRootOnceTheCaptureAndFileAreOpen() throws {
        let dir = try LiveEnv.scratch("user")
        defer { LiveEnv.remove(dir) }
        let port = try Net.freePort()
        let pcap = dir.appendingPathComponent("as-nobody.pcap").path
        let live = try Child(
            [
                "live", "-i", "lo", "--filter", "tcp port \(port)", "--user", "nobody",
                "--write", pcap, "--duration", "2", "--format", "jsonl"
            ], in: dir)
        try live.waitUntilListening()
        let status = try String(contentsOfFile: "/proc/\(live.pid)/status", encoding: .utf8)
        let uid = status.split(separator: "\n").first { $0.hasPrefix("Uid:") }.map(String.init) ?? ""
        let nobody = getpwnam("nobody").pointee.pw_uid
        #expect(
            uid.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().allSatisfy { UInt32($0) == nobody },
            "after --user nobody: \(uid)")
        let listener = try Net.listen(port: port)
        defer { Net.close(listener) }
        let c = try Net.connect(port: port)
        let s = try Net.accept(listener)
        defer { Net.abort(c.fd); Net.abort(s) }
        #expect(live.exitStatus(within: 15) == 0, "stderr: \(live.stderr)")
        // The file was created before the switch, by root, and is complete.
        let owner = (try FileManager.default.attributesOfItem(atPath: pcap))[.ownerAccountID] as? NSNumber
        #expect(owner?.intValue == 0)
        let replay = try Child.run(["analyze", "--format", "jsonl", pcap], in: dir)
        #expect(replay.status == 0)
        #expect(try JSONL.parse(replay.stdout).contains { $0.type == "connection" })
    }

    @Test(.enabled(if: LiveEnv.isRoot, Comment(rawValue: needsRoot)))
    func userRootSaysItKeepsRoot() throws {
        let dir = try LiveEnv.scratch("user-root")
        defer { LiveEnv.remove(dir) }
        let r = try Child.run(
            [
                "live", "-i", "lo", "--filter", "tcp port 9", "--user", "root", "--duration", "0.3",
                "--format", "jsonl"
            ], in: dir)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stderr.contains("--user root is root: the capture keeps root privileges"), "stderr: \(r.stderr)")
    }

    @Test func badUsageIsRefusedBeforeCapturing() throws {
        let dir = try LiveEnv.scratch("usage")
        defer { LiveEnv.remove(dir) }
        let top = try Child.run(["live", "-i", "lo", "--top"], in: dir, timeout: 20)
        #expect(top.status == 64)
        #expect(top.stderr.contains("--top needs a terminal"))
        let dash = try Child.run(["live", "-i", "lo", "--write", "-"], in: dir, timeout: 20)
        #expect(dash.status == 64)
        let count = try Child.run(["live", "-i", "lo", "--count", "0"], in: dir, timeout: 20)
        #expect(count.status == 64)
        for bad in ["0", "65", "-1", "x"] {
            let threads = try Child.run(["live", "-i", "lo", "--threads", bad], in: dir, timeout: 20)
            #expect(threads.status == 64, "--threads \(bad)")
        }
        let topThreads = try Child.run(["live", "-i", "lo", "--top", "--threads", "2"], in: dir, timeout: 20)
        #expect(topThreads.status == 64)
        #expect(topThreads.stderr.contains("--top shows the tracker's own table"), "\(topThreads.stderr)")
    }

    @Test(.enabled(if: LiveEnv.isRoot, Comment(rawValue: needsRoot)))
    func aBadFilterOrAnUnwritableFileIsAOneLineErrorAndExit2() throws {
        let dir = try LiveEnv.scratch("filter")
        defer { LiveEnv.remove(dir) }
        let r = try Child.run(["live", "-i", "lo", "--filter", "tcp port banana"], in: dir, timeout: 20)
        #expect(r.status == 2)
        #expect(r.stderr.split(separator: "\n").count == 1, "stderr: \(r.stderr)")
        #expect(r.stderr.contains("bad filter"))

        let w = try Child.run(["live", "-i", "lo", "--write", "/nonexistent-dir/x.pcap"], in: dir, timeout: 20)
        #expect(w.status == 2)
        #expect(w.stderr.split(separator: "\n").count == 1, "stderr: \(w.stderr)")
        #expect(w.stderr.contains("/nonexistent-dir/x.pcap: cannot create"))
    }

    /// The disk fills while `--write` saves the capture (a 128 KiB tmpfs): the writer thread's
    /// error ends the capture with one line naming the file and frame, exit 2, and what the
    /// analysis had computed is still printed (its records, the capture record, the summary).
    @Test(.enabled(if: LiveEnv.isRoot, Comment(rawValue: needsRoot)))
    func aDiskThatFillsMidCaptureIsAnErrorAndTheRecordsAreKept() throws {
        let dir = try LiveEnv.scratch("diskfull")
        defer { LiveEnv.remove(dir) }
        let mnt = dir.appendingPathComponent("small")
        try FileManager.default.createDirectory(at: mnt, withIntermediateDirectories: true)
        let mount = try Child.run(
            ["-t", "tmpfs", "-o", "size=128k", "tmpfs", mnt.path], executable: "/bin/mount", in: dir, timeout: 10)
        guard mount.status == 0 else {
            Issue.record("cannot mount a tmpfs: \(mount.stderr)")
            return
        }
        defer { _ = try? Child.run([mnt.path], executable: "/bin/umount", in: dir, timeout: 10) }
        let port = try Net.freePort()
        let pcap = mnt.appendingPathComponent("x.pcap").path
        let live = try Child(
            ["live", "-i", "lo", "--filter", "tcp port \(port)", "--write", pcap, "--format", "jsonl"], in: dir)
        defer { if live.isRunning { live.signal(SIGKILL) } }
        try live.waitUntilListening()
        let listener = try Net.listen(port: port)
        defer { Net.close(listener) }
        let c = try Net.connect(port: port)
        let s = try Net.accept(listener)
        defer { Net.abort(c.fd); Net.abort(s) }
        // 1 MiB in 16 KiB writes, read as it comes: eight times what the file system holds.
        let chunk = String(repeating: "x", count: 16 << 10)
        for _ in 0..<64 where live.isRunning {
            try Net.send(c.fd, chunk)
            _ = try Net.receive(s, exactly: chunk.utf8.count)
        }
        let status = live.exitStatus(within: 15)
        #expect(status == 2, "stderr: \(live.stderr)")
        let lines = live.stderr.split(separator: "\n").filter { $0.contains("write failed") }
        #expect(lines.count == 1, "stderr: \(live.stderr)")
        #expect(lines.first?.contains("\(pcap): frame ") == true, "stderr: \(live.stderr)")
        #expect(lines.first?.contains("No space left on device") == true, "stderr: \(live.stderr)")
        let records = try JSONL.parse(live.stdout)
        #expect(records.contains { $0.type == "transition" }, "stdout: \(live.stdout.prefix(2000))")
        let capture = try #require(records.first { $0.type == "capture" })
        #expect(capture.string("stopped_by") == "error")
        #expect(records.last?.type == "summary")
    }

    // MARK: --top and interfaces

    /// Runs `live` (after `prelude`, in a shell) inside a terminal made by script(1), waits until
    /// `ready` says so, opens and holds one loopback connection to its port, and returns what the
    /// terminal showed, the exit status and the client's local address.
    func inTerminal(
        _ name: String, prelude: String = "", arguments: (UInt16) -> String,
        ready: @escaping (Child) -> Bool
    ) throws -> (out: String, status: Int32?, client: String, port: UInt16) {
        let dir = try LiveEnv.scratch(name)
        defer { LiveEnv.remove(dir) }
        let port = try Net.freePort()
        let binary = try #require(LiveEnv.binary).path
        let command = prelude + "\(binary) live -i lo --filter 'tcp port \(port)' " + arguments(port)
        let child = try Child(["-qfec", command, "/dev/null"], executable: LiveEnv.tool("script"), in: dir)
        #expect(child.waitFor(15) { ready($0) || !$0.isRunning })
        let listener = try Net.listen(port: port)
        defer { Net.close(listener) }
        let c = try Net.connect(port: port)
        let s = try Net.accept(listener)
        defer { Net.abort(c.fd); Net.abort(s) }
        let status = child.exitStatus(within: 15)
        return (child.stdout, status, c.local, port)
    }

    @Test(.enabled(if: LiveEnv.isRoot && LiveEnv.tool("script") != nil, "needs root and script(1) for a terminal"))
    func topRedrawsATableOfLiveConnectionsInPlace() throws {
        let top = try inTerminal(
            "top", prelude: "stty rows 30 cols 160; ", arguments: { _ in "--duration 3 --top" },
            ready: { $0.stdout.contains("CLIENT STATE") })
        #expect(top.status == 0)
        let out = top.out
        let home = out.components(separatedBy: "\u{1B}[H").count - 1
        #expect(home >= 2, "the table must be redrawn in place (ESC[H), saw \(home)")
        #expect(out.contains("ESTABLISHED   ESTABLISHED"), "the held connection with both states: \(out.suffix(800))")
        #expect(out.contains("Totals: 1 connection"))
    }

    @Test(.enabled(if: LiveEnv.isRoot && LiveEnv.tool("script") != nil, "needs root and script(1) for a terminal"))
    func topShowsOnePrecisionAndItsEventsInCaptureTimeOrder() throws {
        let top = try inTerminal(
            "top-times", prelude: "stty rows 40 cols 200; ", arguments: { _ in "--duration 3 --top" },
            ready: { $0.stdout.contains("CLIENT STATE") })
        #expect(top.status == 0)
        // The last picture drawn: from the last ESC[H to its ESC[J.
        let afterHome = try #require(top.out.components(separatedBy: "\u{1B}[H").last)
        let screen = afterHome.components(separatedBy: "\u{1B}[J").first!.replacingOccurrences(of: "\u{1B}[K", with: "")
        func matches(_ pattern: String, _ text: String) -> [String] {
            let re = try! NSRegularExpression(pattern: pattern)
            return re.matches(in: text, range: NSRange(text.startIndex..., in: text)).map { String(text[Range($0.range, in: text)!]) }
        }
        #expect(!matches(#" · \d\d:\d\d:\d\d\.\d{3} · up \d+\.\d{3}s · "#, screen).isEmpty, "\(screen)")
        // Every time of day and every duration on the screen has milliseconds, no more, no less.
        let clocks = matches(#"\b\d\d:\d\d:\d\d(\.\d+)?"#, screen)
        let durations = matches(#"\b\d+(m\d\d)?\.\d+s\b"#, screen)
        #expect(clocks.count >= 3 && durations.count >= 3, "\(screen)")
        for t in clocks + durations {
            #expect(t.split(separator: ".").last.map { $0.filter(\.isNumber).count } == 3, "\(t) in \(screen)")
        }
        // The event pane: the connection's events, earliest first.
        let pane = try #require(screen.components(separatedBy: "Recent events:").last)
        let events = pane.split(whereSeparator: \.isNewline).filter { $0.contains("  conn ") }
        #expect(events.count >= 3, "\(pane.debugDescription)")
        let times = events.map { String($0.prefix(12)) }
        #expect(times == times.sorted(), "\(events)")
        #expect(events.first?.contains("opened") == true, "\(events)")
    }

    @Test(.enabled(if: LiveEnv.isRoot && LiveEnv.tool("script") != nil, "needs root and script(1) for a terminal"))
    func aTerminalGetsTextEventsAsTheyHappen() throws {
        // No --format: standard output is a terminal, so text.
        let tty = try inTerminal("tty", arguments: { _ in "--count 3" }, ready: { $0.stdout.contains("listening on") })
        #expect(tty.status == 0)
        let (client, port) = (tty.client, tty.port)
        let out = tty.out
        #expect(out.contains("opened    \(client) → 127.0.0.1:\(port)"), "\(out)")
        #expect(out.contains("client    CLOSED → SYN_SENT  [observed; sent SYN]"))
        #expect(out.contains("server    SYN_RECEIVED → ESTABLISHED  [inferred; received ACK]"))
        #expect(out.contains("stopped after 3 packets (--count)"))
        #expect(!out.contains("{\"type\""))
    }

    @Test func interfacesListsLoopbackWithAddressesAndFlags() throws {
        let dir = try LiveEnv.scratch("interfaces")
        defer { LiveEnv.remove(dir) }
        let r = try Child.run(["interfaces"], in: dir, timeout: 20)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        let lo = try #require(lines.firstIndex { $0.split(separator: " ").dropFirst().first == "lo" }, "\(r.stdout)")
        #expect(lines[lo].contains("up") && lines[lo].contains("running") && lines[lo].contains("loopback"))
        let block = lines[(lo + 1)...].prefix { $0.hasPrefix(" ") }
        #expect(block.contains { $0.contains("inet  127.0.0.1/8") }, "\(block)")
    }
}
