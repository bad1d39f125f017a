#if canImport(Glibc)
    import Glibc
#endif
import ArgumentParser
import WireStateCapture
import WireStatePipeline
import WireStateReport
import WireStateTracker

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Analyse saved captures (pcap or pcapng) and report every connection's endpoint states.",
        discussion: "Several files are read in order; a file that begins after the previous one ended "
            + "continues it (rotated captures: a connection may span them), one that begins earlier is "
            + "analysed on its own. "
            + "frame numbers are each file's own, counting from 1 like Wireshark's. "
            + "`-` reads standard input; gzip, zstd, xz and bzip2 files (by their magic bytes) are read directly. "
            + "The text report puts the totals and summary first (anomalies counted by code), then a table of at most "
            + "\(AnalyzeView.defaultLimit) connections unless a selection or --limit is given; on a terminal it is fitted "
            + "to the width and paged when longer than the screen. "
            + "Ctrl-C stops reading and prints the report of what was read (marked partial; exit 130). "
            + "Exit status: 0 when every file was read to its end, 2 on errors or damaged input "
            + "(what was read before the damage is still reported), 64 on a usage error.",
        aliases: ["analyse"]
    )

    @Argument(help: "Capture files (.pcap, .pcapng, also compressed; - for standard input).")
    var files: [String] = []

    @Option(
        name: .customShort("r"),
        help: ArgumentHelp(
            "A capture file to read, as tcpdump -r (repeatable; same as the arguments).",
            valueName: "file"))
    var readFiles: [String] = []

    @Option(name: .long, help: "BPF filter, tcpdump syntax, e.g. 'tcp port 443'.")
    var filter: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Analyse only the flows of shard K of N: the runs 1/N … N/N together analyse the input once, "
                + "each reading every frame (docs/scaling.md).",
            valueName: "K/N"))
    var shard: String?

    @Option(
        name: .customLong("threads"),
        help: ArgumentHelp(
            "Threads to use, 1 to \(Self.maxThreads): one reads and writes, the others track connections; "
                + "the output is the one thread's, byte for byte. Default: the usable cores, 1 up to 2 cores, "
                + "at most \(ThreadCount.cap). Ignored with --filter (docs/scaling.md).",
            valueName: "N"))
    var threadsOption: Int?

    /// `--threads`, or the machine's default (`ThreadCount`).
    var threads: Int { threadsOption ?? ThreadCount.machineDefault }

    @Flag(name: .long, help: "List every state change of each endpoint, with frame and time.")
    var timeline = false

    @Flag(name: .long, help: "Print only the totals.")
    var quiet = false

    @Flag(name: .customShort("n"), help: "Accepted for tcpdump habits: names are never resolved anyway.")
    var numeric = false

    @Option(name: .long, help: "Output format: text, jsonl (docs/json-schema.md) or zeek (a Zeek conn.log).")
    var format: OutputFormat = .text

    @OptionGroup(title: "Browsing") var view: AnalyzeView

    @OptionGroup var tracker: TrackerOptions

    @OptionGroup var tunnels: TunnelOptions

    /// Without a cap a SYN flood in a file grows memory without bound. A million held at once is
    /// far past real captures (the benchmark's 10M packets hold 33k at once); past it, evictions
    /// are counted and reported, never silent.
    static let defaultMaxConnections = 1_000_000

    /// More workers than this only add queues: each worker still passes every step.
    static let maxThreads = 64

    var inputs: [String] { readFiles + files }

    /// `--shard`, checked by `validate`.
    var chosenShard: Shard? { shard.flatMap(Shard.init) }

    func validate() throws {
        if threads < 1 || threads > Self.maxThreads {
            throw ValidationError("--threads must be 1 to \(Self.maxThreads) (got \(threads))")
        }
        if let shard, Shard(shard) == nil {
            throw ValidationError("--shard takes K/N with 1 ≤ K ≤ N ≤ \(Shard.maxCount) (got '\(Escaped.text(shard))')")
        }
        guard !inputs.isEmpty else { throw ValidationError("give a capture file to analyse (or - for standard input)") }
        if inputs.filter({ $0 == "-" }).count > 1 { throw ValidationError("standard input (-) can be read once") }
        if quiet && timeline { throw ValidationError("--quiet prints only the totals, so --timeline would show nothing: choose one") }
        if quiet && view.anomalies { throw ValidationError("--quiet prints only the totals, so --anomalies would show nothing: choose one") }
        if quiet, format == .text, let first = view.textOnly.first {
            throw ValidationError("--quiet prints only the totals, which cover every connection, so \(first) would change nothing: choose one")
        }
        if format != .text {
            if timeline {
                throw ValidationError("--timeline is part of the text report; --format \(format.rawValue) already carries every transition")
            }
            if quiet { throw ValidationError("--quiet is for the text report; --format \(format.rawValue) writes records, not totals") }
            if let first = view.textOnly.first {
                throw ValidationError("\(first) shapes the text report; with --format \(format.rawValue) select records downstream (e.g. with jq)")
            }
        }
    }

    func run() throws {
        let config = try tracker.configuration(defaultCap: Self.defaultMaxConnections)
        let selection = try view.selection()
        // Mistakes that would make the whole run useless are one line and no report, before any
        // file is read: a bad filter once (not once per file), a missing file, a directory, a non-capture.
        if let filter, let problem = BPFFilter.problem(filter) { Self.fatal(problem) }
        for path in inputs { if let problem = PcapFile.openProblem(path) { Self.fatal(problem.description) } }

        MallocTuning.apply(threads: threads)
        let watcher = ReadWatcher(showProgress: !quiet && Terminal.isTerminal(2))
        StopSignals.install()
        defer { StopSignals.uninstall() }
        var failed = false
        switch format {
        case .jsonl:
            var writer = JSONLinesWriter(out: StandardOutput())
            writer.sourceNames = inputs
            // A shard's records carry the keys `wirestate merge` needs to rebuild one run's output.
            writer.mergeKeys = chosenShard.map { MergeKey.Run(shard: $0, fileIDs: filter != nil) }
            var pipeline = Pipeline(configuration: config, tunnelPorts: tunnels.ports, sink: writer)
            pipeline.watch = watcher.observe
            pipeline.shard = chosenShard
            pipeline.threads = threads
            pipeline.recordsOrder = chosenShard != nil
            failed = Self.read(inputs, filter: filter, into: &pipeline, watcher: watcher)
            pipeline.finish()
            pipeline.sink.writeEnd(inputs: pipeline.inputs)
        case .zeek:
            var pipeline = Pipeline(configuration: config, tunnelPorts: tunnels.ports, sink: ZeekConnLog(out: StandardOutput()))
            pipeline.watch = watcher.observe
            pipeline.shard = chosenShard
            pipeline.threads = threads
            failed = Self.read(inputs, filter: filter, into: &pipeline, watcher: watcher)
            pipeline.finish()
            pipeline.sink.writeEnd(inputs: pipeline.inputs)
        case .text where quiet:
            // Totals only: streamed, nothing kept per finished connection, and no Zeek view (the
            // totals print none of it).
            var quietConfig = config
            quietConfig.zeekView = false
            var pipeline = Pipeline(configuration: quietConfig, tunnelPorts: tunnels.ports, sink: RunTotals())
            pipeline.watch = watcher.observe
            pipeline.shard = chosenShard
            pipeline.threads = threads
            failed = Self.read(inputs, filter: filter, into: &pipeline, watcher: watcher)
            pipeline.finish()
            if Self.nothingRead(pipeline.inputs) { throw ExitCode(2) }
            var out = StandardOutput()
            if watcher.interrupted { out.write(Self.partialLine) }
            out.write(pipeline.sink.text(inputs: pipeline.inputs))
            out.flush()
        case .text:
            // Rows, totals and the summary are made as connections finish (`TextReportSink`):
            // what is kept is the rows the table can still show, not every connection.
            var pipeline = Pipeline(
                configuration: config, tunnelPorts: tunnels.ports,
                sink: TextReportSink(selection: selection, timeline: timeline, anomalies: view.anomalies))
            pipeline.watch = watcher.observe
            pipeline.shard = chosenShard
            pipeline.threads = threads
            failed = Self.read(inputs, filter: filter, into: &pipeline, watcher: watcher)
            pipeline.finish()
            if Self.nothingRead(pipeline.inputs) { throw ExitCode(2) }
            pipeline.sink.sortRowsForShowing()
            var report = TextReport(sink: pipeline.sink, inputs: pipeline.inputs)
            let color = view.color.enabled()
            report.view = ReportView(
                width: Terminal.isTerminal(1) ? Terminal.size(1)?.columns : nil,
                time: view.timeMode, color: color)
            // Written as it is made (a table of every connection is not first made into one string).
            var out = PagedOutput(enabled: !view.noPager)
            if watcher.interrupted { out.write(Self.partialLine) }
            out.write(report.totals())
            if !quiet {
                out.write(report.summary())
                out.write("\n" + Self.showing(report.rows.count, of: pipeline.sink.connections, selection: selection, described: view.described))
                report.table(to: &out)
                let matched = pipeline.sink.matched
                if matched > report.rows.count {
                    out.write("… \(matched - report.rows.count) more: --limit 0 for all, or choose with --state, --code, --connection, --sort\n")
                }
                if timeline {
                    out.write("\n")
                    report.timeline(to: &out)
                }
                if view.anomalies { report.anomalyList(to: &out, lead: "\n") }
            }
            out.finish()
            if !pipeline.sink.details.canSpill {
                Diagnostics.note("no temporary file could be written for the timelines (TMPDIR, else /tmp): they were kept in memory")
            }
            if pipeline.sink.details.readFailures > 0 {
                Diagnostics.error(
                    "the timelines of \(pipeline.sink.details.readFailures) connections could not be read back from the temporary file they were kept in; they are missing above"
                )
                failed = true
            }
        }
        try checkStandardOutput()
        if watcher.interrupted {
            Diagnostics.note("interrupted: the report is partial")
            throw ExitCode(130)
        }
        if failed { throw ExitCode(2) }
    }

    static let partialLine = "Partial: interrupted (Ctrl-C); the report covers what was read before it\n"

    /// "Showing 3 of 13,664 connections (--state CLOSE_WAIT):" when a selection narrowed the table.
    static func showing(_ shown: Int, of all: Int, selection: ConnectionSelection, described: String) -> String {
        guard selection.narrows else { return "" }
        return "Showing \(shown) of \(all) connection\(all == 1 ? "" : "s") (\(described))\n"
    }

    /// Every input failed before a frame was read (standard input that is not a capture): the error
    /// was said, and an empty report would only hide it.
    static func nothingRead(_ inputs: [InputReport]) -> Bool {
        !inputs.isEmpty && inputs.allSatisfy { $0.error != nil && $0.counters.frames == 0 }
    }

    static func fatal(_ message: String) -> Never {
        Diagnostics.error(message)
        Analyze.exit(withError: ExitCode(2))
    }

    /// Reads every file into the pipeline; errors are reported on stderr and remembered, and the
    /// files after a damaged one are still read. Ctrl-C stops at once. Returns whether any input failed.
    static func read<S: EventSink>(
        _ files: [String], filter: String?, into pipeline: inout Pipeline<S>,
        watcher: ReadWatcher? = nil
    ) -> Bool {
        let watcher = watcher ?? ReadWatcher(showProgress: false)
        var failed = false
        for path in files {
            if watcher.interrupted { break }
            // libpcap first; a pcapng libpcap refuses (mixed link types) falls back to the pure reader.
            let error = pipeline.runFile(path, filter: filter)
            watcher.clear()
            if watcher.interrupted { pipeline.markStopped() }
            // A read broken by Ctrl-C (EINTR on a pipe) is the interruption, not damage.
            if let error, !watcher.interrupted {
                failed = true
                Diagnostics.error(error.description + (error.frame != nil ? " (analysis covers the frames before it)" : ""))
            }
        }
        return failed
    }
}
