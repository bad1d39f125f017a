import Testing
import WireStateDiagnose
import WireStateTracker

/// peer-vanished on keep-alives nobody answers: Captures/diagnose/keepalive-unanswered.pcap (the
/// client's namespace deleted; the server probes it three times, then resets), against the
/// healthy Captures/keepalive.pcap, whose keep-alives are answered.
@Suite struct UnansweredKeepAliveFindingTests {
    static let capture = "Captures/diagnose/keepalive-unanswered.pcap"

    @Test func keepAlivesToAVanishedPeerAreAPeerVanished() throws {
        let all = Diagnosis.findings(Self.capture)
        // The RST that ends them is the kernel giving up, explained here: not an abortive close.
        #expect(all.map(\.code) == [.peerVanished])
        let f = try #require(all.first)
        #expect(f.subject == "10.201.0.2:47212")  // the server, still probing
        #expect(f.evidence == .inferred)
        #expect(f.frames.map(\.number) == [8, 9, 10, 11])
        #expect(f.summary.contains("keep-alive probes, unanswered"))
        #expect(f.details[0].contains("3 keep-alives from the server (frames 8, 9, 10) went unanswered"))
        #expect(f.details[0].contains("the server then reset the connection (frame 11)"))
    }

    @Test func unansweredToTheEndWithoutTheReset() throws {
        // Without the RST (filtered out) the three probes still go unanswered to the end...
        let noRst = "not tcp[13] & 4 != 0"
        let f = try #require(Diagnosis.findings([Self.capture], filter: noRst).first)
        #expect(f.code == .peerVanished)
        #expect(f.details[0].contains("to the end of the capture"))
        // ...and asking for more than three silences it.
        var o = DiagnoseOptions()
        o.unansweredKeepAlives = 4
        #expect(Diagnosis.findings([Self.capture], options: o, filter: noRst).isEmpty)
    }

    @Test func answeredKeepAlivesDrawNothing() {
        var o = DiagnoseOptions()
        o.unansweredKeepAlives = 1  // even one unanswered probe would be reported
        #expect(Diagnosis.findings("Captures/keepalive.pcap", options: o).isEmpty)
    }

    @Test func retransmissionsToAVanishedPeerAreStillReportedOnce() {
        let all = Diagnosis.findings("Captures/diagnose/peer-vanished.pcap")
        #expect(all.map(\.code) == [.peerVanished])
        #expect(all.first?.details.count == 1)
    }
}
