import Foundation
import Testing
import WireStateDiagnose

/// Healthy traffic draws no warning or critical finding: every capture of normal closes, bulk
/// transfer, keep-alive, loss that was recovered, port reuse, TFO and simultaneous open/close.
@Suite struct HealthyCaptureTests {
    static let healthy = [
        "client-close.pcap", "client-close-nano.pcap", "server-close.pcap", "server-close-pcapng.pcapng",
        "ipv6-client-close.pcap", "keepalive.pcap", "half-close.pcap", "tfo.pcap", "midstream.pcap",
        "loss-retransmission.pcap", "loss-receiver-side.pcap", "loss-capture-gap.pcap",
        "port-reuse.pcap", "port-reuse-client-tw.pcap", "simultaneous-close.pcap", "simultaneous-open.pcap",
        "simultaneous-open-lo.pcap", "zero-window.pcap",
        // Issue 8 §2 rule captures of real stacks on both ends (a mirror that reorders, a deleted
        // window update, a FIN the relay dropped before the capture point).
        "reorder-ack-before-data.pcap", "window-update-gap.pcap", "fin-order-capture-gap.pcap"
    ]

    @Test(arguments: healthy)
    func healthyCaptureDrawsNoWarning(_ name: String) {
        let serious = Diagnosis.findings("Captures/" + name).filter { $0.severity >= .warning }
        #expect(serious.isEmpty, "\(name): \(serious.map { "\($0.code.code) \($0.subject)" })")
    }

    /// The list above is every healthy capture: a new capture must be named here or in `symptoms`.
    @Test func everyTopLevelCaptureIsClassified() throws {
        let symptoms: Set<String> = [
            "abort-rst.pcap", "multi.pcap", "refused.pcap", "half-open.pcap", "half-open-client-side.pcap",
            // Scripted peers that break the rules: findings there are about the anomalies, not health.
            "ack-unsent-data.pcap", "data-after-fin.pcap", "missing-ack-flag.pcap", "rst-out-of-window.pcap",
            "syn-fin.pcap", "syn-new-isn-in-established.pcap", "synack-wrong-ack.pcap",
            // Issue 8 §2 rule captures (Captures/RULES.md): relay drops, unanswered or refused
            // attempts and scripted peers, each recorded to show a symptom.
            "rst-odd-seq.pcap", "fin-in-syn-sent.pcap", "syn-unanswered.pcap", "rst-in-syn-received.pcap",
            "syn-after-refusal-same-isn.pcap", "synack-ack-lost.pcap", "fin-ack-lost-fin-wait-1.pcap",
            "fin-ack-lost-last-ack.pcap", "paws-old-tsval.pcap", "synsent-bad-tsecr.pcap",
            "ack-too-old.pcap", "synack-from-answered-client.pcap", "data-too-old.pcap",
            "rst-in-syn-sent-dropped.pcap"
        ]
        let dir = Diagnosis.repo.appendingPathComponent("Captures")
        let all = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }
        let unclassified = all.filter { !Self.healthy.contains($0) && !symptoms.contains($0) }
        #expect(unclassified.isEmpty, "classify: \(unclassified)")
    }
}
