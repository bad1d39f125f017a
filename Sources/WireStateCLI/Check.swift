import ArgumentParser
import WireStateCheck
import WireStateReport

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare captures with their expectation files (CI regression over captured connections).",
        discussion: """
            Each capture (.pcap, .pcapng, .cap; directories are searched recursively, hidden ones skipped) \
            is analysed exactly as `analyze` does and compared with the expectation file beside it \
            (login.pcap → login.expect): final client and server states, each endpoint's transitions with \
            frame numbers, anomalies by code, and hand-written rules over all connections. Grammar: \
            docs/expectations.md.

            --update writes or refreshes the expectation files from what the captures show, keeping rules, \
            comments and everything outside the generated block. Rules are still checked after an update.

            With GITHUB_ACTIONS=true, every mismatch and error is also printed as a GitHub Actions annotation.

            Exit status: 0 when every capture matches; 1 when something does not match or a capture has no \
            expectation file; 2 when something could not be checked (unreadable or damaged capture, bad \
            expectation syntax, missing path, unwritable --junit file).
            """
    )

    @Argument(help: "Capture files or directories to search for captures.")
    var paths: [String]

    @Flag(name: .long, help: "Write or refresh each capture's expectation file from what is seen (keeps rules and comments).")
    var update = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Also write a JUnit XML report (one test case per capture) to this file.",
            valueName: "file"))
    var junit: String?

    @Flag(name: .long, help: "Print only failures, errors and the summary.")
    var quiet = false

    @OptionGroup var tracker: TrackerOptions

    @OptionGroup var tunnels: TunnelOptions

    func run() throws {
        let options = Checker.Options(
            update: update, configuration: try tracker.configuration(),
            tunnelPorts: tunnels.ports)
        var out = StandardOutput()
        let discovery = Checker.discover(paths)
        for note in discovery.notes { Diagnostics.note(note) }

        var outcomes: [CaptureOutcome] = []
        func show(_ o: CaptureOutcome) {
            outcomes.append(o)
            if quiet && o.status == .passed { return }
            out.write(CheckReport.text(o))
            out.flush()
        }
        for entry in discovery.entries {
            switch entry {
            case .problem(let outcome): show(outcome)
            case .target(let target): show(Checker.check(target, options: options))
            }
        }

        if RunInfo.environment("GITHUB_ACTIONS") == "true" {
            for line in GitHubAnnotations.lines(outcomes) { out.write(line + "\n") }
        }

        var junitFailed = false
        if let junit {
            var properties: [(name: String, value: String)] = [
                ("update", "\(update)"), ("msl", "\(tracker.msl)"),
                ("closed-linger", "\(tracker.closedLinger)")
            ]
            properties += paths.map { ("path", $0) }
            let writer = JUnitWriter(timestamp: RunInfo.timestamp(), hostname: RunInfo.hostname(), properties: properties)
            do throws(CheckError) {
                try FileSystem.write(junit, writer.xml(outcomes))
            } catch {
                junitFailed = true
                Diagnostics.error(error.description)
            }
        }

        out.write(CheckReport.summary(outcomes) + "\n")
        out.flush()
        let code = junitFailed ? 2 : CheckReport.exitCode(outcomes)
        try checkStandardOutput()
        if code != 0 { throw ExitCode(code) }
    }
}
