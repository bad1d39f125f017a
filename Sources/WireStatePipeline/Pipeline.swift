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
    /// With `Pipeline.recordsOrder`: where the next event stands in the one-run order, called
    /// before each `consume`. Sinks that write no merge keys need not implement it.
    mutating func order(_ position: EventOrder)
    /// The events of one step, in order. A sink that overrides it reads them in place from its
    /// own (specialised) code; the default hands each to `consume`, which copies it out of the
    /// array first (up to 512 bytes), through the protocol.
    mutating func consume(all events: [TrackerEvent])
}

extension EventSink {
    public mutating func consume(all events: [TrackerEvent]) {
        for i in events.indices { consume(events[i]) }
    }
    public mutating func tunnelsChanged(_ paths: [TunnelPath]) {}
    public mutating func order(_ position: EventOrder) {}
}

/// What happened to one input.
public struct InputReport: Sendable {
    public var name: String
    public var linkType: String
    public var counters = DecodeCounters()
    /// Set when the input could not be opened or read to its end.
    public var error: CaptureError?
    /// Reading stopped early because `Pipeline.watch` said so (Ctrl-C): the report is partial.
    public var stopped = false
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
    /// Called every few thousand frames of a saved input (and once at its start) with how far
    /// reading has come; returning false stops reading that input (`InputReport.stopped`). For
    /// progress lines and Ctrl-C; nil costs nothing per frame.
    public var watch: ((ReadProgress) -> Bool)?
    /// With a filter: the shadow tracker that keeps connection ids the file's own (`FileOrderIDs`).
    var fileOrder: FileOrderIDs?
    /// `fileOrder != nil`, set with it and kept apart: testing the optional itself copied it
    /// (200 bytes) on every frame and every drain.
    var shadowing = false
    /// `--shard K/N`: only the flows of this shard are tracked; the others only move the clock.
    public var shard: Shard?
    /// Tell the sink every event's `EventOrder` (`--shard` runs in JSON Lines, for `merge`).
    public var recordsOrder: Bool {
        get { tracker.recordsOrigins }
        set { tracker.recordsOrigins = newValue }
    }
    /// TCP segments handed to the tracker so far, every shard's (`EventOrder.step`).
    public private(set) var steps: UInt64 = 0
    /// Draining the events of an input's end (`EventOrder.Phase.endDeadline`, `.end`).
    private var ending = false
    /// With `recordsOrder`: the events' places in the one-run order.
    private var tagger = EventTagger()
    /// `--threads N`: N threads in all, the calling one reading, decoding and writing, and N - 1
    /// tracking (`ParallelTracking`); the output is the one thread's. 1 (the default) does
    /// everything on the calling thread. Runs with `--filter` always do (their ids
    /// come from a shadow tracker that must keep pace with the segments).
    public var threads = 1
    private var parallel: ParallelTracking?
    /// Steps per batch handed to the workers (tests cross batch boundaries with tiny ones).
    var threadBatchSteps = ParallelTracking.defaultBatchSteps

