import Foundation
import Testing
import WireStateCapture
import WireStateTracker

@testable import WireStatePipeline

/// A saved capture played as a live capture would deliver it: its frames (copied, so the source
/// can look one ahead), a quiet period inside every gap between two frames that is long enough
/// (one tick 1 ms after the frame, one halfway to the next), quiet periods after the last frame,
/// then the end. `caughtUp` alternates, as it does under a bursty load.
final class QuietGapsReplay: LivePacketSource {
    let name: String
    let dataLinkType: Int32
    let dataLinkName: String
    /// Each frame's bytes, owned here until the source goes (a frame is borrowed until the next poll).
    private var frames: [(time: Int64, wire: Int, bytes: UnsafeMutableRawBufferPointer)] = []
    private var position = 0
    private(set) var caughtUp = true
    private(set) var ticks = 0
    /// Whether the last poll was a quiet period.
    private(set) var lastWasTick = false

    init(_ path: String, after: [Double]) throws {
        let file = try PcapFile(path: path)
        name = file.name
        dataLinkType = file.dataLinkType
        dataLinkName = file.dataLinkName
        while let f = try file.next() {
            let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: f.bytes.count, alignment: 8)
            copy.copyMemory(from: f.bytes)
            frames.append((f.timestampNanos, f.wireLength, copy))
        }
        if let last = frames.last?.time { tail = after.map { last + Int64($0 * 1e9) } }
    }

    deinit { for f in frames { f.bytes.deallocate() } }

    private var tail: [Int64] = []
    /// Planned quiet periods after frame `i` (strictly before frame `i + 1`).
    private func gaps(after i: Int) -> [Int64] {
        guard i + 1 < frames.count else { return tail }
        let t = frames[i].time, u = frames[i + 1].time
        return [t + 1_000_000, t + (u - t) / 2].filter { $0 > t && $0 < u }.reduce(into: []) { if $0.last != $1 { $0.append($1) } }
    }

    private var pending: [Int64] = []

    func poll() throws(CaptureError) -> LiveRead {
        lastWasTick = !pending.isEmpty
        if !pending.isEmpty {
            ticks += 1
            return .idle(now: pending.removeFirst())
        }
        guard position < frames.count else { return .end }
        let f = frames[position]
        pending = gaps(after: position)
        position += 1
        caughtUp = position % 3 != 0
        return .frame(CapturedFrame(number: UInt64(position), time: f.time, bytes: UnsafeRawBufferPointer(f.bytes), wireLength: f.wire))
    }

    func next() throws(CaptureError) -> CapturedFrame? { nil }
}

/// `live --threads N` (issue 10, item 5): the live pipeline on worker threads gives the events of
/// one thread, in the same order, quiet periods (ticks) included: expiries and idle evictions that
/// happen while the wire is quiet come between the same two frames.
@Suite struct LiveThreadsTests {
    static func captures() throws -> [String] {
        let dir = LivePipelineTests.captures
        return try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .filter { $0.hasSuffix(".pcap") }.sorted().map { dir.appendingPathComponent($0).path }
    }

    /// The events of a run, and how many the sink had after each quiet period.
    static func events(_ path: String, threads: Int, batch: Int, config: ConnectionTracker.Configuration) throws -> (
        events: [TrackerEvent], ticks: Int, deliveredAtTicks: [Int]
    ) {
        let source = try QuietGapsReplay(path, after: [5, 11, 61, 75])
        var pipeline = Pipeline(configuration: config, sink: EventLog())
        pipeline.threads = threads
        pipeline.threadBatchSteps = batch
        var delivered: [Int] = []
        pipeline.run(live: source) { p in if source.lastWasTick { delivered.append(p.sink.events.count) } }
        pipeline.finish()
        return (pipeline.sink.events, source.ticks, delivered)
    }

    @Test(arguments: [1, 3, 4096])
    func workersGiveTheOneThreadsEventsWithTicksBetweenFrames(_ batch: Int) throws {
        var quick = ConnectionTracker.Configuration()
        quick.msl = 2_000_000  // TIME_WAIT of 4 ms and a linger of 1 ms: ticks inside the capture expire them
        quick.closedLinger = 1_000_000
        var idle = ConnectionTracker.Configuration()
        idle.idleTimeout = 3_000_000  // and ticks evict the idle
        var total = 0, ticks = 0, expiries = 0
        for path in try Self.captures() {
            for config in [ConnectionTracker.Configuration(), quick, idle] {
                let one = try Self.events(path, threads: 1, batch: batch, config: config)
                total += one.events.count
                ticks += one.ticks
                expiries += one.events.filter { if case .transition(let t) = $0 { t.frame == nil } else { false } }.count
                for n in [2, 3] {
                    let many = try Self.events(path, threads: n, batch: batch, config: config)
                    let first = (0..<min(one.events.count, many.events.count)).first { one.events[$0] != many.events[$0] }
                    #expect(
                        many.events.count == one.events.count && first == nil,
                        "\(path.split(separator: "/").last!), \(n) threads, batch \(batch), msl \(config.msl): first difference at \(first ?? -1)")
                    // Not held back: once the wire goes quiet, the sink has every event up to then.
                    #expect(many.deliveredAtTicks == one.deliveredAtTicks, "\(path.split(separator: "/").last!), \(n) threads")
                }
            }
        }
        #expect(total > 3000)
        #expect(ticks > 1000)
        // The ticks did change states (frameless transitions: TIME_WAIT expiry, reset at idle).
        #expect(expiries > 50, "\(expiries)")
    }
}
