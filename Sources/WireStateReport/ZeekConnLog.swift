import WireStatePipeline
import WireStateTracker

/// `--format zeek`: connections as a Zeek conn.log (ASCII writer, tab-separated, with Zeek's
/// header lines), so zeek-cut and Zeek's log readers take WireState's view side by side with the
/// conn.log a user already trusts. One row per connection when it leaves the table.
///
/// `#open`/`#close` carry the first and last capture time (not the wall clock) so the same capture
/// always gives the same file. Fields Zeek fills from analyzers WireState does not have
/// (`service`, `local_orig`, `local_resp`) are unset (`-`); `tunnel_parents` is an empty set.
public struct ZeekConnLog<Out: TextSink>: EventSink {
    public var out: Out
    private var headerWritten = false
    private var lastTime: Int64?
    private var clock = StateClock()

    public static var fields: [(name: String, type: String)] {
        [
            ("ts", "time"), ("uid", "string"), ("id.orig_h", "addr"), ("id.orig_p", "port"), ("id.resp_h", "addr"),
            ("id.resp_p", "port"), ("proto", "enum"), ("service", "string"), ("duration", "interval"),
            ("orig_bytes", "count"), ("resp_bytes", "count"), ("conn_state", "string"), ("local_orig", "bool"),
            ("local_resp", "bool"), ("missed_bytes", "count"), ("history", "string"), ("orig_pkts", "count"),
            ("orig_ip_bytes", "count"), ("resp_pkts", "count"), ("resp_ip_bytes", "count"),
            ("tunnel_parents", "set[string]"), ("community_id", "string")
        ]
    }

    public init(out: Out) {
        self.out = out
    }

    /// Zeek's `time` and `interval` text: seconds with six decimals.
    static func seconds(_ nanos: Int64) -> String { Format.fixed(Double(nanos) / 1e9, 6) }

    mutating func header(at time: Int64) {
        guard !headerWritten else { return }
        headerWritten = true
        out.write("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n")
        out.write("#open\t\(Format.zeekStamp(time))\n")
        out.write("#fields\t" + Self.fields.map(\.name).joined(separator: "\t") + "\n")
        out.write("#types\t" + Self.fields.map(\.type).joined(separator: "\t") + "\n")
    }

    public mutating func consume(_ event: TrackerEvent) {
        clock.consume(event)
        switch event {
        case .opened(let s):
            header(at: s.firstTime)
        case .finished(let c):
            header(at: c.firstTime)
            let uid = clock.finish(c).uid
            lastTime = max(lastTime ?? c.lastTime, c.lastTime)
            out.write(Self.row(c, uid: uid) + "\n")
        default:
            break
        }
    }

    /// One conn.log row. Originator = WireState's client; bytes and packets as Zeek counts them.
    public static func row(_ c: ConnectionSummary, uid: String) -> String {
        let z = c.facts.zeek
        let history = z.history.text
        let cells: [String] = [
            seconds(c.firstTime), uid, c.client.address.description, "\(c.client.port)",
            c.server.address.description, "\(c.server.port)", "tcp", "-", seconds(c.durationNanos),
            "\(z.originatorBytes)", "\(z.responderBytes)", z.connState.name, "-", "-", "\(z.missedBytes)",
            history.isEmpty ? "(empty)" : history, "\(c.packetsFromClient)", "\(z.originatorIPBytes)",
            "\(c.packetsFromServer)", "\(z.responderIPBytes)", "(empty)", CommunityID.v1(c.client, c.server)
        ]
        return cells.joined(separator: "\t")
    }

    /// The closing line (and the header, for a run without connections).
    public mutating func writeEnd(inputs: [InputReport]) {
        header(at: lastTime ?? 0)
        out.write("#close\t\(Format.zeekStamp(lastTime ?? 0))\n")
        out.flush()
    }
}
