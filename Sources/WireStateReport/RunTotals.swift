import WireStateDecoder
import WireStatePipeline
import WireStateTracker

/// The counts behind the closing "Totals" lines, kept without keeping the connections: `analyze`
/// fills it from its collector, `live` event by event on an endless capture.
///
/// It is an `EventSink` itself: `analyze --quiet` feeds it directly and keeps nothing per
/// connection, so its memory follows the connections open at once, not the file's length.
public struct RunTotals: Sendable, EventSink {
    public private(set) var connections = 0
    public private(set) var midstream = 0
    public private(set) var refused = 0
    public private(set) var reset = 0
    /// Connections evicted at the `--max-connections` cap.
    public private(set) var evicted = 0
    public private(set) var anomalies = [Int](repeating: 0, count: Severity.allCases.count)
    /// End states by (client, server) pair: 121 cells, named only when printed.
    private var ends = [Int](repeating: 0, count: TCPState.allCases.count * TCPState.allCases.count)

    public init() {}

    public var anomalyTotal: Int { anomalies.reduce(0, +) }

    public mutating func add(_ c: ConnectionSummary) {
        connections += 1
        if c.midstream { midstream += 1 }
        if c.refused { refused += 1 }
        if c.reset { reset += 1 }
        if c.endReason == .evicted { evicted += 1 }
        ends[Int(c.clientState.rawValue) * TCPState.allCases.count + Int(c.serverState.rawValue)] += 1
    }

    public mutating func add(_ a: Anomaly) {
        anomalies[Int(a.severity.rawValue)] += 1
    }

    /// Counts what the events say, reading them in place (`EventSink.consume(all:)`).
    public mutating func consume(all events: [TrackerEvent]) {
        events.withUnsafeBufferPointer { buffer in
            for i in buffer.indices {
                switch buffer[i] {
                case .anomaly(let a): anomalies[Int(a.severity.rawValue)] += 1
                case .finished(let c): add(c)
                default: break
                }
            }
        }
    }

    /// Counts what the event says (connections when finished, anomalies as they come).
    @inline(__always)
    public mutating func consume(_ event: TrackerEvent) {
        switch event {
        case .anomaly(let a): add(a)
        case .finished(let c): add(c)
        default: break
        }
    }

    /// The "Totals", "Frames" and "End states" lines, then one line per input that failed.
    public func text(inputs: [InputReport]) -> String {
        var total = DecodeCounters()
        for i in inputs { total.merge(i.counters) }
        /// "frame 12", or "file.pcap#12" when several inputs were read: the first input that had it.
        func first(_ pick: (DecodeCounters) -> DecodeCounters.Count) -> String {
            guard let i = inputs.first(where: { pick($0.counters).count > 0 }),
                let f = pick(i.counters).firstFrame
            else { return "frame ?" }
            if inputs.count < 2 { return "frame \(f)" }
            return (i.name.split(separator: "/").last.map(String.init) ?? i.name) + "#\(f)"
        }
        var out = "Totals: \(connections) connection\(connections == 1 ? "" : "s")"
        out += " (\(midstream) midstream, \(refused) refused, \(reset) reset)"
        if evicted > 0 { out += "; \(evicted) evicted at the connection cap (--max-connections)" }
        out += "; anomalies \(anomalyTotal)"
        if anomalyTotal > 0 {
            out +=
                " ("
                + Severity.allCases.reversed().compactMap { s in
                    anomalies[Int(s.rawValue)] > 0 ? "\(anomalies[Int(s.rawValue)]) \(s.name)" : nil
                }.joined(separator: ", ") + ")"
        }
        out += "\n"
        func count(_ name: String, _ pick: (DecodeCounters) -> DecodeCounters.Count) -> String {
            let c = pick(total)
            return c.count == 0 ? "" : ", \(name) \(c.count) (first at \(first(pick)))"
        }
        out +=
            "Frames: \(total.frames) read, \(total.tcp.count) TCP" + count("not IP", { $0.notIP })
            + count("not TCP", { $0.notTCP }) + count("later fragments", { $0.laterFragments })
            + count("truncated", { $0.truncated }) + count("malformed", { $0.malformed }) + "\n"
        out += TunnelFormat.totalsLines(inputs: inputs)
        let k = TCPState.allCases.count
        let named = ends.enumerated().filter { $0.element > 0 }.map { (i, n) -> (String, Int) in
            ("\(TCPState(rawValue: UInt8(i / k))!.name)/\(TCPState(rawValue: UInt8(i % k))!.name)", n)
        }
        if !named.isEmpty {
            out +=
                "End states (client/server): "
                + named.sorted { ($1.1, $0.0) < ($0.1, $1.0) }
                .map { "\($0.0) ×\($0.1)" }.joined(separator: ", ") + "\n"
        }
        for i in inputs {
            if let e = i.error { out += "error: \(Escaped.text(e.description))\n" }
        }
        return out
    }
}
