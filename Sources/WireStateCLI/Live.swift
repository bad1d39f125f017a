#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import ArgumentParser
import WireStateCapture
import WireStateDecoder
import WireStatePipeline
import WireStateReport
import WireStateTracker

// MARK: - wirestate live

struct Live: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Capture on an interface and report both endpoints' state changes as they happen.",
        discussion: """
            On a terminal each event is printed as it happens (connections opening and finishing, every \
            state change of each endpoint with its frame and time, anomalies); --top shows a table of the \
            live connections instead, refreshed in place. In a pipe (or with --format jsonl) the output is \
            JSON Lines in the schema of `analyze --format jsonl`, flushed whenever the analysis has caught up with the wire.

            The capture ends on SIGINT/SIGTERM (Ctrl-C; a second one kills), --duration or --count; then \
            every connection still held is reported, followed by the summary of `analyze`, libpcap's \
            kernel statistics, and the --write file is closed intact (`wirestate analyze FILE` replays it).

            Capturing needs root, or the capabilities on the binary: \
            sudo setcap cap_net_raw,cap_net_admin=eip $(command -v wirestate). --user drops root once the \
            capture (and the --write file) is open.

            Exit status: 0 when the capture ended as asked; 2 when it could not start (unknown interface, \
            no permission, bad filter, file not writable) or reading or writing failed; 64 on bad usage.
            """
    )

    @Option(name: [.customShort("i"), .long], help: "Interface to capture on, by name or by the number 'wirestate interfaces' prints ('any' for all).")
    var interface: String

    @Option(name: .long, help: "BPF filter, tcpdump syntax, e.g. 'tcp port 443' (installed in the kernel).")
    var filter: String?

    @Option(name: [.customShort("s"), .long], help: "Bytes kept per packet (as tcpdump -s).")
    var snaplen: Int32 = 262_144

    @Flag(inversion: .prefixedNo, help: "Put the interface in promiscuous mode.")
    var promisc = true

    @Option(name: .long, help: ArgumentHelp("Stop after this many seconds.", valueName: "seconds"))
    var duration: Double?

    @Option(
        name: [.customShort("c"), .long], help: ArgumentHelp("Stop after this many packets (those the filter passes; as tcpdump -c).", valueName: "packets"))
    var count: UInt64?

    @Option(
        name: [.customShort("w"), .long],
        help: ArgumentHelp("Save the captured packets to this pcap file (for `wirestate analyze`; as tcpdump -w).", valueName: "file.pcap"))
    var write: String?

    @Option(name: .long, help: "Output format: text or jsonl (default: text on a terminal, jsonl otherwise).")
    var format: OutputFormat?

    @Flag(name: .customShort("n"), help: "Accepted for tcpdump habits: names are never resolved anyway.")
    var numeric = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Colour severities and stuck states in the text events: auto (a terminal without NO_COLOR), always, never.",
            valueName: "when"))
    var color: ColorChoice = .auto

    @Flag(name: .long, help: "Show a table of live connections refreshed in place (text on a terminal).")
    var top = false

    @Flag(name: .long, help: "Print the findings of `wirestate diagnose` when each first holds and when it changes, and all of them when the capture stops.")
    var diagnose = false

    @OptionGroup var thresholds: DiagnoseThresholds

    @Option(name: .long, help: ArgumentHelp("Report and forget connections without packets for this long (0: never).", valueName: "seconds"))
    var idleTimeout: Double = 300

    @Option(name: .long, help: ArgumentHelp("Kernel capture buffer in MiB.", valueName: "MiB"))
    var bufferSize: Int = 32

    @Option(name: .long, help: ArgumentHelp("Drop root privileges to this user once the capture and the --write file are open.", valueName: "name"))
    var user: String?

    @Option(
        name: .customLong("threads"),
        help: ArgumentHelp(
            "Threads to use, 1 to \(Analyze.maxThreads): beside the capture thread, one decodes and writes, the others "
                + "track connections (as analyze --threads; not with --top). Default as analyze's (1 with --top).",
            valueName: "N"))
    var threadsOption: Int?

    /// `--threads`, or the machine's default; `--top` shows the one tracker's table, so 1 there.
    var threads: Int { threadsOption ?? (top ? 1 : ThreadCount.machineDefault) }

    @OptionGroup var tracker: TrackerOptions

    @OptionGroup var tunnels: TunnelOptions

    /// A sensor runs unattended: spoofed SYNs must not grow it without bound. At today's size
    /// per connection this caps the table near 200 MB.
    static let defaultMaxConnections = 200_000

    func validate() throws {
        guard snaplen > 0 && snaplen <= 262_144 else { throw ValidationError("--snaplen must be between 1 and 262144") }
        if let duration {
            guard duration > 0, CaptureTime.nanoseconds(seconds: duration) != nil else {
                throw ValidationError("--duration must be above 0 and at most 10000000 seconds (got \(duration))")
            }
        }
        if let count { guard count > 0 else { throw ValidationError("--count must be at least 1") } }
        _ = try tracker.configuration(idleTimeout: idleTimeout)  // ranges of --idle-timeout and the tracker options
        guard bufferSize > 0 && bufferSize <= 2047 else { throw ValidationError("--buffer-size must be between 1 and 2047 MiB") }
        if write == "-" { throw ValidationError("--write needs a file name: standard output carries the events") }
        if format == .zeek { throw ValidationError("--format zeek writes a conn.log from saved captures: use analyze") }
        if threads < 1 || threads > Analyze.maxThreads {
            throw ValidationError("--threads must be 1 to \(Analyze.maxThreads) (got \(threads))")
        }
        // The table shows the connections the tracker holds; with workers they are theirs.
        if top && threads > 1 { throw ValidationError("--top shows the tracker's own table: it runs on one thread (--threads 1)") }
        if top && format == .jsonl { throw ValidationError("--top is a text display; it cannot be combined with --format jsonl") }
        if top && isatty(1) == 0 { throw ValidationError("--top needs a terminal on standard output") }
        if top && diagnose { throw ValidationError("--top and --diagnose are different displays: choose one") }
    }

    /// `-i 2` is the second device `wirestate interfaces` lists, as tcpdump -i takes its -D numbers;
    /// a device really named `2` still wins.
    static func resolve(_ name: String) -> String {
        guard let n = Int(name), n > 0, let devices = try? CaptureDevice.all(),
            !devices.contains(where: { $0.name == name }), n <= devices.count
        else { return name }
        return devices[n - 1].name
    }

    func run() throws {
        let config = try tracker.configuration(idleTimeout: idleTimeout, defaultCap: Self.defaultMaxConnections)
        let format = self.format ?? (isatty(1) != 0 ? .text : .jsonl)
        MallocTuning.apply(threads: threads)

        let interface = Self.resolve(self.interface)
        var options = LiveCapture.Options(interface: interface, filter: filter)
        options.snapshotLength = snaplen
        options.promiscuous = promisc
        options.bufferSize = Int32(bufferSize) << 20
        let capture: LiveCapture
        do throws(CaptureError) {
            capture = try LiveCapture(options)
            guard LinkType(dlt: capture.dataLinkType) != nil else {
                throw CaptureError(
                    kind: .other, source: interface,
                    message: LinkType.unsupportedMessage(name: capture.dataLinkName, dlt: capture.dataLinkType))
            }
            for w in capture.warnings { Diagnostics.note("warning: \(interface): \(w)") }
            if let write { try capture.startWriting(to: write) }
            if let user, try Privileges.drop(to: user).uid == 0 {
                Diagnostics.note("--user \(Escaped.text(user)) is root: the capture keeps root privileges")
            }
        } catch {
            Diagnostics.error(Self.startFailure(error, user: user))
            throw ExitCode(2)
        }
        defer { capture.close() }
        if let count { capture.packetLimit = count }
        if let duration { capture.stop(after: duration) }
        StopSignals.install(breaking: capture)
        defer { StopSignals.uninstall() }

        if self.format == nil && isatty(1) == 0 {
            Diagnostics.note("standard output is not a terminal: writing JSON Lines (docs/json-schema.md); --format text for text")
        }
        Diagnostics.note(
            "listening on \(interface), link-type \(capture.dataLinkName), snapshot length \(capture.snapshotLength) bytes"
                + (filter.map { ", filter '\($0)'" } ?? "") + (write.map { ", writing \($0)" } ?? ""))

        let failed: Bool
        switch format {
        case _ where diagnose: failed = try runDiagnose(capture, config, format: format)
        case .jsonl: failed = runJSONLines(capture, config)
        case .text: failed = runText(capture, config)
        case .zeek: failed = true  // refused by validate()
        }
        try checkStandardOutput()
        if failed { throw ExitCode(2) }
    }

    /// One line for a capture that could not start.
    static func startFailure(_ error: CaptureError, user: String?) -> String {
        switch error.kind {
        case .noSuchDevice:
            return "\(error.source): no such capture device (run 'wirestate interfaces' to list them)"
        case .permission where user != nil && error.source == user:
            return "\(error.source): \(error.message): --user needs wirestate to run as root"
        case .permission:
            return "\(error.description): run as root, or give the binary the capture capabilities: "
                + "sudo setcap cap_net_raw,cap_net_admin=eip \(Privileges.executablePath)"
        default:
            return error.description
        }
    }

    // MARK: JSON Lines

    func runJSONLines(_ capture: LiveCapture, _ config: ConnectionTracker.Configuration) -> Bool {
        // Records are written in batches: whenever the analysis has caught up with the wire (so a
        // quiet link still sees each event at once), and at least every 1024 frames under load.
        let writer = JSONLinesWriter(out: StandardOutput(), flushEachEvent: false)
        var pipeline = Pipeline(configuration: config, tunnelPorts: tunnels.ports, sink: writer)
        pipeline.threads = threads
        var sinceFlush = 0
        let error = pipeline.run(live: capture) { p in
            sinceFlush += 1
            if sinceFlush >= 1024 || capture.caughtUp {
                p.sink.out.flush()
                sinceFlush = 0
            }
        }
        let stats = capture.statistics()
        let writeError = finishWriting(capture)
        pipeline.finish()
        pipeline.sink.out.write(captureRecord(capture, stats) + "\n")
        pipeline.sink.writeEnd(inputs: pipeline.inputs)
        Diagnostics.note(statisticsLine(capture, stats))
        return report(error, writeError, stats)
    }

    func captureRecord(_ capture: LiveCapture, _ stats: CaptureStatistics?) -> String {
        let schema = JSONLinesWriter<StringSink>.schemaVersion
        var s = "{\"type\":\"capture\",\"schema\":\(schema)"
        s += ",\"interface\":" + Format.json(Self.resolve(interface))
        s +=
            ",\"link_type\":" + Format.json(capture.dataLinkName)
            + ",\"filter\":" + (filter.map(Format.json) ?? "null")
            + ",\"snaplen\":\(capture.snapshotLength),\"frames\":\(capture.framesCaptured)"
        if let stats {
            s +=
                ",\"received\":\(stats.received),\"dropped_by_kernel\":\(stats.droppedByKernel)"
                + ",\"dropped_by_interface\":\(stats.droppedByInterface)"
        } else {
            s += ",\"received\":null,\"dropped_by_kernel\":null,\"dropped_by_interface\":null"
        }
        s +=
            ",\"seconds\":\(Format.fixed(capture.elapsedSeconds, 3))"
            + ",\"stopped_by\":\"\((capture.stopReason ?? .requested).name)\""
        if case .signal(let sig)? = capture.stopReason { s += ",\"signal\":\"\(Self.signalName(sig))\"" }
        s += ",\"file\":" + (write.map(Format.json) ?? "null") + "}"
        return s
    }

    // MARK: Text

    func runText(_ capture: LiveCapture, _ config: ConnectionTracker.Configuration) -> Bool {
        var sink = LiveTextSink(out: StandardOutput(), stream: !top)
        sink.color = color.enabled()
        var pipeline = Pipeline(configuration: config, tunnelPorts: tunnels.ports, sink: sink)
        pipeline.threads = threads
        let display = top ? TopDisplay(interface: Self.resolve(interface), filter: filter) : nil
        var nextDraw: Int64 = 0
        let error = pipeline.run(live: capture) { p in
            guard let display else { return }
            let now = monotonicNanos()
            guard now >= nextDraw else { return }
            nextDraw = now + 1_000_000_000
            p.sink.out.write(
                display.render(
                    p.tracker.activeSummaries(), recent: p.sink.recent, totals: p.sink.totals,
                    frames: capture.framesCaptured, elapsed: capture.elapsedSeconds,
                    now: wallClockNanos()))
            p.sink.out.flush()
        }
        let stats = capture.statistics()
        let writeError = finishWriting(capture)
        // Report what is still held, keeping those connections for the table (the picture of
        // --top stays on screen; the summary goes under it).
        pipeline.sink.atEnd = TextReportSink(selection: ConnectionSelection())
        pipeline.finish()
        let held = pipeline.sink.atEnd!
        var out = pipeline.sink.out
        out.write("\n")
        if held.connections > 0 {
            out.write(
                "Still held when the capture stopped:\n"
                    + TextReport(sink: held, inputs: pipeline.inputs).table() + "\n")
        }
        out.write(pipeline.sink.totals.text(inputs: pipeline.inputs))
        out.write(statisticsLine(capture, stats) + "\n")
        out.flush()
        return report(error, writeError, stats)
    }

    // MARK: End of capture

    func finishWriting(_ capture: LiveCapture) -> CaptureError? {
        do { try capture.finishWriting() } catch { return error }
        return nil
    }

    func statisticsLine(_ capture: LiveCapture, _ stats: CaptureStatistics?) -> String {
        let why: String
        switch capture.stopReason ?? .requested {
        case .count: why = "after \(capture.framesCaptured) packets (--count)"
        case .duration: why = "after --duration \(duration.map { Format.fixed($0, 3) } ?? "?")s"
        case .signal(let sig): why = "by \(Self.signalName(sig))"
        case .requested: why = "on request"
        case .error: why = "by an error"
        }
        var s =
            "Capture: \(Self.resolve(interface)), \(capture.framesCaptured) packet\(capture.framesCaptured == 1 ? "" : "s") "
            + "in \(Format.fixed(capture.elapsedSeconds, 3))s, stopped \(why)"
        if let stats {
            s +=
                "; kernel: \(stats.received) received by filter, \(stats.droppedByKernel) dropped by kernel, "
                + "\(stats.droppedByInterface) dropped by interface"
        }
        if let write { s += "; saved to \(write)" }
        return s
    }

    /// Reports what went wrong at the end; true when the exit status must say so.
    func report(_ readError: CaptureError?, _ writeError: CaptureError?, _ stats: CaptureStatistics?) -> Bool {
        if let stats, stats.droppedByKernel > 0 {
            Diagnostics.note(
                "warning: the kernel dropped \(stats.droppedByKernel) packets (states after a gap may be guessed); "
                    + "try a larger --buffer-size, a smaller --snaplen or a narrower --filter")
        }
        if let readError { Diagnostics.error(readError.description) }
        if let writeError { Diagnostics.error(writeError.description) }
        return readError != nil || writeError != nil
    }

    static func signalName(_ sig: Int32) -> String {
        switch sig {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGHUP: return "SIGHUP"
        default: return "signal \(sig)"
        }
    }
}

