import ArgumentParser
import WireStateDiagnose
import WireStatePipeline
import WireStateReport
import WireStateTracker

/// `wirestate diagnose`: the same pipeline, inputs, filter and tracker options as `analyze`, with
/// the findings of WireStateDiagnose instead of the table.
struct Diagnose: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Name the trouble in saved captures: stuck closes, refused or unanswered connections, "
            + "full accept queues, TIME_WAIT pile-ups, stalled windows, vanished peers.",
        discussion: "Each finding has a stable code (docs/diagnoses.md), a severity (critical, warning, info), "
            + "a subject (a listener addr:port, or a host and the addr:port it talks to), one sentence, the evidence (counts, "
            + "durations, frames, connection ids as analyze numbers them; 'inferred' when part of it rests on "
            + "what the capture cannot show), likely causes and what to check next on the hosts. "
            + "Exit status: 0 when every file was read to its end, 2 on errors or damaged input."
    )

    @Argument(help: "Capture files (.pcap or .pcapng).")
    var files: [String]

    @Option(name: .long, help: "BPF filter, tcpdump syntax, e.g. 'tcp port 443'.")
    var filter: String?

    @Option(name: .long, help: "Output format: text or jsonl (one {\"type\":\"diagnosis\"} record per finding).")
    var format: DiagnoseFormat = .text

    @OptionGroup var thresholds: DiagnoseThresholds

    @OptionGroup var tracker: TrackerOptions

    @OptionGroup var tunnels: TunnelOptions

    func run() throws {
        let config = try tracker.configuration(defaultCap: Analyze.defaultMaxConnections)
        var collector = DiagnosisCollector(options: try thresholds.options())
        collector.sourceNames = files
        var pipeline = Pipeline(configuration: config, tunnelPorts: tunnels.ports, sink: collector)
        let failed = Analyze.read(files, filter: filter, into: &pipeline)
        pipeline.finish()
        let findings = pipeline.sink.findings()
        var out = StandardOutput()
        switch format {
        case .jsonl:
            for f in findings { out.write(DiagnosisReport.json(f, sourceNames: files) + "\n") }
        case .text:
            for f in findings { out.write(DiagnosisReport.text(f) + "\n") }
            out.write(
                DiagnosisReport.footer(
                    findings, connections: pipeline.sink.connectionCount,
                    frames: pipeline.totalCounters.frames))
        }
        out.flush()
        try checkStandardOutput()
        if failed { throw ExitCode(2) }
    }
}

enum DiagnoseFormat: String, ExpressibleByArgument, CaseIterable {
    case text, jsonl
}

/// The thresholds of docs/diagnoses.md, shared by `diagnose` and `live --diagnose`.
struct DiagnoseThresholds: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "How long an endpoint must hold CLOSE_WAIT, FIN_WAIT_2, SYN_RECEIVED or a zero window before it is reported. "
                + "Above 0, at most 10000000.", valueName: "seconds"))
    var stuckAfter: Double = 2

    @Option(
        name: .long,
        help: ArgumentHelp(
            "TIME_WAIT endpoints held at once on one host toward one addr:port that make a pile-up.", valueName: "count"))
    var timeWaitPileup: Int = 100

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Half-open handshakes to one listener within 10 s, from at least 10 sources, that make a SYN flood.",
            valueName: "count"))
    var synFlood: Int = 50

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A handshake answered this much later than its listener's median (and 4 times it) is slow. Above 0.",
            valueName: "seconds"))
    var slowHandshake: Double = 0.2

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A RST after this long without data, SYN or FIN from either side is an idle reset (an idle timeout), "
                + "reported apart from resets mid-activity. Above 0, at most 10000000.", valueName: "seconds"))
    var idleReset: Double = 5

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The hosts' ephemeral port range (net.ipv4.ip_local_port_range), for the share a TIME_WAIT pile-up holds.",
            valueName: "low-high"))
    var ephemeralPorts: String = "32768-60999"

    func validate() throws { _ = try options() }

    func options() throws -> DiagnoseOptions {
        var o = DiagnoseOptions()
        guard stuckAfter > 0, let n = CaptureTime.nanoseconds(seconds: stuckAfter), n > 0 else {
            throw ValidationError("--stuck-after must be above 0 and at most 10000000 seconds (got \(stuckAfter))")
        }
        o.stuckAfter = n
        guard timeWaitPileup >= 1 else {
            throw ValidationError("--time-wait-pileup must be at least 1 (got \(timeWaitPileup))")
        }
        o.timeWaitPileup = timeWaitPileup
        guard synFlood >= 1 else { throw ValidationError("--syn-flood must be at least 1 (got \(synFlood))") }
        o.synFlood = synFlood
        guard slowHandshake > 0, let sh = CaptureTime.nanoseconds(seconds: slowHandshake), sh > 0 else {
            throw ValidationError("--slow-handshake must be above 0 and at most 10000000 seconds (got \(slowHandshake))")
        }
        o.slowHandshake = sh
        guard idleReset > 0, let ir = CaptureTime.nanoseconds(seconds: idleReset), ir > 0 else {
            throw ValidationError("--idle-reset must be above 0 and at most 10000000 seconds (got \(idleReset))")
        }
        o.idleReset = ir
        let parts = ephemeralPorts.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let lo = Int(parts[0]), let hi = Int(parts[1]), 1 <= lo, lo <= hi, hi <= 65535 else {
            throw ValidationError("--ephemeral-ports must be LOW-HIGH within 1-65535 (got '\(Escaped.text(ephemeralPorts))')")
        }
        o.ephemeralPorts = lo...hi
        return o
    }
}
