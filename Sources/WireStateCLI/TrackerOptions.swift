import ArgumentParser
import WireStateTracker

/// Tracker options shared by every subcommand that analyses packets.
struct TrackerOptions: ParsableArguments {
    @Option(name: .long, help: "Maximum segment lifetime in seconds; TIME_WAIT lasts 2·MSL of capture time (Linux: 30).")
    var msl: Double = 30

    @Option(name: .long, help: "Seconds a connection whose endpoints are both CLOSED stays to collect stragglers.")
    var closedLinger: Double = 10

    func configuration(idleTimeout: Double? = nil) throws -> ConnectionTracker.Configuration {
        guard msl >= 0, msl.isFinite else { throw ValidationError("--msl must be a non-negative number of seconds") }
        guard closedLinger >= 0, closedLinger.isFinite else { throw ValidationError("--closed-linger must be non-negative") }
        return ConnectionTracker.Configuration(
            msl: Int64(msl * 1e9), closedLinger: Int64(closedLinger * 1e9),
            idleTimeout: idleTimeout.map { Int64($0 * 1e9) })
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, jsonl
    /// A Zeek conn.log (analyze only).
    case zeek
}