// MARK: - Text events

/// Prints each event as a line when it happens (or keeps the last ones for --top), and keeps only
/// counters for the final totals, so memory stays flat however long the capture runs.
struct LiveTextSink: EventSink {
    var out: FDOutput
    /// Print events as they come; false under --top, where the last ones are kept for the screen.
    var stream: Bool
    var totals = RunTotals()
    /// Colour anomalies by severity and entries into stuck states (a terminal, `LiveColor`).
    var color = false
    /// Under --top: the last events, by capture time, without their clocks (the display adds them).
    private(set) var recent = RecentEvents(capacity: 200)
    /// The latest capture time of an event so far: a `finished` event has no time of its own, and
    /// in the --top pane it is placed here (or at the connection's last segment, if later).
    private(set) var captureClock: Int64 = .min
    /// Set when the capture has stopped: collects the connections reported at the end, for the table.
    var atEnd: TextReportSink?

    init(out: FDOutput, stream: Bool) {
        self.out = out
        self.stream = stream
    }

    mutating func consume(_ event: TrackerEvent) {
        totals.consume(event)
        if atEnd != nil {
            atEnd!.consume(event)
            // The table printed at the end shows the connections still held; list the rest.
            if case .finished = event { return }
        }
        if stream {
            guard var line = LiveText.line(event, now: wallClockNanos()) else { return }
            if color { line = LiveColor.paint(line, event) }
            out.write(line + "\n")
            out.flush()
        } else {
            if case .finished(let s) = event {
                captureClock = max(captureClock, s.lastTime)
            } else if let t = LiveText.time(event) {
                captureClock = max(captureClock, t)
            }
            guard let entry = LiveText.entry(event, finishedAt: captureClock, millis: true) else { return }
            recent.append(time: entry.time, entry.text)
        }
    }
}

