import Foundation
import Testing
import WireStateCapture
import WireStatePipeline
import WireStateReport
import WireStateTracker

/// A saved capture played as if live: its frames, then quiet periods at chosen offsets after the
/// last frame, then the end.
final class ReplayAsLive: LivePacketSource {
    let file: PcapFile
    var quiet: [Int64]
    private var last: Int64 = 0
    private(set) var polls = 0

    init(_ path: String, quietAfterLast: [Double]) throws {
        file = try PcapFile(path: path)
        quiet = quietAfterLast.map { Int64($0 * 1e9) }
    }

    var name: String { file.name }
    var dataLinkType: Int32 { file.dataLinkType }
    var dataLinkName: String { file.dataLinkName }

    func poll() throws(CaptureError) -> LiveRead {
        polls += 1
        if let f = try file.next() {
            last = f.timestampNanos
            return .frame(f)
        }
        if !quiet.isEmpty { return .idle(now: last + quiet.removeFirst()) }
        return .end
    }

    func next() throws(CaptureError) -> CapturedFrame? { try file.next() }
}

struct EventLog: EventSink {
    var events: [TrackerEvent] = []
    mutating func consume(_ event: TrackerEvent) { events.append(event) }

    var finished: [ConnectionSummary] {
        events.compactMap { if case .finished(let s) = $0 { return s } else { return nil } }
    }
}

@Suite struct LivePipelineTests {
    static let captures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Captures")

    static func capture(_ name: String) -> String { captures.appendingPathComponent(name).path }

    @Test func quietPeriodsTickTheTrackerSoClosedConnectionsLeave() throws {
        let source = try ReplayAsLive(Self.capture("abort-rst.pcap"), quietAfterLast: [5, 11])
        var pipeline = Pipeline(configuration: .init(), sink: EventLog())
        var held: [Int] = []
        let error = pipeline.run(live: source) { p in held.append(p.tracker.connectionCount) }
        #expect(error == nil)
        // Both endpoints CLOSED by the RST: still held 5 s later, gone after the 10 s linger.
        #expect(held.suffix(3) == [1, 1, 0], "connections held after each step: \(held)")
        #expect(pipeline.sink.finished.count == 1)
        #expect(pipeline.sink.finished.first?.endReason == .closed)
        try #require(pipeline.inputs.count == 1)
        #expect(pipeline.inputs[0].complete)
        #expect(source.polls == Int(pipeline.inputs[0].counters.frames) + 3)
        pipeline.finish()
        #expect(pipeline.sink.finished.count == 1)
    }

    @Test func timeWaitExpiresWhileTheWireIsQuiet() throws {
        let source = try ReplayAsLive(Self.capture("client-close.pcap"), quietAfterLast: [30, 61, 75])
        var pipeline = Pipeline(configuration: .init(), sink: EventLog())
        pipeline.run(live: source)
        let expiry = pipeline.sink.events.compactMap { e -> Transition? in
            if case .transition(let t) = e, t.cause == .timeWaitExpired { return t } else { return nil }
        }
        #expect(expiry.count == 1)
        #expect(expiry.first?.from == .timeWait && expiry.first?.to == .closed)
        #expect(expiry.first?.frame == nil)
        #expect(pipeline.sink.finished.count == 1, "evicted once closed and lingered")
        #expect(pipeline.tracker.connectionCount == 0)
    }

    @Test func withoutQuietPeriodsLiveAndFileRunsAgree() throws {
        for name in ["multi.pcap", "half-close.pcap", "refused.pcap", "ipv6-client-close.pcap"] {
            var live = Pipeline(configuration: .init(), sink: EventLog())
            live.run(live: try ReplayAsLive(Self.capture(name), quietAfterLast: []))
            live.finish()
            var file = Pipeline(configuration: .init(), sink: EventLog())
            file.run(try PcapFile(path: Self.capture(name)))
            file.finish()
            #expect(live.sink.events == file.sink.events, "\(name)")
            #expect(live.inputs.map(\.counters) == file.inputs.map(\.counters), "\(name)")
        }
    }

    @Test func devicesIncludeLoopback() throws {
        let devices = try CaptureDevice.all()
        let lo = try #require(devices.first { $0.isLoopback }, "no loopback device among \(devices.map(\.name))")
        #expect(lo.isUp)
        #expect(lo.flagNames.contains("loopback"))
        #expect(CaptureDevice.exists(lo.name))
        #expect(!CaptureDevice.exists("nosuch-ws0"))
    }

    @Test func anUnknownDeviceIsReportedAsSuch() {
        do {
            _ = try LiveCapture(.init(interface: "nosuch-ws0"))
            Issue.record("opening an unknown device must fail")
        } catch {
            #expect(error.kind == .noSuchDevice, "\(error)")
        }
    }

    @Test(.enabled(if: LiveEnv.isRoot, "live capture needs root (or cap_net_raw)"))
    func aQuietWireComesBackAsIdleWithinTheReadTimeout() throws {
        let port = try Net.freePort()
        var options = LiveCapture.Options(interface: "lo", filter: "tcp port \(port)")
        options.readTimeoutMillis = 100
        let capture = try LiveCapture(options)
        defer { capture.close() }
        let start = LiveEnv.monotonic()
        guard case .idle(let now) = try capture.poll() else {
            Issue.record("expected .idle on a quiet wire")
            return
        }
        let waited = LiveEnv.monotonic() - start
        #expect(waited >= 0.05 && waited < 1, "waited \(waited) s")
        #expect(abs(Double(now) / 1e9 - LiveEnv.wallClock()) < 5, "idle time is the wall clock")
        capture.stop(after: 0.2)
        var reads = 0
        while case .idle = try capture.poll(), reads < 50 { reads += 1 }  // bounded
        #expect(capture.stopReason == .duration)
        #expect(capture.statistics()?.droppedByKernel == 0)
    }
}
