import ArgumentParser
import WireStateReport
import WireStateTracker

/// `analyze`'s options for browsing a big capture: which connections to show, in what order, and
/// how (anomaly details, clock, colour, pager). Totals and the summary always cover the whole run.
struct AnalyzeView: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Show this connection: its ID from the table (7, or 7.2 for one incarnation) or ADDR:PORT-ADDR:PORT. Repeatable.",
            valueName: "id"))
    var connection: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Connections whose client or server ended in STATE (CLOSE_WAIT), or client=STATE / server=STATE. Repeatable.",
            valueName: "state"))
    var state: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Connections with an anomaly of this severity (violation, suspicious, capture-gap, notable). Repeatable.",
            valueName: "severity"))
    var severity: [String] = []

    @Option(name: .long, help: ArgumentHelp("Connections with an anomaly of this code (docs/anomalies.md). Repeatable.", valueName: "code"))
    var code: [String] = []

    @Flag(name: .long, help: "Connections picked up midstream (no handshake captured).")
    var midstream = false

    @Flag(name: .long, help: "Connections closed or refused by a RST.")
    var reset = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Order of the table: start (the file's, the default), duration, packets, bytes or anomalies (largest first).",
            valueName: "key"))
    var sort: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Most connections in the table (default \(AnalyzeView.defaultLimit) when nothing is selected; 0: all).", valueName: "n"))
    var limit: Int?

    @Flag(name: .long, help: "List every anomaly (the default counts them by code in the summary).")
    var anomalies = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Times in the timeline: relative (since the first packet, the default), absolute (UTC) or delta (since the previous line).",
            valueName: "mode"))
    var time: String?

    @Flag(name: .long, help: "Never page the output (a terminal gets `less -FRX` when the report is longer than the screen).")
    var noPager = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Colour severities and stuck states: auto (a terminal without NO_COLOR), always, never.",
            valueName: "when"))
    var color: ColorChoice = .auto

    /// A screenful: the default table of a capture with thousands of connections.
    static let defaultLimit = 50

    var timeMode: ReportView.TimeMode { time.flatMap(ReportView.TimeMode.init(rawValue:)) ?? .relative }

    func validate() throws {
        _ = try selection()
        if let time, ReportView.TimeMode(rawValue: time) == nil {
            throw ValidationError("--time must be relative, absolute or delta (got '\(time)')")
        }
    }

    /// The selection these options give; a value that names nothing is a usage error with a sentence.
    func selection() throws -> ConnectionSelection {
        var s = ConnectionSelection()
        for c in connection {
            guard let pick = ConnectionSelection.connection(c) else {
                throw ValidationError("--connection takes an ID from the table (7, or 7.2) or ADDR:PORT-ADDR:PORT (got '\(c)')")
            }
            s.connections.append(pick)
        }
        for st in state {
            guard let pick = ConnectionSelection.state(st) else {
                throw ValidationError("--state takes an RFC 9293 state (CLOSE_WAIT), or client=STATE / server=STATE (got '\(st)')")
            }
            s.states.append(pick)
        }
        for v in severity {
            guard let sev = Severity(name: v.lowercased()) else {
                throw ValidationError("--severity must be violation, suspicious, capture-gap or notable (got '\(v)')")
            }
            s.severities.append(sev)
        }
        for v in code {
            guard let c = AnomalyCode(code: v.lowercased()) else {
                throw ValidationError("--code: no anomaly code '\(v)' (the codes are listed in docs/anomalies.md)")
            }
            s.codes.append(c)
        }
        s.midstream = midstream
        s.reset = reset
        guard let key = ConnectionSelection.SortKey(rawValue: sort ?? "start") else {
            throw ValidationError("--sort must be start, duration, packets, bytes or anomalies (got '\(sort ?? "")')")
        }
        s.sort = key
        if let limit, limit < 0 { throw ValidationError("--limit must be 0 (all) or a positive count (got \(limit))") }
        s.limit = limit ?? (s.narrows ? nil : Self.defaultLimit)
        if s.limit == 0 { s.limit = nil }
        return s
    }

    /// The selection as it was asked for, for the "Showing N of M" line: `--state CLOSE_WAIT --reset`.
    var described: String {
        var parts: [String] = []
        parts += connection.map { "--connection \($0)" }
        parts += state.map { "--state \($0)" }
        parts += severity.map { "--severity \($0)" }
        parts += code.map { "--code \($0)" }
        if midstream { parts.append("--midstream") }
        if reset { parts.append("--reset") }
        return Escaped.text(parts.joined(separator: " "))
    }

    /// The options given here that only the text report's table can honour: the selection, its
    /// order and size, anomaly details and the timeline's clock. `--format jsonl`/`zeek` and
    /// `--quiet` reject them with a sentence rather than ignore them (records stream as connections
    /// finish, so neither a selection nor an order could be kept without holding them all). An
    /// explicit default (`--sort start`) counts: it promises an order the records do not have.
    /// `--color` and `--no-pager` are not here: they say what not to do to a terminal, and hold
    /// for every format.
    var textOnly: [String] {
        var names: [String] = []
        if !connection.isEmpty { names.append("--connection") }
        if !state.isEmpty { names.append("--state") }
        if !severity.isEmpty { names.append("--severity") }
        if !code.isEmpty { names.append("--code") }
        if midstream { names.append("--midstream") }
        if reset { names.append("--reset") }
        if sort != nil { names.append("--sort") }
        if limit != nil { names.append("--limit") }
        if anomalies { names.append("--anomalies") }
        if time != nil { names.append("--time") }
        return names
    }
}