/// One line per event: `HH:MM:SS.uuuuuu  conn ID  frame N  what`.
enum LiveText {
    /// Local time of day with `places` decimals of a second (6, microseconds, for the event stream;
    /// --top shows 3 everywhere).
    static func clock(_ nanos: Int64, places: Int = 6) -> String {
        var t = time_t(nanos / 1_000_000_000)
        var parts = tm()
        localtime_r(&t, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        var divisor: Int64 = 1_000_000_000
        for _ in 0..<min(max(places, 0), 9) { divisor /= 10 }
        let fraction = String((nanos % 1_000_000_000) / divisor)
        let hms = "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
        guard places > 0 else { return hms }
        return hms + "." + String(repeating: "0", count: max(0, places - fraction.count)) + fraction
    }

    static func id(_ ref: ConnectionRef) -> String {
        ref.incarnation > 1 ? "\(ref.id).\(ref.incarnation)" : "\(ref.id)"
    }

    /// What follows the clock: `  conn 1     frame 3       `.
    static func tail(_ ref: ConnectionRef, _ frame: FrameRef?) -> String {
        "  conn " + pad(id(ref), 4) + "  frame " + pad(frame.map { "\($0.number)" } ?? "—", 6) + "  "
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }

    static func state(_ s: TCPState, _ e: Evidence) -> String {
        e == .observed ? s.name : "\(s.name) (\(e.name))"
    }

    /// `HH:MM:SS.uuuuuu  conn ID  frame N  what`, a `finished` line at `now`.
    static func line(_ event: TrackerEvent, now: Int64) -> String? {
        entry(event, finishedAt: now).map { clock($0.time) + $0.text }
    }

    /// The capture time of an event (nil for `finished`, which has none of its own).
    static func time(_ event: TrackerEvent) -> Int64? {
        switch event {
        case .opened(let s): return s.firstTime
        case .transition(let t): return t.time
        case .confirmation(let c): return c.time
        case .anomaly(let a): return a.time
        case .finished: return nil
        }
    }

    /// An event's time and its line without the clock; `finished` is placed at `finishedAt`.
    /// `millis`: durations with milliseconds, as everywhere in --top.
    static func entry(_ event: TrackerEvent, finishedAt now: Int64, millis: Bool = false) -> (time: Int64, text: String)? {
        switch event {
        case .opened(let s):
            var notes: [String] = []
            if s.midstream { notes.append("midstream") }
            if s.clientGuessed { notes.append("client guessed from the ports") }
            return (
                s.firstTime,
                tail(s.ref, s.firstFrame) + "opened    \(s.client) → \(s.server)"
                    + (s.ref.incarnation > 1 ? "  (incarnation \(s.ref.incarnation))" : "")
                    + (notes.isEmpty ? "" : "  [" + notes.joined(separator: ", ") + "]")
            )
        case .transition(let t):
            return (
                t.time,
                tail(t.connection, t.frame)
                    + "\(pad(t.endpoint.name, 6))    \(t.from.name) → \(t.to.name)  [\(t.evidence.name); \(t.cause.name)]"
            )
        case .confirmation(let c):
            return (
                c.time,
                tail(c.connection, c.frame)
                    + "\(pad(c.endpoint.name, 6))    \(c.state.name) confirmed by its own segment"
            )
        case .anomaly(let a):
            return (a.time, tail(a.connection, a.frame) + "!         \(a.code.code) (\(a.severity.name)): \(a.message)")
        case .finished(let s):
            var flags: [String] = []
            if s.refused { flags.append("refused") }
            if s.reset { flags.append("reset") }
            if s.anomalyCount > 0 { flags.append("\(s.anomalyCount) anomal\(s.anomalyCount == 1 ? "y" : "ies")") }
            return (
                now,
                tail(s.ref, nil)
                    + "finished  client \(state(s.clientState, s.clientEvidence)), server \(state(s.serverState, s.serverEvidence))"
                    + "  (\((s.endReason ?? .endOfCapture).name); \(s.packetsFromClient + s.packetsFromServer) packets, "
                    + "\(s.bytesFromClient)/\(s.bytesFromServer) bytes, \(millis ? Format.millisDuration(s.durationNanos) : Format.duration(s.durationNanos)), "
                    + "last frame \(s.lastFrame.number))"
                    + (flags.isEmpty ? "" : "  [" + flags.joined(separator: ", ") + "]")
            )
        }
    }
}

/// The screen of `live --top`. Every time in it has one precision, milliseconds: the clock in the
/// header and on each event (local time of day), the uptime, AGE and IDLE, and durations in the
/// event lines. Its event pane is in capture-time order (`RecentEvents`).
struct TopDisplay {
    var interface: String
    var filter: String?

