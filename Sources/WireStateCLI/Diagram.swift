#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
import ArgumentParser
import WireStateCapture
import WireStatePipeline
import WireStateReport
import WireStateTracker

struct Diagram: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw one connection as a ladder diagram, or a capture's state graph.",
        discussion: "With --connection ID (the ID column of analyze, `3` or `3.2` for an incarnation): a "
            + "ladder of its segments with each endpoint's states (observed filled, inferred hollow) and "
            + "anomalies in red; runs of data segments are folded. With --states: every transition of the "
            + "capture, counted per role. Formats: svg (default with -o FILE.svg), text (default on a "
            + "terminal), mermaid, dot (--states only)."
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case svg, text, mermaid, dot }

    @Argument(help: "A capture file (.pcap or .pcapng).")
    var file: String

    @Option(name: .long, help: "The connection to draw (analyze's ID column).")
    var connection: String?

    @Flag(name: .long, help: "Draw the state graph of all transitions instead.")
    var states = false

    @Option(name: .long, help: "svg, text, mermaid or dot.")
    var format: Format?

    @Option(name: [.short, .customLong("output")], help: "Write to this file instead of standard output.")
    var output: String?

    @OptionGroup var tracker: TrackerOptions

    func validate() throws {
        if states == (connection != nil) { throw ValidationError("give either --connection ID or --states") }
        if format == .dot && !states { throw ValidationError("--format dot is for --states; a ladder is svg, text or mermaid") }
    }

    func run() throws {
        let config = try tracker.configuration()
        let format = self.format ?? (output?.hasSuffix(".svg") == true ? .svg : (states ? .dot : .text))
        let text: String
        if states {
            var pipeline = Pipeline(configuration: config, sink: StateGraph())
            try read(&pipeline)
            switch format {
            case .svg: text = pipeline.sink.svg()
            case .mermaid: text = pipeline.sink.mermaid()
            default: text = pipeline.sink.dot()
            }
        } else {
            var pipeline = Pipeline(configuration: config, sink: AnalysisCollector(keepTimeline: true))
            try read(&pipeline)
            let wanted = connection ?? ""
            guard
                let c = pipeline.sink.sortedConnections.first(where: {
                    ($0.ref.incarnation > 1 ? "\($0.ref.id).\($0.ref.incarnation)" : "\($0.ref.id)") == wanted || "\($0.ref.id)" == wanted
                })
            else {
                throw ValidationError("no connection \(wanted) in \(file) (analyze lists the IDs)")
            }
            let ladder = LadderDiagram(
                connection: c, segments: try LadderDiagram.segments(path: file, of: c),
                events: pipeline.sink.timeline[c.ref.id] ?? [])
            switch format {
            case .svg: text = ladder.svg()
            case .mermaid: text = ladder.mermaid()
            default: text = ladder.text()
            }
        }
        if let output {
            guard let f = fopen(output, "w") else { throw ValidationError("cannot write \(output)") }
            fputs(text, f)
            fclose(f)
        } else {
            var out = StandardOutput()
            out.write(text)
            out.flush()
            try checkStandardOutput()
        }
    }

    func read<S: EventSink>(_ pipeline: inout Pipeline<S>) throws {
        let source = try PcapFile(path: file)
        if let error = pipeline.run(source) { throw ValidationError(error.description) }
        pipeline.finish()
    }
}
