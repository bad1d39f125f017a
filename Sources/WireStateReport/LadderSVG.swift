import WireStateTracker

/// The ladder as a standalone SVG: endpoint columns, arrows labelled with flags/seq/ack/len and
/// the frame number, each endpoint's state in a box on its column when it changes (observed:
/// filled; inferred or unknown: hollow, dashed), anomalies in red with their code.
extension LadderDiagram {
    static let clientX = 190, serverX = 650, width = 860, rowHeight = 34, top = 78

    public func svg() -> String {
        var body = ""
        var y = Self.top
        for row in rows {
            y += Self.rowHeight
            switch row {
            case .segment(let s, let states, let anomalies):
                let (x1, x2) = s.fromClient ? (Self.clientX, Self.serverX) : (Self.serverX, Self.clientX)
                let red = !anomalies.isEmpty
                body += "<text x=\"16\" y=\"\(y + 4)\" class=\"frame\">#\(s.frame)</text>\n"
                body +=
                    "<line x1=\"\(x1)\" y1=\"\(y - 8)\" x2=\"\(x2)\" y2=\"\(y + 8)\" class=\"\(red ? "arrow bad" : "arrow")\" marker-end=\"url(#\(red ? "headbad" : "head"))\"/>\n"
                body += "<text x=\"\((x1 + x2) / 2)\" y=\"\(y - 8)\" class=\"seg\">\(Self.escape(Self.label(s)))</text>\n"
                for m in states { body += Self.stateBox(m, y: y + 8) }
                if red {
                    body +=
                        "<text x=\"\((x1 + x2) / 2)\" y=\"\(y + 22)\" class=\"anomaly\">⚠ "
                        + Self.escape(anomalies.map(\.code.code).joined(separator: ", ")) + "</text>\n"
                    y += 12
                }
            case .folded(let n, let c, let s, let first, let last, let bytes):
                body += "<text x=\"16\" y=\"\(y + 4)\" class=\"frame\">#\(first)–\(last)</text>\n"
                body += "<rect x=\"\(Self.clientX + 20)\" y=\"\(y - 12)\" width=\"\(Self.serverX - Self.clientX - 40)\" height=\"22\" class=\"fold\"/>\n"
                body +=
                    "<text x=\"\((Self.clientX + Self.serverX) / 2)\" y=\"\(y + 3)\" class=\"seg\">"
                    + Self.escape(Self.foldedLabel(count: n, fromClient: c, fromServer: s, bytes: bytes)) + "</text>\n"
            case .note(let states, let anomalies):
                body += "<text x=\"16\" y=\"\(y + 4)\" class=\"frame\">timer</text>\n"
                for m in states { body += Self.stateBox(m, y: y) }
                if !anomalies.isEmpty {
                    body +=
                        "<text x=\"\((Self.clientX + Self.serverX) / 2)\" y=\"\(y + 4)\" class=\"anomaly\">⚠ "
                        + Self.escape(anomalies.map(\.code.code).joined(separator: ", ")) + "</text>\n"
                }
            }
        }
        let height = y + 60
        var out =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Self.width)\" height=\"\(height)\" viewBox=\"0 0 \(Self.width) \(height)\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
        out += """
            <style>
            .frame{font-size:11px;fill:#555}
            .seg{font-size:11px;fill:#222;text-anchor:middle}
            .head{font-size:13px;font-weight:bold;text-anchor:middle}
            .arrow{stroke:#333;stroke-width:1.4}
            .arrow.bad{stroke:#c00000}
            .anomaly{font-size:11px;fill:#c00000;font-weight:bold;text-anchor:middle}
            .life{stroke:#999;stroke-width:1;stroke-dasharray:2 3}
            .observed{fill:#1f4e99;stroke:#1f4e99}
            .inferred{fill:#ffffff;stroke:#1f4e99;stroke-dasharray:3 2}
            .statetext{font-size:10px;text-anchor:middle}
            .fold{fill:#f2f2f2;stroke:#bbb}
            </style>
            <defs><marker id="head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker>
            <marker id="headbad" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#c00000"/></marker></defs>
            <rect width="100%" height="100%" fill="#ffffff"/>

            """
        out += "<text x=\"\(Self.clientX)\" y=\"30\" class=\"head\">client \(Self.escape(connection.client.description))</text>\n"
        out += "<text x=\"\(Self.serverX)\" y=\"30\" class=\"head\">server \(Self.escape(connection.server.description))</text>\n"
        out +=
            "<text x=\"\(Self.width / 2)\" y=\"52\" class=\"seg\">connection \(connection.ref.id)"
            + (connection.ref.incarnation > 1 ? " (incarnation \(connection.ref.incarnation))" : "")
            + " · filled box: observed state · hollow: inferred</text>\n"
        out += "<line x1=\"\(Self.clientX)\" y1=\"\(Self.top)\" x2=\"\(Self.clientX)\" y2=\"\(height - 30)\" class=\"life\"/>\n"
        out += "<line x1=\"\(Self.serverX)\" y1=\"\(Self.top)\" x2=\"\(Self.serverX)\" y2=\"\(height - 30)\" class=\"life\"/>\n"
        out += body
        out +=
            "<text x=\"\(Self.width / 2)\" y=\"\(height - 12)\" class=\"seg\">final: client \(connection.clientState.name) (\(connection.clientEvidence.name)), server \(connection.serverState.name) (\(connection.serverEvidence.name))</text>\n"
        return out + "</svg>\n"
    }

    /// A state box on the endpoint's column, outside the arrows (left of the client, right of the server).
    static func stateBox(_ m: StateMark, y: Int) -> String {
        let w = 104
        let x = m.role == .client ? clientX - w - 6 : serverX + 6
        let observed = m.evidence == .observed
        return "<rect x=\"\(x)\" y=\"\(y - 9)\" width=\"\(w)\" height=\"16\" rx=\"3\" class=\"\(observed ? "observed" : "inferred")\"/>"
            + "<text x=\"\(x + w / 2)\" y=\"\(y + 3)\" class=\"statetext\" fill=\"\(observed ? "#ffffff" : "#1f4e99")\">\(m.state.name)</text>\n"
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(ch)
            }
        }
        return out
    }
}
