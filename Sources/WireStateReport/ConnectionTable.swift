import WireStateTracker

/// The connection table, fitted to a width: below the natural width, columns are merged, shortened
/// and dropped in a fixed order (so the same terminal always shows the same columns), and a row that
/// still does not fit is cut with `…`, never wrapped.
struct ConnectionTable {
    /// One column: its header, whether numbers (right-aligned), and a cell per row.
    struct Column {
        var header: String
        var numeric: Bool
        var cells: [String]
        /// The state each cell shows (colours stuck states).
        var states: [TCPState]? = nil
        var width: Int { max(header.count, cells.map(\.count).max() ?? 0) }
    }

    var report: TextReport
    var rows: [TextRow]
    var view: ReportView

    func stateCell(_ s: TCPState, _ e: Evidence, short: Bool) -> String {
        guard short else { return TextReport.stateCell(s, e) }
        switch e {
        case .observed: return s.name
        case .inferred: return s.name + " (i)"
        case .unknown: return s.name + " (u)"
        }
    }

    func start(_ c: TextRow) -> String {
        switch view.time {
        case .absolute:
            // Time of day, UTC; the date is in the timeline and the JSON.
            let full = Format.rfc3339(c.firstTime)
            let t = full.firstIndex(of: "T").map { full.index(after: $0) } ?? full.startIndex
            return String(full[t..<full.index(full.endIndex, offsetBy: -4)])
        case .relative, .delta:
            return Format.offset(c.firstTime, from: report.sink.firstTime ?? c.firstTime)
        }
    }

    /// The columns at a level of squeezing: 0 all, 1 merged counts, 2 short states, 3 no START,
    /// 4 no DURATION, 5 no BYTES, 6 no PKTS.
    func columns(level: Int) -> [Column] {
        var cols: [Column] = []
        cols.append(Column(header: "ID", numeric: true, cells: rows.map { "\($0.id)" }))
        if rows.contains(where: { $0.incarnation > 1 }) {
            cols.append(Column(header: "INC", numeric: true, cells: rows.map { "\($0.incarnation)" }))
        }
        if level < 3 { cols.append(Column(header: "START", numeric: false, cells: rows.map(start))) }
        cols.append(Column(header: "CLIENT", numeric: false, cells: rows.map { $0.client.description + ($0.clientGuessed ? "?" : "") }))
        cols.append(Column(header: "SERVER", numeric: false, cells: rows.map { $0.server.description }))
        let short = level >= 2
        cols.append(
            Column(
                header: "CLIENT STATE", numeric: false,
                cells: rows.map { stateCell($0.clientState, $0.clientEvidence, short: short) }, states: rows.map(\.clientState)))
        cols.append(
            Column(
                header: "SERVER STATE", numeric: false,
                cells: rows.map { stateCell($0.serverState, $0.serverEvidence, short: short) }, states: rows.map(\.serverState)))
        if level == 0 {
            cols.append(Column(header: "PKTS C>S", numeric: true, cells: rows.map { "\($0.packetsFromClient)" }))
            cols.append(Column(header: "PKTS S>C", numeric: true, cells: rows.map { "\($0.packetsFromServer)" }))
            cols.append(Column(header: "BYTES C>S", numeric: true, cells: rows.map { "\($0.bytesFromClient)" }))
            cols.append(Column(header: "BYTES S>C", numeric: true, cells: rows.map { "\($0.bytesFromServer)" }))
        } else {
            if level < 6 { cols.append(Column(header: "PKTS", numeric: true, cells: rows.map { "\($0.packetsFromClient &+ $0.packetsFromServer)" })) }
            if level < 5 { cols.append(Column(header: "BYTES", numeric: true, cells: rows.map { "\($0.bytesFromClient &+ $0.bytesFromServer)" })) }
        }
        if level < 4 { cols.append(Column(header: "DURATION", numeric: false, cells: rows.map { Format.duration($0.durationNanos) })) }
        cols.append(Column(header: "ANOMALIES", numeric: false, cells: rows.map(anomalyCell)))
        return cols
    }

    func anomalyCell(_ c: TextRow) -> String {
        var flags: [String] = []
        if c.midstream { flags.append("midstream") }
        if c.refused { flags.append("refused") }
        if c.tunnelID != 0 { flags.append(report.sink.tunnel(of: c).text) }
        let anomalies =
            c.anomalyCount == 0
            ? "0"
            : "\(c.anomalyCount)" + (c.violationCount > 0 ? " (\(c.violationCount) violation\(c.violationCount == 1 ? "" : "s"))" : "")
        return anomalies + (flags.isEmpty ? "" : "  [" + flags.joined(separator: ", ") + "]")
    }

    /// Width of a row at this level (the last column counted at its widest).
    static func width(_ cols: [Column]) -> Int {
        cols.map(\.width).reduce(0, +) + 2 * (cols.count - 1)
    }

    func render() -> String {
        var level = 0
        var cols = columns(level: 0)
        if let limit = view.width {
            while level < 6 && Self.width(cols) > limit {
                level += 1
                cols = columns(level: level)
            }
        }
        let widths = cols.map(\.width)
        var out = ""
        for r in -1..<rows.count {
            var line = ""
            var visible = 0
            for (i, col) in cols.enumerated() {
                let cell = r < 0 ? col.header : col.cells[r]
                let last = i == cols.count - 1
                var text = last ? cell : (col.numeric ? Format.padLeft(cell, widths[i]) : Format.pad(cell, widths[i]))
                if let limit = view.width, visible + text.count > limit {
                    // Cut, never wrap: the row ends at the terminal's edge.
                    text = String(text.prefix(max(0, limit - visible - 1))) + "…"
                    line += paint(text, col, r)
                    visible = limit
                    break
                }
                visible += text.count
                line += paint(text, col, r)
                if !last {
                    if let limit = view.width, visible + 2 > limit { break }
                    line += "  "
                    visible += 2
                }
            }
            out += line + "\n"
        }
        if rows.contains(where: \.clientGuessed) {
            out += "? client guessed from the ports: no SYN was captured\n"
        }
        if level >= 2 && rows.contains(where: { $0.clientEvidence != .observed || $0.serverEvidence != .observed }) {
            out += "(i) inferred, (u) unknown; columns fitted to \(view.width ?? 0) characters (wider terminal or a pipe for all)\n"
        }
        return out
    }

    func paint(_ text: String, _ col: Column, _ row: Int) -> String {
        guard view.color, row >= 0 else { return text }
        if let states = col.states { return view.paint(state: text, states[row]) }
        if col.header == "ANOMALIES" {
            let c = rows[row]
            if c.violationCount > 0 { return view.paint(text, .violation) }
        }
        return text
    }
}
