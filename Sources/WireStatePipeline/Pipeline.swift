import WireStateCapture
import WireStateDecoder
import WireStateTracker

/// Receives the tracker's events in order. Reporters and collectors implement it; the pipeline is
/// generic over it, so delivering an event is a direct call.
public protocol EventSink {
    mutating func consume(_ event: TrackerEvent)
    /// The run's tunnel table grew (`ConnectionSummary.tunnelID` indexes it); called before the
    /// events that use the new entries. Sinks that show no tunnels need not implement it.
    mutating func tunnelsChanged(_ paths: [TunnelPath])
}

extension EventSink {
    public mutating func tunnelsChanged(_ paths: [TunnelPath]) {}
}

/// What happened to one input.
public struct InputReport: Sendable {
    public var name: String
    public var linkType: String
    public var counters = DecodeCounters()
    /// Set when the input could not be opened or read to its end.
    public var error: CaptureError?
    /// Whether the input was read to its end (false on error).
    public var complete: Bool { error == nil }
}

/// capture → decode → track → sink: the one pipeline every subcommand uses.
public struct Pipeline<Sink: EventSink> {
    public var tracker: ConnectionTracker
    public var sink: Sink
    public internal(set) var inputs: [InputReport] = []
    /// Which UDP ports carry which tunnel, for every input's decoder.
    public var tunnelPorts: TunnelPorts
    /// The last frame time of the inputs read so far (nil before the first frame).
    private var lastTime: Int64?
    /// TCP segments that came in IP fragments wait here for their whole length.
    private var fragments = FragmentReassembler()
    private var released: [TCPSegment] = []
    /// How many tunnel paths the sink has been given.
    private var tunnelsDelivered = 0

    public init(configuration: ConnectionTracker.Configuration = .init(), tunnelPorts: TunnelPorts = TunnelPorts(),
                sink: Sink) {
        tracker = ConnectionTracker(configuration: configuration)
        self.tunnelPorts = tunnelPorts
        self.sink = sink
    }

    /// Reads every frame of `source` through the decoder and tracker. On damage, what was read so
    /// far stays analysed and the error is recorded on the input's report (and returned).
    @discardableResult
    public mutating func run<Source: PacketSource>(_ source: Source) -> CaptureError? {
        var report = InputReport(name: source.name, linkType: source.dataLinkName)
        guard var input = begin(source, &report) else { return report.error }
        do {
            while let frame = try source.next() { feed(frame, &input) }
        } catch {
            report.error = error
        }
        report.counters = input.decoder.counters
        inputs.append(report)
        return report.error
    }

    /// Live capture: like `run`, for a source that also says when its read timed out; the tracker
    /// is then ticked at the wall-clock time the source gives, so TIME_WAIT expiry and eviction go on
    /// while the wire is quiet. `between` runs after every frame and every quiet period, with the
    /// pipeline (live displays); the source decides when the capture ends.
    @discardableResult
    public mutating func run<Source: LivePacketSource>(live source: Source,
                                                       between: (inout Pipeline) -> Void = { _ in }) -> CaptureError? {
        var report = InputReport(name: source.name, linkType: source.dataLinkName)
        guard var input = begin(source, &report) else { return report.error }
        do {
            reading: while true {
                switch try source.poll() {
                case .frame(let frame):
                    feed(frame, &input)
                case .idle(let now):
                    tick(now: now)
                case .end:
                    break reading
                }
                between(&self)
            }
        } catch {
            report.error = error
        }
        report.counters = input.decoder.counters
        inputs.append(report)
        return report.error
    }

    /// One input being read: its index in the run, its decoder, and the segment the decoder fills.
    struct Input {
        var index: UInt16
        var decoder: PacketDecoder
        var segment = TCPSegment.empty // reused: the decoder writes each frame's segment in place
        var started = false
    }

    /// Starts an input, or records why its link type cannot be decoded (and returns nil).
    mutating func begin<Source: PacketSource>(_ source: Source, _ report: inout InputReport) -> Input? {
        guard let link = LinkType(dlt: source.dataLinkType) else {
            report.error = CaptureError(kind: .other, source: source.name,
                                        message: LinkType.unsupportedMessage(name: source.dataLinkName, dlt: source.dataLinkType))
            inputs.append(report)
            return nil
        }
        return Input(index: UInt16(truncatingIfNeeded: inputs.count), decoder: PacketDecoder(linkType: link, tunnelPorts: tunnelPorts))
    }

    /// One frame: decode in place, track, deliver the events.
    @inline(__always)
    mutating func feed(_ frame: CapturedFrame, _ input: inout Input) {
        if !input.started {
            input.started = true
            // Several inputs continue one capture (rotated files) only if each begins where the last
            // ended. One that starts earlier is another recording: what came before is finished first,
            // so the same connection recorded twice is not merged into one.
            if let last = lastTime, frame.timestampNanos < last {
                drain()
                while tracker.finishSome(1024) { drain() }
                drain()
            }
        }
        lastTime = frame.timestampNanos
        let at = FrameRef(source: input.index, number: frame.number)
        switch input.decoder.decode(frame.bytes, wireLength: frame.wireLength, frame: frame.number, into: &input.segment) {
        case .tcp:
            if input.segment.isFragment {
                if let whole = fragments.first(input.segment, time: frame.timestampNanos) { track(whole, at, frame.timestampNanos) }
            } else {
                track(input.segment, at, frame.timestampNanos)
            }
        case .skipped(.laterFragment):
            if let whole = fragments.later(input.segment, time: frame.timestampNanos) { track(whole, at, frame.timestampNanos) }
        default:
            break
        }
        if fragments.heldCount > 0 {
            fragments.expire(now: frame.timestampNanos, into: &released)
            for s in released { track(s, at, frame.timestampNanos) }
            released.removeAll(keepingCapacity: true)
        }
    }

    @inline(__always)
    private mutating func track(_ segment: TCPSegment, _ frame: FrameRef, _ time: Int64) {
        tracker.process(segment, frame: frame, time: time)
        drain()
    }

    /// Records an input that could not even be opened.
    public mutating func recordFailure(_ error: CaptureError) {
        inputs.append(InputReport(name: error.source, linkType: "-", error: error))
    }

    /// Advances capture time without a packet (live capture idling), so expiries still happen.
    public mutating func tick(now: Int64) {
        tracker.sweep(now: now)
        drain()
    }

    /// Ends the run: every connection still held is reported.
    public mutating func finish() {
        fragments.flush(into: &released)
        for s in released { tracker.process(s, frame: FrameRef(number: 0), time: lastTime ?? 0) }
        released.removeAll()
        drain()
        // In steps, draining between them: the final events of every held connection at once
        // were the peak of a run's memory (tens of MB for tens of thousands held).
        while tracker.finishSome(1024) { drain() }
        drain()
    }

    private mutating func drain() {
        guard !tracker.events.isEmpty else { return }
        if tracker.tunnelPaths.count != tunnelsDelivered {
            tunnelsDelivered = tracker.tunnelPaths.count
            sink.tunnelsChanged(tracker.tunnelPaths)
        }
        for event in tracker.events { sink.consume(event) }
        tracker.events.removeAll(keepingCapacity: true)
    }

    /// All inputs' counters added up.
    public var totalCounters: DecodeCounters {
        var total = DecodeCounters()
        for i in inputs { total.merge(i.counters) }
        return total
    }
}
