import WireStateDecoder
@testable import WireStateTracker

/// Builds segments for tracker unit tests. Real captures are the evidence for behaviour; these
/// pin single rules where a capture cannot isolate them.
struct Wire {
    var client = SocketAddress(IPAddress("10.0.0.1")!, 40000)
    var server = SocketAddress(IPAddress("10.0.0.2")!, 80)
    var tracker = ConnectionTracker()
    var frame: UInt64 = 0
    var time: Int64 = 1_000_000_000
    var events: [TrackerEvent] = []

    mutating func send(
        _ fromClient: Bool, _ flags: TCPFlags, seq: UInt32, ack: UInt32 = 0, len: UInt32 = 0,
        window: UInt16 = 65535, wscale: UInt8? = nil, ts: (value: UInt32, echo: UInt32)? = nil,
        after dt: Int64 = 1_000_000
    ) {
        frame += 1
        time += dt
        var o = TCPOptions()
        if flags.contains(.syn) { o.windowScale = wscale; o.mss = 1460 }
        if let ts { o.timestampValue = ts.value; o.timestampEcho = ts.echo }
        let s = TCPSegment(
            source: fromClient ? client : server, destination: fromClient ? server : client,
            sequence: seq, acknowledgment: ack, flags: flags, window: window, payloadLength: len,
            options: o)
        tracker.process(s, frame: FrameRef(number: frame), time: time)
        events += tracker.events
        tracker.events.removeAll()
    }

    mutating func c(
        _ f: TCPFlags, seq: UInt32, ack: UInt32 = 0, len: UInt32 = 0, window: UInt16 = 65535,
        after dt: Int64 = 1_000_000
    ) {
        send(true, f, seq: seq, ack: ack, len: len, window: window, after: dt)
    }
    mutating func s(
        _ f: TCPFlags, seq: UInt32, ack: UInt32 = 0, len: UInt32 = 0, window: UInt16 = 65535,
        after dt: Int64 = 1_000_000
    ) {
        send(false, f, seq: seq, ack: ack, len: len, window: window, after: dt)
    }

    /// Client ISN 1000, server ISN 5000, handshake done at frame 3.
    mutating func handshake() {
        c(.syn, seq: 1000)
        s([.syn, .ack], seq: 5000, ack: 1001)
        c(.ack, seq: 1001, ack: 5001)
    }

    mutating func finish() -> [ConnectionSummary] {
        tracker.finish()
        events += tracker.events
        tracker.events.removeAll()
        return events.compactMap { if case .finished(let s) = $0 { return s } else { return nil } }
    }

    var summaries: [ConnectionSummary] {
        tracker.activeSummaries()
    }

    var states: (TCPState, TCPState) {
        let s = tracker.activeSummaries().last!
        return (s.clientState, s.serverState)
    }

    var anomalyCodes: [String] {
        events.compactMap { if case .anomaly(let a) = $0 { return a.code.code } else { return nil } }
    }

    var transitions: [Transition] {
        events.compactMap { if case .transition(let t) = $0 { return t } else { return nil } }
    }
}
