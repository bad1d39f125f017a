import Foundation
import Testing
import WireStateDiagnose

/// The text block and the JSON record of a finding, and ranking across findings.
@Suite struct DiagnosisReportTests {
    @Test func textBlockHasEverySection() throws {
        let f = try #require(Diagnosis.findings("Captures/diagnose/close-wait-stuck.pcap").first)
        let t = DiagnosisReport.text(f)
        #expect(t.hasPrefix("WARNING  close-wait-stuck  listener 127.0.0.1:47201\n"))
        for section in ["  evidence (observed; longest ", "  likely causes:\n", "  next steps:\n"] {
            #expect(t.contains(section), "missing \(section)")
        }
    }

    @Test func jsonRecordParsesWithItsFields() throws {
        let f = try #require(Diagnosis.findings("Captures/diagnose/listen-queue-overflow.pcap").first)
        let line = DiagnosisReport.json(f)
        let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(o["type"] as? String == "diagnosis")
        #expect(o["code"] as? String == "listen-queue-overflow")
        #expect(o["severity"] as? String == "critical")
        #expect(o["subject"] as? String == "127.0.0.1:47203")
        #expect((o["connections"] as? [Int]) == [1, 2, 3, 4, 5, 6])
        #expect((o["frames"] as? [Int])?.first == 2)
        #expect(o["peer"] is NSNull)
        #expect((o["next_steps"] as? [String])?.isEmpty == false)
    }

    @Test func framesNameTheirFileWhenSeveralFilesAreRead() throws {
        let all = Diagnosis.findings(["Captures/refused.pcap", "Captures/diagnose/close-wait-stuck.pcap"])
        let f = try #require(all.first { $0.code == .connectionRefused })
        let line = DiagnosisReport.json(f, sourceNames: ["Captures/refused.pcap", "b.pcap"])
        #expect(line.contains("\"frames\":[{\"file\":\"Captures/refused.pcap\",\"frame\":1}"))
        #expect(f.details.contains { $0.contains("Captures/refused.pcap#2") })
    }

    @Test func findingsAreRankedBySeverityThenImportance() {
        let all = Diagnosis.findings(["Captures/diagnose/close-wait-stuck.pcap", "Captures/diagnose/listen-queue-overflow.pcap"])
        #expect(all.map(\.code) == [.listenQueueOverflow, .closeWaitStuck, .finWait2Stuck])
    }

    @Test func codesAreStableAndDistinct() {
        let codes = DiagnosisCode.allCases.map(\.code)
        #expect(Set(codes).count == codes.count)
        #expect(codes.allSatisfy { DiagnosisCode(code: $0)?.code == $0 })
        #expect(DiagnosisCode.closeWaitStuck.code == "close-wait-stuck")
    }
}
