import WireStateDecoder
import WireStatePipeline

/// How tunnels and encapsulation counters read in reports (JSON Lines and text), in one place so
/// the `connection`, `input` and `summary` records and the text totals agree.
public enum TunnelFormat {
    /// Entry `id` of a run's tunnel table (`ConnectionSummary.tunnelID`), empty for 0 or unknown.
    public static func path(_ id: UInt32, in table: [TunnelPath]) -> TunnelPath {
        id == 0 || Int(id) > table.count ? TunnelPath() : table[Int(id) - 1]
    }

    /// `[{"type":"vxlan","vni":42},{"type":"gre","key":7}]`, outermost first.
    public static func json(_ path: TunnelPath) -> String {
        "["
            + path.layers.map { l in
                var s = "{\"type\":\"\(l.kind.name)\""
                if l.hasID, let n = l.kind.idName { s += ",\"\(n)\":\(l.id)" }
                if l.hasDirectionalID, let n = l.kind.directionalIDName { s += ",\"\(n)\":\(l.directionalID)" }
                return s + "}"
            }.joined(separator: ",") + "]"
    }

    /// `,"tunnel":[…]` for a connection record, or nothing on a plain link (records stay as they were).
    public static func connectionField(_ path: TunnelPath) -> String {
        path.isEmpty ? "" : ",\"tunnel\":" + json(path)
    }

    /// `,"encapsulations":{"vxlan":{"frames":9,"first_frame":1}},"not_decoded":[{…}]`, or nothing.
    public static func countersFields(_ c: EncapsulationCounters) -> String {
        guard !c.isEmpty else { return "" }
        let decoded = c.decodedList.map { e, n in
            "\"\(e.key)\":{\"frames\":\(n.count),\"first_frame\":\(n.firstFrame.map(String.init) ?? "null")}"
        }
        let skipped = c.skippedList.map { r, n in
            "{\"reason\":\"\(r.code)\",\"message\":" + Format.json(r.sentence)
                + ",\"frames\":\(n.count),\"first_frame\":\(n.firstFrame.map(String.init) ?? "null")}"
        }
        return ",\"encapsulations\":{" + decoded.joined(separator: ",") + "}"
            + ",\"not_decoded\":[" + skipped.joined(separator: ",") + "]"
    }

    /// The text totals' lines: what was looked through, and what stopped the decoder and where.
    /// `first` names a frame ("frame 17", or "file.pcap#17" with several inputs).
    public static func totalsLines(inputs: [InputReport]) -> String {
        var total = EncapsulationCounters()
        for i in inputs { total.merge(i.counters.encapsulations) }
        guard !total.isEmpty else { return "" }
        func where_(_ pick: (EncapsulationCounters) -> DecodeCounters.Count) -> String {
            guard let i = inputs.first(where: { pick($0.counters.encapsulations).count > 0 }),
                let f = pick(i.counters.encapsulations).firstFrame
            else { return "frame ?" }
            if inputs.count < 2 { return "frame \(f)" }
            return (i.name.split(separator: "/").last.map(String.init) ?? i.name) + "#\(f)"
        }
        var out = ""
        let decoded = total.decodedList
        if !decoded.isEmpty {
            out += "Encapsulations: " + decoded.map { e, n in "\(e.name) \(n.count)" }.joined(separator: ", ") + "\n"
        }
        for (r, n) in total.skippedList {
            out += "Not decoded: \(r.sentence), \(n.count) frame\(n.count == 1 ? "" : "s"), first at \(where_ { $0.skipped(r) })\n"
        }
        return out
    }
}
