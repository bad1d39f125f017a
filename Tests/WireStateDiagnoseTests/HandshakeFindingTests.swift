import Testing
import WireStateDiagnose
import WireStateTracker

/// connection-refused, syn-unanswered, listen-queue-overflow, syn-flood and slow-handshake on the captures that show them.
@Suite struct HandshakeFindingTests {
    @Test func refusedAttemptsAreGroupedByTheirPort() throws {
        let all = Diagnosis.findings("Captures/refused.pcap")
        #expect(all.map(\.code) == [.connectionRefused])
        let f = try #require(all.first)
        #expect(f.subject == "127.0.0.1:47004")
        #expect(f.frames.map(\.number) == [1, 2])  // the SYN and the RST
        #expect(f.evidence == .observed)
    }

    @Test func synsDroppedOnThePathAreUnansweredAndSayTheCaptureMayBeOneSided() throws {
        let all = Diagnosis.findings("Captures/diagnose/syn-unanswered.pcap")
        #expect(all.map(\.code) == [.synUnanswered])
        let f = try #require(all.first)
        #expect(f.subject == "10.201.0.2:47202")
        #expect(f.frames.count >= 3)
        // Nothing at all comes back to that client in this file: a one-sided capture looks the same.
        #expect(f.evidence == .inferred)
        #expect(f.details.contains { $0.contains("only one direction") })
    }

    @Test func aListenerThatAnswersSomeAndDropsOthersOverflowsItsQueue() throws {
        let all = Diagnosis.findings("Captures/diagnose/listen-queue-overflow.pcap")
        // The dropped SYNs are explained by the overflow, not reported again as unanswered.
        #expect(all.map(\.code) == [.listenQueueOverflow])
        let f = try #require(all.first)
        #expect(f.severity == .critical)
        #expect(f.subject == "127.0.0.1:47203")
        #expect(f.connectionCount == 4)
        #expect(f.connections == [1, 2, 3, 4, 5, 6])
        #expect(f.summary.contains("answered 2 connections"))
        #expect(f.nextSteps.contains { $0.contains("TcpExtListenOverflows") })
    }

    @Test func unansweredSynsAloneAreNotAnOverflow() {
        // The same listener logic on a capture where nothing was answered: no overflow.
        #expect(!Diagnosis.findings("Captures/diagnose/syn-unanswered.pcap").contains { $0.code == .listenQueueOverflow })
    }

    @Test func manyHalfOpenHandshakesFromManySourcesAreASynFlood() throws {
        let all = Diagnosis.findings("Captures/diagnose/syn-flood.pcap")
        // The flood explains every stalled handshake: they are not reported one by one.
        #expect(all.map(\.code) == [.synFlood])
        let f = try #require(all.first)
        #expect(f.severity == .critical)
        #expect(f.subject == "10.201.0.2:47207")
        #expect(f.connectionCount == 60)
        #expect(f.evidence == .inferred)
        var o = DiagnoseOptions()
        o.synFloodSources = 61  // one more source than the capture has: no flood, the handshakes stall
        o.stuckAfter = 500_000_000  // (held about 1 s, to the SYN+ACK retransmissions that end the file)
        #expect(Diagnosis.findings("Captures/diagnose/syn-flood.pcap", options: o).map(\.code) == [.handshakeStalled])
        o = DiagnoseOptions()
        o.synFloodWindow = 5_000_000  // the 60 SYNs span 12 ms: at most a part of them within 5 ms
        #expect(!Diagnosis.findings("Captures/diagnose/syn-flood.pcap", options: o).contains { $0.code == .synFlood })
    }

    @Test func handshakesAnsweredOnlyAfterASynRetransmissionAreSlow() throws {
        let all = Diagnosis.findings("Captures/diagnose/slow-handshake.pcap")
        #expect(all.map(\.code) == [.slowHandshake])
        let f = try #require(all.first)
        #expect(f.connections == [3, 5])
        #expect(f.subject == "10.201.0.2:47209")
        // Measured from the first SYN: the retransmission's second counts (about 1 s).
        #expect((f.durationNanos ?? 0) > 1_000_000_000)
        var o = DiagnoseOptions()
        o.slowHandshake = 1_500_000_000
        #expect(Diagnosis.findings("Captures/diagnose/slow-handshake.pcap", options: o).isEmpty)
        o = DiagnoseOptions()
        o.slowHandshakeSamples = 7  // six handshakes give no median to judge by
        #expect(Diagnosis.findings("Captures/diagnose/slow-handshake.pcap", options: o).isEmpty)
    }
}