    public init(
        configuration: ConnectionTracker.Configuration = .init(), tunnelPorts: TunnelPorts = TunnelPorts(),
        sink: Sink
    ) {
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
            if let watch {
                var frames: UInt64 = 0
                var countdown = 0
                reading: while true {
                    if countdown == 0 {
                        countdown = Self.watchInterval
                        let bytes = source.progressBytes
                        let p = ReadProgress(
                            name: source.name, frames: frames, bytesRead: bytes?.read, totalBytes: bytes?.total,
                            openConnections: parallel?.held ?? tracker.connectionCount)
                        if !watch(p) { report.stopped = true; break reading }
                    }
                    guard let frame = try source.next() else { break }
                    feed(frame, &input)
                    frames += 1
                    countdown -= 1
                }
            } else {
                while let frame = try source.next() { feed(frame, &input) }
            }
        } catch {
            report.error = error
        }
        report.counters = input.decoder.counters
        inputs.append(report)
        return report.error
    }

    /// Frames between two calls of `watch`: a few milliseconds of reading.
    static var watchInterval: Int { 1024 }

    /// Live capture: like `run`, for a source that also says when its read timed out; the tracker
    /// is then ticked at the wall-clock time the source gives, so TIME_WAIT expiry and eviction go on
    /// while the wire is quiet. `between` runs after every frame and every quiet period, with the
    /// pipeline (live displays); the source decides when the capture ends.
    @discardableResult
    public mutating func run<Source: LivePacketSource>(
        live source: Source,
        between: (inout Pipeline) -> Void = { _ in }
    ) -> CaptureError? {
        var report = InputReport(name: source.name, linkType: source.dataLinkName)
        guard var input = begin(source, &report) else { return report.error }
        do {
            reading: while true {
                switch try source.poll() {
                case .frame(let frame):
                    feed(frame, &input)
                    // With workers: once the wire is caught up with, the events they have are due.
                    if parallel != nil && source.caughtUp { parallel!.flush(into: &sink, wait: false) }
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
        var segment = TCPSegment.empty  // reused: the decoder writes each frame's segment in place
        var started = false
    }

    /// Starts an input, or records why its link type cannot be decoded (and returns nil).
    mutating func begin<Source: PacketSource>(_ source: Source, _ report: inout InputReport) -> Input? {
        guard let link = LinkType(dlt: source.dataLinkType) else {
            report.error = CaptureError(
                kind: .other, source: source.name,
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
                parallel?.end(steps: steps)
                drain()
                ending = true
                fileOrder?.finish()
                while tracker.finishSome(1024) { drain() }
                drain()
                ending = false
            }
        }
        lastTime = frame.timestampNanos
        let at = FrameRef(source: input.index, number: frame.number)
        if shadowing {
            guard frame.matched else { shadowOnly(frame, at, &input); return }
        }
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
        steps &+= 1
        if threads > 1 && !shadowing {
            startParallel()
            let owner = shard.map { $0.owns(segment) } ?? true ? parallel!.worker(of: segment) : nil
            if parallel!.add(segment, frame: frame, time: time, owner: owner) { parallel!.publish(into: &sink, wait: false) }
            return
        }
        if shadowing { fileOrder!.process(segment, frame: frame, time: time) }
        if let shard, !shard.owns(segment) {
            tracker.pass(time: time)
        } else {
            tracker.process(segment, frame: frame, time: time)
        }
        drain()
    }

    /// The workers of `threads`, started on first use.
    @inline(__always)
    private mutating func startParallel() {
        if parallel == nil {
            parallel = ParallelTracking(
                workers: threads - 1, configuration: tracker.configuration, firstStep: steps, batchSteps: threadBatchSteps)
        }
    }

    /// A frame the filter rejected: only the shadow tracker sees it, so that ids stay the file's.
    /// Its decode is not counted (the counters describe what the filter passed, as before).
    mutating func shadowOnly(_ frame: CapturedFrame, _ at: FrameRef, _ input: inout Input) {
        let counters = input.decoder.counters
        if case .tcp = input.decoder.decode(frame.bytes, wireLength: frame.wireLength, frame: frame.number, into: &input.segment),
            !input.segment.isFragment
        {
            fileOrder!.process(input.segment, frame: at, time: frame.timestampNanos)
        }
        input.decoder.counters = counters
    }

    /// The last input was stopped on request (Ctrl-C): a read the signal broke is not damage.
    public mutating func markStopped() {
        guard !inputs.isEmpty else { return }
        inputs[inputs.count - 1].stopped = true
        inputs[inputs.count - 1].error = nil
    }

    /// Records an input that could not even be opened.
    public mutating func recordFailure(_ error: CaptureError) {
        inputs.append(InputReport(name: error.source, linkType: "-", error: error))
    }

    /// Advances capture time without a packet (live capture idling), so expiries still happen.
    public mutating func tick(now: Int64) {
        if threads > 1 && !shadowing {
            // On the workers, between the steps it falls between. The wire is quiet: every
            // event up to now is handed on before the next poll.
            startParallel()
            parallel!.tick(now: now)
            parallel!.flush(into: &sink, wait: true)
            return
        }
        tracker.sweep(now: now)
        fileOrder?.sweep(now: now)
        drain()
    }

    /// Ends the run: every connection still held is reported.
    public mutating func finish() {
        fragments.flush(into: &released)
        for s in released {
            if parallel != nil {
                track(s, FrameRef(number: 0), lastTime ?? 0)
                continue
            }
            // Counted in every shard, so that steps stay the same in all of them.
            steps &+= 1
            if shard?.owns(s) ?? true {
                tracker.process(s, frame: FrameRef(number: 0), time: lastTime ?? 0)
            } else {
                tracker.pass(time: lastTime ?? 0)
            }
            drain()
        }
        released.removeAll()
        drain()
        if parallel != nil {
            parallel!.end(steps: steps)
            parallel!.publish(into: &sink, wait: true)
            parallel!.shutdown()
            parallel = nil
            return
        }
        ending = true
        defer { ending = false }
        fileOrder?.finish()
        // In steps, draining between them: the final events of every held connection at once
        // were the peak of a run's memory (tens of MB for tens of thousands held).
        while tracker.finishSome(1024) { drain() }
        drain()
    }

    private mutating func drain() {
        guard !tracker.events.isEmpty else {
            if tracker.recordsOrigins { tracker.origins.removeAll(keepingCapacity: true) }
            return
        }
        if tracker.tunnelPaths.count != tunnelsDelivered {
            tunnelsDelivered = tracker.tunnelPaths.count
            sink.tunnelsChanged(tracker.tunnelPaths)
        }
        if tracker.recordsOrigins {
            drainInOrder()
        } else if shadowing {
            for event in tracker.events { sink.consume(fileOrder!.renumber(event, tunnels: tracker.tunnelPaths)) }
        } else {
            sink.consume(all: tracker.events)
        }
        tracker.events.removeAll(keepingCapacity: true)
    }

    /// `drain` for `recordsOrder`: each event with its `EventOrder` first.
    private mutating func drainInOrder() {
        let events = tracker.events
        tagger.tag(events, tracker.origins, step: steps, ending: ending) { i, position in
            sink.order(position)
            sink.consume(fileOrder != nil ? fileOrder!.renumber(events[i], tunnels: tracker.tunnelPaths) : events[i])
        }
        tracker.origins.removeAll(keepingCapacity: true)
    }

    /// All inputs' counters added up.
    public var totalCounters: DecodeCounters {
        var total = DecodeCounters()
        for i in inputs { total.merge(i.counters) }
        return total
    }
}

/// How far reading an input has come, for `Pipeline.watch`.
public struct ReadProgress: Sendable {
    public var name: String
    /// Frames read from this input so far (those the filter passed).
    public var frames: UInt64
    /// Bytes of the file read (compressed bytes for a compressed file) and its size, when known.
    public var bytesRead: Int64?
    public var totalBytes: Int64?
    /// Connections the tracker holds now.
    public var openConnections: Int
}
