import WireStateTracker

/// The connection table, fitted to a width: below the natural width, columns are merged, shortened
/// and dropped in a fixed order (so the same terminal always shows the same columns), and a row that
/// still does not fit is cut with `…`, never wrapped.
///
/// Written row by row: a column is its header and how to make a cell, and the cells are made twice,
/// once to measure the columns' widths and once to write each row. Holding every cell as a string
/// cost a kilobyte a row with `--limit 0` (every connection shown) against the row's 128 bytes.
struct ConnectionTable {
    /// One column: its header, whether numbers (right-aligned), and how to make a row's cell.
    struct Column {
        var header: String
        var numeric: Bool
        var cell: (TextRow) -> String
        /// The state each cell shows (colours stuck states).
        var state: ((TextRow) -> TCPState)? = nil
        /// Names what the cells show at this level (short states are another column).
        var key: String
    }

    var report: TextReport
    var rows: BlockStore<TextRow>
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
        func column(_ header: String, numeric: Bool, key: String? = nil, _ cell: @escaping (TextRow) -> String) -> Column {
            Column(header: header, numeric: numeric, cell: cell, key: key ?? header)
        }
        var cols: [Column] = []
        cols.append(column("ID", numeric: true) { "\($0.id)" })
        if rows.contains(where: { $0.incarnation > 1 }) {
            cols.append(column("INC", numeric: true) { "\($0.incarnation)" })
        }
        if level < 3 { cols.append(column("START", numeric: false, start)) }
        cols.append(column("CLIENT", numeric: false) { $0.client.description + ($0.clientGuessed ? "?" : "") })
        cols.append(column("SERVER", numeric: false) { $0.server.description })
        let short = level >= 2
        var clientState = column("CLIENT STATE", numeric: false, key: short ? "client state" : nil) {
            stateCell($0.clientState, $0.clientEvidence, short: short)
        }
        clientState.state = { $0.clientState }
        var serverState = column("SERVER STATE", numeric: false, key: short ? "server state" : nil) {
            stateCell($0.serverState, $0.serverEvidence, short: short)
        }
        serverState.state = { $0.serverState }
        cols += [clientState, serverState]
        if level == 0 {
            cols.append(column("PKTS C>S", numeric: true) { "\($0.packetsFromClient)" })
            cols.append(column("PKTS S>C", numeric: true) { "\($0.packetsFromServer)" })
            cols.append(column("BYTES C>S", numeric: true) { "\($0.bytesFromClient)" })
            cols.append(column("BYTES S>C", numeric: true) { "\($0.bytesFromServer)" })
        } else {
            if level < 6 { cols.append(column("PKTS", numeric: true) { "\($0.packetsFromClient &+ $0.packetsFromServer)" }) }
            if level < 5 { cols.append(column("BYTES", numeric: true) { "\($0.bytesFromClient &+ $0.bytesFromServer)" }) }
        }
        if level < 4 { cols.append(column("DURATION", numeric: false) { Format.duration($0.durationNanos) }) }
        cols.append(column("ANOMALIES", numeric: false, anomalyCell))
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

    /// Each column's width (its widest cell or its header), measured once per kind of column
    /// whatever the number of levels tried.
    struct Widths {
        private var measured: [String: Int] = [:]
        mutating func of(_ col: Column, in rows: BlockStore<TextRow>) -> Int {
            if let w = measured[col.key] { return w }
            var w = col.header.count
            for r in rows { w = max(w, col.cell(r).count) }
            measured[col.key] = w
            return w
        }
    }

    func render() -> String {
        var out = StringSink()
        write(to: &out)
        return out.text
    }

    /// Writes the table (header, then a line per row) and its footnotes.
    func write<Out: TextSink>(to out: inout Out) {
        var level = 0
        var measure = Widths()
        var cols = columns(level: 0)
        var widths = cols.map { measure.of($0, in: rows) }
        if let limit = view.width {
            // The width of a row at this level: the last column counted at its widest.
            while level < 6 && widths.reduce(0, +) + 2 * (cols.count - 1) > limit {
                level += 1
                cols = columns(level: level)
                widths = cols.map { measure.of($0, in: rows) }
            }
        }
        for r in -1..<rows.count {
            if out.isClosed { return }
            var line = ""
            var visible = 0
            for (i, col) in cols.enumerated() {
                let row = r < 0 ? nil : rows[r]
                let cell = row.map(col.cell) ?? col.header
                let last = i == cols.count - 1
                var text = last ? cell : (col.numeric ? Format.padLeft(cell, widths[i]) : Format.pad(cell, widths[i]))
                if let limit = view.width, visible + text.count > limit {
                    // Cut, never wrap: the row ends at the terminal's edge.
                    text = String(text.prefix(max(0, limit - visible - 1))) + "…"
                    line += paint(text, col, row)
                    visible = limit
                    break
                }
                visible += text.count
                line += paint(text, col, row)
                if !last {
                    if let limit = view.width, visible + 2 > limit { break }
                    line += "  "
                    visible += 2
                }
            }
            out.write(line + "\n")
        }
        if rows.contains(where: \.clientGuessed) {
            out.write("? client guessed from the ports: no SYN was captured\n")
        }
        if level >= 2 && rows.contains(where: { $0.clientEvidence != .observed || $0.serverEvidence != .observed }) {
            out.write("(i) inferred, (u) unknown; columns fitted to \(view.width ?? 0) characters (wider terminal or a pipe for all)\n")
        }
    }

    func paint(_ text: String, _ col: Column, _ row: TextRow?) -> String {
        guard view.color, let row else { return text }
        if let state = col.state { return view.paint(state: text, state(row)) }
        if col.header == "ANOMALIES" && row.violationCount > 0 { return view.paint(text, .violation) }
        return text
    }
}
