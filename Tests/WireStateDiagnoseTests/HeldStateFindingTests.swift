import Testing
import WireStateDiagnose
import WireStateTracker

/// close-wait-stuck, fin-wait-2-stuck, handshake-stalled and zero-window-stall on the captures that
/// show them, and the `stuckAfter` threshold deciding each.
@Suite struct HeldStateFindingTests {
    @Test func closeWaitHeldByTheServerIsReportedOnItsListener() throws {
        let all = Diagnosis.findings("Captures/diagnose/close-wait-stuck.pcap")
        let f = try #require(all.first { $0.code == .closeWaitStuck })
        #expect(f.severity == .warning)
        #expect(f.subjectKind == .listener)
        #expect(f.subject == "127.0.0.1:47201")
        #expect(f.evidence == .observed)
        // The fourth connection was leaked too, but for less than the threshold when the capture ends.
        #expect(f.connections == [1, 2, 3])
        #expect(f.connectionCount == 3)
        // Each client's FIN and the server's ACK of it (CLOSE_WAIT confirmed).
        #expect(f.frames.map(\.number) == [8, 9, 17, 18, 26, 27])
        #expect((f.durationNanos ?? 0) > 2_500_000_000)
        #expect(f.thresholdNanos == 2_000_000_000)
        #expect(f.nextSteps.contains { $0.hasPrefix("ss -tanp state close-wait '( sport = :47201 )'") })
        #expect(all.first?.code == .closeWaitStuck, "the warning ranks before the info")
    }

    @Test func finWait2OfTheSameConnectionsIsInfoPointingAtTheCloseWait() throws {
        let f = try #require(Diagnosis.findings("Captures/diagnose/close-wait-stuck.pcap").first { $0.code == .finWait2Stuck })
        #expect(f.severity == .info)
        #expect(f.subjectKind == .host)
        #expect(f.subject == "127.0.0.1")
        #expect(f.peer == "127.0.0.1:47201")
        // The client sends nothing after the server's ACK: its FIN_WAIT_2 is only inferred, and said so.
        #expect(f.evidence == .inferred)
        #expect(f.details.allSatisfy { $0.contains("inferred") })
        #expect(f.summary.contains("see close-wait-stuck"))
    }

    @Test func stuckAfterDecidesTheHeldStateFindings() {
        var o = DiagnoseOptions()
        o.stuckAfter = 4_000_000_000  // above the 3.2 s the capture holds them
        let codes = Diagnosis.findings("Captures/diagnose/close-wait-stuck.pcap", options: o).map(\.code)
        #expect(!codes.contains(.closeWaitStuck))
        #expect(!codes.contains(.finWait2Stuck))
        o.stuckAfter = 100_000_000  // the half-close's CLOSE_WAIT lasts 0.0002 s: still below
        #expect(Diagnosis.findings("Captures/half-close.pcap", options: o).isEmpty)
        o.stuckAfter = 2_900_000_000  // between connection 3 (2.76 s) and connection 1 (3.16 s)
        let f = Diagnosis.findings("Captures/diagnose/close-wait-stuck.pcap", options: o).first { $0.code == .closeWaitStuck }
        #expect(f?.connections == [1, 2])
    }

    @Test func handshakeStalledWhenTheServersSynAcksGetNoAck() throws {
        let all = Diagnosis.findings("Captures/diagnose/handshake-stalled.pcap")
        #expect(all.map(\.code) == [.handshakeStalled])
        let f = try #require(all.first)
        #expect(f.subject == "10.201.0.2:47205")
        // The SYN and the three SYN+ACKs.
        #expect(f.frames.map(\.number) == [1, 2, 3, 4])
        #expect((f.durationNanos ?? 0) >= 3_000_000_000)
    }

    @Test func zeroWindowStallIsMeasuredToTheLastProbe() throws {
        let f = try #require(Diagnosis.findings("Captures/diagnose/zero-window-stall.pcap").first)
        #expect(f.code == .zeroWindowStall)
        #expect(f.subject == "127.0.0.1:47206")
        #expect(f.severity == .warning)
        let d = try #require(f.durationNanos)
        #expect(d >= 3_000_000_000 && d < 6_000_000_000, "the proven part: zero window to the last probe")
        // Captures/zero-window.pcap's window reopens 1.6 s after its last probe: 1.5 s proven, below 2 s.
        #expect(Diagnosis.findings("Captures/zero-window.pcap").isEmpty)
        var o = DiagnoseOptions()
        o.stuckAfter = 1_000_000_000
        #expect(Diagnosis.findings("Captures/zero-window.pcap", options: o).map(\.code) == [.zeroWindowStall])
    }
}
