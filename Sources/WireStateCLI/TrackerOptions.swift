import ArgumentParser
import WireStateTracker

/// Tracker options shared by every subcommand that analyses packets.
///
/// Every duration is checked against a documented range before anything is read, so a value that
/// cannot be represented (`--msl 1e300`) is a usage error, never an overflow later.
struct TrackerOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Maximum segment lifetime; TIME_WAIT lasts 2·MSL of capture time (Linux: 30). Above 0, at most 10000000.",
            valueName: "seconds"))
    var msl: Double = 30

    @Option(
        name: .long,
        help: ArgumentHelp(
            "How long a connection whose endpoints are both CLOSED stays to collect stragglers. 0 to 10000000.",
            valueName: "seconds"))
    var closedLinger: Double = 10

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Most connections held at once; past it the quietest unfinished handshake (else the quietest connection) "
                + "is evicted, counted and reported. 0: no cap.",
            valueName: "count"))
    var maxConnections: Int?

    func validate() throws {
        _ = try configuration()
    }

    /// The configuration these options give; `defaultCap` applies when `--max-connections` is not given.
    func configuration(idleTimeout: Double? = nil, defaultCap: Int? = nil) throws -> ConnectionTracker.Configuration {
        guard msl > 0, let mslNanos = CaptureTime.nanoseconds(seconds: msl), mslNanos > 0 else {
            throw ValidationError("--msl must be above 0 and at most 10000000 seconds (got \(msl))")
        }
        guard let linger = CaptureTime.nanoseconds(seconds: closedLinger) else {
            throw ValidationError("--closed-linger must be 0 to 10000000 seconds (got \(closedLinger))")
        }
        var idle: Int64? = nil
        if let idleTimeout {
            guard let n = CaptureTime.nanoseconds(seconds: idleTimeout) else {
                throw ValidationError("--idle-timeout must be 0 to 10000000 seconds (got \(idleTimeout))")
            }
            idle = n > 0 ? n : nil
        }
        if let maxConnections, maxConnections < 0 {
            throw ValidationError("--max-connections must be 0 (no cap) or a positive count (got \(maxConnections))")
        }
        let cap = maxConnections.map { $0 == 0 ? nil : $0 } ?? defaultCap
        return ConnectionTracker.Configuration(msl: mslNanos, closedLinger: linger, idleTimeout: idle, maxConnections: cap)
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, jsonl
    /// A Zeek conn.log (analyze only).
    case zeek
}