    /// `12:34:56.789`.
    static func clock(_ nanos: Int64) -> String { LiveText.clock(nanos, places: 3) }

    static let home = "\u{1B}[H"
    static let clearLine = "\u{1B}[K"
    static let clearBelow = "\u{1B}[J"

    /// Rows and columns of the terminal on standard output (24×80 when unknown).
    static func terminalSize() -> (rows: Int, columns: Int) {
        var ws = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_row > 0, ws.ws_col > 0 {
            return (Int(ws.ws_row), Int(ws.ws_col))
        }
        return (24, 80)
    }

    func render(
        _ held: [ConnectionSummary], recent: RecentEvents, totals: RunTotals, frames: UInt64,
        elapsed: Double, now: Int64
    ) -> String {
        let (rows, columns) = Self.terminalSize()
        var lines: [String] = []
        lines.append(
            "\(interface)" + (filter.map { " '\($0)'" } ?? "")
                + " · \(Self.clock(now)) · up \(Format.millisDuration(Int64(elapsed * 1e9)))"
                + " · \(frames) packets · \(held.count) held · \(totals.connections) finished"
                + " · \(totals.anomalyTotal) anomalies · Ctrl-C stops")
        lines.append("")
        let sorted = held.sorted { ($0.lastTime, $0.ref.id) > ($1.lastTime, $1.ref.id) }
        var table: [[String]] = [
            [
                "ID", "CLIENT", "SERVER", "CLIENT STATE", "SERVER STATE", "AGE", "IDLE",
                "PKTS", "BYTES C>S", "BYTES S>C", "ANOM"
            ]
        ]
        let budget = rows - 1
        let eventRows = recent.isEmpty ? 0 : min(recent.count, max(3, budget / 3))
        let tableRows = max(1, budget - lines.count - 1 - (eventRows > 0 ? eventRows + 2 : 0))
        let shown = sorted.count > tableRows ? tableRows - 1 : sorted.count
        for c in sorted.prefix(max(0, shown)) {
            table.append([
                LiveText.id(c.ref), c.client.description + (c.clientGuessed ? "?" : ""), c.server.description,
                LiveText.state(c.clientState, c.clientEvidence), LiveText.state(c.serverState, c.serverEvidence),
                Format.millisDuration(now - c.firstTime), Format.millisDuration(now - c.lastTime),
                "\(c.packetsFromClient + c.packetsFromServer)", "\(c.bytesFromClient)", "\(c.bytesFromServer)",
                "\(c.anomalyCount)"
            ])
        }
        var widths = [Int](repeating: 0, count: table[0].count)
        for r in table { for (i, cell) in r.enumerated() { widths[i] = max(widths[i], cell.count) } }
        let numeric: Set<Int> = [0, 5, 6, 7, 8, 9, 10]
        for r in table {
            lines.append(
                r.enumerated().map { i, cell in
                    let fill = String(repeating: " ", count: widths[i] - cell.count)
                    return numeric.contains(i) ? fill + cell : cell + fill
                }.joined(separator: "  "))
        }
        if sorted.count > shown { lines.append("… \(sorted.count - shown) more") }
        if held.isEmpty { lines.append("(no connection held)") }
        if eventRows > 0 {
            lines.append("")
            lines.append("Recent events:")
            lines += recent.latest(eventRows).map { Self.clock($0.time) + $0.text }
        }
        var screen = Self.home
        for l in lines.prefix(budget) {
            screen += (l.count > columns ? String(l.prefix(columns)) : l) + Self.clearLine + "\n"
        }
        return screen + Self.clearBelow
    }
}

// MARK: - wirestate interfaces

struct Interfaces: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the devices libpcap can capture on, with their addresses and flags.",
        discussion: "Listing needs no privileges; capturing on one (wirestate live -i NAME, or -i N with the number shown) does."
    )

    func run() throws {
        let devices: [CaptureDevice]
        do { devices = try CaptureDevice.all() } catch {
            Diagnostics.error(error.description)
            throw ExitCode(2)
        }
        var out = StandardOutput()
        out.write(Self.render(devices))
        out.flush()
        try checkStandardOutput()
    }

    static func render(_ devices: [CaptureDevice]) -> String {
        guard !devices.isEmpty else {
            return "No capture devices found (libpcap lists only what this user may see).\n"
        }
        let width = min(24, devices.map(\.name.count).max() ?? 0)
        var out = ""
        for (n, d) in devices.enumerated() {
            let number = "\(n + 1).".padding(3)
            out += number + " " + d.name.padding(width) + "  " + d.flagNames.joined(separator: ", ")
            if let description = d.description, !description.isEmpty { out += "  — \(description)" }
            out += "\n"
            let indent = String(repeating: " ", count: 4 + width + 2)
            for a in d.addresses {
                var line = indent + a.family.name.padding(5) + " " + a.address
                if let p = a.prefixLength, a.family != .link { line += "/\(p)" }
                if let b = a.broadcast { line += "  broadcast \(b)" }
                if let dst = a.destination { line += "  peer \(dst)" }
                out += line + "\n"
            }
        }
        return out
    }
}

private extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
