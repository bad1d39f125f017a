import Testing
import WireStateDiagnose
import WireStateTracker

/// abortive-close, peer-vanished, time-wait-pileup and retransmission-heavy on the captures that show them.
@Suite struct CloseFindingTests {
    @Test func resetsAreGroupedByWhoResets() throws {
        let all = Diagnosis.findings("Captures/multi.pcap")
        let resets = all.filter { $0.code == .abortiveClose }
        #expect(resets.count == 2)
        let byClient = try #require(resets.first { $0.subjectKind == .host })
        let byServer = try #require(resets.first { $0.subjectKind == .listener })
        #expect(byClient.connections == [3])
        #expect(byServer.connections == [4])
        #expect(byServer.subject == "127.0.0.1:47007")
        #expect(byClient.summary.contains("RST from the client"))
    }

    @Test func aPeerPresumedGoneIsVanishedAndInferred() throws {
        let f = try #require(Diagnosis.findings("Captures/half-open.pcap").first)
        #expect(f.code == .peerVanished)
        #expect(f.subject == "10.201.0.2:47111")  // the server, still sending
        #expect(f.evidence == .inferred)
        #expect(f.frames.map(\.number) == [12])
    }

    @Test func aPeerWhoseNamespaceWasDeletedVanished() throws {
        let all = Diagnosis.findings("Captures/diagnose/peer-vanished.pcap")
        #expect(all.map(\.code) == [.peerVanished])
        let f = try #require(all.first)
        #expect(f.subject == "10.201.0.2:47210")
        #expect(f.evidence == .inferred)
        #expect(f.details[0].contains("4 retransmissions from the server went unacknowledged"))
    }

    @Test func aResetThatNeverReachedTheServerIsObserved() throws {
        let f = try #require(Diagnosis.findings("Captures/half-open-client-side.pcap").first { $0.code == .peerVanished })
        #expect(f.evidence == .observed)
        #expect(f.details.contains { $0.contains("the RST did not reach it") })
    }

    @Test func timeWaitPileupCountsThemAtOnceAndTheShareOfThePortRange() throws {
        let f = try #require(Diagnosis.findings("Captures/diagnose/time-wait-pileup.pcap").first)
        #expect(f.code == .timeWaitPileup)
        #expect(f.subjectKind == .host)
        #expect(f.peer == "127.0.0.1:47204")
        #expect(f.connectionCount == 200)
        #expect(f.severity == .warning, "200 of Linux's default 28232 ports")
        var o = DiagnoseOptions()
        o.ephemeralPorts = 40000...40199  // the range the recording used: every port held
        let g = try #require(Diagnosis.findings("Captures/diagnose/time-wait-pileup.pcap", options: o).first)
        #expect(g.severity == .critical)
        #expect(g.summary.contains("100.0%"))
        o.timeWaitPileup = 201
        #expect(Diagnosis.findings("Captures/diagnose/time-wait-pileup.pcap", options: o).isEmpty)
    }

    @Test func timeWaitThatExpiresDoesNotPileUp() {
        // With a 1 ms MSL each TIME_WAIT ends long before the next connection: never 100 at once.
        var config = ConnectionTracker.Configuration()
        config.msl = 1_000_000
        var o = DiagnoseOptions()
        o.timeWaitPileup = 2
        #expect(Diagnosis.findings(["Captures/diagnose/time-wait-pileup.pcap"], options: o, configuration: config).isEmpty)
    }

    @Test func aQuarterOfSegmentsResentIsHeavy() throws {
        let f = try #require(Diagnosis.findings("Captures/diagnose/retransmission-heavy.pcap").first)
        #expect(f.code == .retransmissionHeavy)
        #expect(f.subject == "10.201.0.1")
        #expect(f.peer == "10.201.0.2:47208")
        #expect(f.frames.count == 7)
        #expect(f.details[0].contains("handshake RTT"))
        // One recovered loss is not heavy; nor is a share below the threshold.
        #expect(!Diagnosis.findings("Captures/loss-retransmission.pcap").contains { $0.code == .retransmissionHeavy })
        var o = DiagnoseOptions()
        o.retransmissionShare = 0.2  // 7 of 40 is 17.5 %
        #expect(Diagnosis.findings("Captures/diagnose/retransmission-heavy.pcap", options: o).isEmpty)
    }

    @Test func retransmissionsToAVanishedPeerAreNotCountedAsLoss() {
        var o = DiagnoseOptions()
        o.retransmissionMinimum = 1
        #expect(!Diagnosis.findings("Captures/half-open.pcap", options: o).contains { $0.code == .retransmissionHeavy })
    }
}
