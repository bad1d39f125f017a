import Testing
import WireStateDiagnose
import WireStatePipeline
import WireStateTracker

/// abortive-close's resets after an idle period, reported apart from resets mid-activity, on
/// Captures/diagnose/idle-reset.pcap: connection 1 reset 15 ms after data, connection 2 after 6 s
/// of silence (both by the server, SO_LINGER {1, 0}).
@Suite struct IdleResetFindingTests {
    static let capture = "Captures/diagnose/idle-reset.pcap"

    @Test func aResetAfterSixSecondsIdleIsReportedApartFromOneMidTransfer() throws {
        let resets = Diagnosis.findings(Self.capture).filter { $0.code == .abortiveClose }
        #expect(resets.count == 2)
        let active = try #require(resets.first { $0.label == nil })
        let idle = try #require(resets.first { $0.label == "idle" })
        #expect(active.connections == [1])
        #expect(active.thresholdNanos == nil)
        #expect(active.summary.contains("in the middle of activity"))
        #expect(active.details[0].contains("the last data, SYN or FIN 0.015184s before it"))
        #expect(idle.connections == [2])
        #expect(idle.subject == "127.0.0.1:47211")
        #expect(idle.frames.map(\.number) == [52])
        #expect(idle.thresholdNanos == 5_000_000_000)
        let gap = try #require(idle.durationNanos)
        #expect(gap > 6_000_000_000 && gap < 6_200_000_000, "the recording idled 6 s")
        #expect(idle.summary.contains("after 6.067s idle: an idle timeout"))
        #expect(idle.details[0].contains("no segment at all for 6.067s"))
        #expect(idle.causes[0].contains("idle timeout"))
    }

    @Test func movingTheThresholdMovesTheResets() throws {
        var o = DiagnoseOptions()
        o.idleReset = 7_000_000_000  // above the 6 s idle: both are ordinary resets again
        let late = Diagnosis.findings(Self.capture, options: o).filter { $0.code == .abortiveClose }
        #expect(late.count == 1)
        #expect(late.first?.label == nil)
        #expect(late.first?.connections == [1, 2])
        o.idleReset = 10_000_000  // 10 ms: the reset 15 ms after data counts as idle too
        let early = Diagnosis.findings(Self.capture, options: o).filter { $0.code == .abortiveClose }
        #expect(early.count == 1)
        #expect(early.first?.label == "idle")
        #expect(early.first?.connections == [1, 2])
    }

    @Test func resetsRightAfterDataStayOrdinary() {
        // abort-rst and multi: resets within a millisecond of the last data.
        for capture in ["Captures/abort-rst.pcap", "Captures/multi.pcap"] {
            let resets = Diagnosis.findings(capture).filter { $0.code == .abortiveClose }
            #expect(!resets.isEmpty)
            #expect(resets.allSatisfy { $0.label == nil && $0.thresholdNanos == nil }, "\(capture)")
        }
    }

    /// The facts behind the finding, in the tracker's final summaries.
    @Test func idleAndSilenceBeforeTheResetAreInTheFinalFacts() throws {
        let facts = FinalFactsSink.run(Self.capture)
        #expect(facts.count == 2)
        #expect(facts[0].resetBy == .server && facts[1].resetBy == .server)
        #expect(facts[0].idleBeforeReset == 15_184_000)  // frame 43 (the client's last data) to the RST at 44
        let idle = try #require(facts[1].idleBeforeReset)
        // The client's ACK of the response, 3 µs after it, is a segment but not activity.
        #expect(facts[1].silenceBeforeReset == idle - 3_000, "nothing else crossed in the 6 s before the RST")
        #expect(idle > 6_000_000_000)
    }

    /// keepalive-unanswered: three keep-alives after the last data, then the prober's RST. The
    /// keep-alives are segments (silence 1 s) but not activity (idle 4.1 s since the data).
    @Test func keepAlivesAreSegmentsButNotActivity() throws {
        let f = try #require(FinalFactsSink.run("Captures/diagnose/keepalive-unanswered.pcap").first)
        let idle = try #require(f.idleBeforeReset), silence = try #require(f.silenceBeforeReset)
        #expect(idle > 4_000_000_000 && idle < 4_200_000_000)
        #expect(silence > 1_000_000_000 && silence < 1_100_000_000)
        let client = try #require(f.lastClientTime), server = try #require(f.lastServerTime)
        // The server's last segment is the RST; the client's, its ACK 7 µs after the server's data.
        #expect(CaptureTime.elapsed(from: client, to: server) == idle - 7_000)
    }
}

/// Collects each connection's final `ConnectionFacts`, in the order they finished.
struct FinalFactsSink: EventSink {
    var facts: [ConnectionFacts] = []

    mutating func consume(_ event: TrackerEvent) {
        if case .finished(let s) = event { facts.append(s.facts) }
    }

    static func run(_ path: String) -> [ConnectionFacts] {
        var pipeline = Pipeline(sink: FinalFactsSink())
        _ = pipeline.runFile(Diagnosis.repo.appendingPathComponent(path).path)
        pipeline.finish()
        return pipeline.sink.facts
    }
}
