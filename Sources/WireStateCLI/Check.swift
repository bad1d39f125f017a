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

            A `wirestate.rules` file in a directory holds rules (no facts) for every capture in it and below \
            it, up to the path named on the command line; all that apply are checked, the capture's own \
            rules first, then the nearest directory's.

            --update writes or refreshes the expectation files from what the captures show, keeping rules, \
            comments and everything outside the generated block. Rules are still checked after an update. \
            It writes a client port the OS chose (the client's port, when 1024 or above) as `*`, so a \
            re-recording passes; --pin-ports writes the numbers. It never drops facts written by hand: a \
            file with hand-written facts, or with a fact loosened by hand inside the generated block, is \
            left as it is and named with its line (exit 2).

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

    @Flag(
        name: .long,
        help: "With --update, write client ports as numbers instead of `*` (the block remembers it for later updates).")
    var pinPorts = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Also write a JUnit XML report (one test case per capture, with its time and the file:line of each failure) to this file.",
            valueName: "file"))
    var junit: String?

    @Flag(name: .long, help: "Print only failures, errors and the summary.")
    var quiet = false

    @OptionGroup var tracker: TrackerOptions

    @OptionGroup var tunnels: TunnelOptions

    func validate() throws {
        if pinPorts && !update {
            throw ValidationError("--pin-ports says how --update writes expectation files; give it with --update")
        }
    }

    func run() throws {
        let clock = ContinuousClock()
        let started = clock.now
        let options = Checker.Options(
            update: update, pinPorts: pinPorts, configuration: try tracker.configuration(),
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
                ("update", "\(update)"), ("pin-ports", "\(pinPorts)"), ("msl", "\(tracker.msl)"),
                ("closed-linger", "\(tracker.closedLinger)")
            ]
            properties += paths.map { ("path", $0) }
            let writer = JUnitWriter(timestamp: RunInfo.timestamp(), hostname: RunInfo.hostname(), properties: properties)
            do throws(CheckError) {
                let d = clock.now - started
                let total = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
                try FileSystem.write(junit, writer.xml(outcomes, totalSeconds: total))
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
