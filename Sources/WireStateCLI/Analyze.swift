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
            + "Exit status: 0 when every file was read to its end, 2 on errors or damaged input "
            + "(what was read before the damage is still reported)."
    )

    @Argument(help: "Capture files (.pcap or .pcapng).")
    var files: [String]

    @Option(name: .long, help: "BPF filter, tcpdump syntax, e.g. 'tcp port 443'.")
    var filter: String?

    @Flag(name: .long, help: "List every state change of each endpoint, with frame and time.")
    var timeline = false

    @Flag(name: .long, help: "Print only the totals.")
    var quiet = false

    @Option(name: .long, help: "Output format: text, jsonl (docs/json-schema.md) or zeek (a Zeek conn.log).")
    var format: OutputFormat = .text

    @OptionGroup var tracker: TrackerOptions

    @OptionGroup var tunnels: TunnelOptions

    /// Without a cap a SYN flood in a file grows memory without bound. A million held at once is
    /// far past real captures (the benchmark's 10M packets hold 33k at once); past it, evictions
    /// are counted and reported, never silent.
    static let defaultMaxConnections = 1_000_000

    func run() throws {
        let config = try tracker.configuration(defaultCap: Self.defaultMaxConnections)
        var failed = false
        switch format {
        case .jsonl:
            var writer = JSONLinesWriter(out: StandardOutput())
            writer.sourceNames = files
            var pipeline = Pipeline(configuration: config, tunnelPorts: tunnels.ports, sink: writer)
            failed = Self.read(files, filter: filter, into: &pipeline)
            pipeline.finish()
            pipeline.sink.writeEnd(inputs: pipeline.inputs)
        case .zeek:
            var pipeline = Pipeline(configuration: config, sink: ZeekConnLog(out: StandardOutput()))
            failed = Self.read(files, filter: filter, into: &pipeline)
            pipeline.finish()
            pipeline.sink.writeEnd(inputs: pipeline.inputs)
        case .text where quiet:
            // Totals only: streamed, nothing kept per finished connection.
            var pipeline = Pipeline(configuration: config, tunnelPorts: tunnels.ports, sink: RunTotals())
            failed = Self.read(files, filter: filter, into: &pipeline)
            pipeline.finish()
            var out = StandardOutput()
            out.write(pipeline.sink.text(inputs: pipeline.inputs))
            out.flush()
        case .text:
            var pipeline = Pipeline(configuration: config, tunnelPorts: tunnels.ports,
                                    sink: AnalysisCollector(keepTimeline: timeline))
            failed = Self.read(files, filter: filter, into: &pipeline)
            pipeline.finish()
            let report = TextReport(collector: pipeline.sink, inputs: pipeline.inputs)
            var out = StandardOutput()
            if !quiet {
                out.write(report.table())
                out.write("\n")
                if timeline { out.write(report.timeline()) }
                let anomalies = report.anomalyList()
                if !anomalies.isEmpty { out.write(anomalies + "\n") }
            }
            out.write(report.totals())
            if !quiet { out.write(report.summary()) }
            out.flush()
        }
        try checkStandardOutput()
        if failed { throw ExitCode(2) }
    }

    /// Reads every file into the pipeline; errors are reported on stderr and remembered, and the
    /// files after a damaged one are still read. Returns whether any input failed.
    static func read<S: EventSink>(_ files: [String], filter: String?, into pipeline: inout Pipeline<S>) -> Bool {
        var failed = false
        for path in files {
            // libpcap first; a pcapng libpcap refuses (mixed link types) falls back to the pure reader.
            if let error = pipeline.runFile(path, filter: filter) {
                failed = true
                Diagnostics.error(error.description + (error.frame != nil ? " (analysis covers the frames before it)" : ""))
            }
        }
        return failed
    }
}
