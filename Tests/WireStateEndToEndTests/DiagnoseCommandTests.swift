import Foundation
import Testing

/// `wirestate diagnose` through the built binary: each finding on its capture, the threshold flags,
/// JSON Lines against docs/schema/diagnosis.json, and bad input.
@Suite struct DiagnoseCommandTests {
    static let symptoms: [(capture: String, code: String)] = [
        ("Captures/diagnose/close-wait-stuck.pcap", "close-wait-stuck"),
        ("Captures/diagnose/close-wait-stuck.pcap", "fin-wait-2-stuck"),
        ("Captures/refused.pcap", "connection-refused"),
        ("Captures/diagnose/syn-unanswered.pcap", "syn-unanswered"),
        ("Captures/abort-rst.pcap", "abortive-close"),
        ("Captures/diagnose/time-wait-pileup.pcap", "time-wait-pileup"),
        ("Captures/diagnose/zero-window-stall.pcap", "zero-window-stall"),
        ("Captures/half-open.pcap", "peer-vanished"),
        ("Captures/diagnose/peer-vanished.pcap", "peer-vanished"),
        ("Captures/diagnose/keepalive-unanswered.pcap", "peer-vanished"),
        ("Captures/diagnose/idle-reset.pcap", "abortive-close"),
        ("Captures/diagnose/handshake-stalled.pcap", "handshake-stalled"),
        ("Captures/diagnose/listen-queue-overflow.pcap", "listen-queue-overflow"),
        ("Captures/diagnose/syn-flood.pcap", "syn-flood"),
        ("Captures/diagnose/retransmission-heavy.pcap", "retransmission-heavy"),
        ("Captures/diagnose/slow-handshake.pcap", "slow-handshake")
    ]

    @Test(arguments: symptoms.map { [$0.capture, $0.code] })
    func findingIsPrintedForItsCapture(_ pair: [String]) throws {
        let r = try WireStateBinary.run(["diagnose", pair[0]])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains(" \(pair[1])  "), "\(pair[0]): \(r.stdout)")
        #expect(r.stdout.contains("next steps:"))
    }

    @Test func closeWaitAnswerNamesTheListenerAndTheFrames() throws {
        let r = try WireStateBinary.run(["diagnose", "Captures/diagnose/close-wait-stuck.pcap"])
        #expect(r.stdout.hasPrefix("WARNING  close-wait-stuck  listener 127.0.0.1:47201\n"))
        #expect(r.stdout.contains("client's FIN at frame 8, acknowledged by the server at frame 9 (CLOSE_WAIT confirmed)"))
        #expect(r.stdout.hasSuffix("diagnose: 2 findings (0 critical, 1 warning, 1 info) over 4 connections, 36 frames\n"))
    }

    @Test func healthyCaptureSaysNoFindings() throws {
        let r = try WireStateBinary.run(["diagnose", "Captures/client-close.pcap"])
        #expect(r.status == 0)
        #expect(r.stdout == "diagnose: no findings over 1 connection, 10 frames\n")
    }

    @Test func thresholdFlagsChangeTheFindings() throws {
        let late = try WireStateBinary.run(["diagnose", "--stuck-after", "4", "Captures/diagnose/close-wait-stuck.pcap"])
        #expect(!late.stdout.contains("close-wait-stuck"))
        let tw = try WireStateBinary.run(["diagnose", "--ephemeral-ports", "40000-40199", "Captures/diagnose/time-wait-pileup.pcap"])
        #expect(tw.stdout.hasPrefix("CRITICAL time-wait-pileup"))
        let few = try WireStateBinary.run(["diagnose", "--time-wait-pileup", "500", "Captures/diagnose/time-wait-pileup.pcap"])
        #expect(!few.stdout.contains("time-wait-pileup"))
    }

    @Test func idleResetFlagMovesTheResetsAfterIdle() throws {
        let r = try WireStateBinary.run(["diagnose", "Captures/diagnose/idle-reset.pcap"])
        #expect(r.stdout.contains("was reset by the server after 6.067s idle: an idle timeout ends them."), "\(r.stdout)")
        #expect(r.stdout.contains("longest 6.067s, threshold 5.000s"))
        #expect(r.stdout.contains("instead of a FIN in the middle of activity"))
        let late = try WireStateBinary.run(["diagnose", "--idle-reset", "7", "Captures/diagnose/idle-reset.pcap"])
        #expect(late.status == 0)
        #expect(!late.stdout.contains("idle timeout"))
        #expect(late.stdout.contains("2 connections to 127.0.0.1:47211 were ended by a RST from the server instead of a FIN.\n"))
        let json = try WireStateBinary.run(["diagnose", "--format", "jsonl", "Captures/diagnose/idle-reset.pcap"])
        let records = try json.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(records.count == 2)
        #expect(records.filter { $0["threshold_ns"] as? Int == 5_000_000_000 }.map { $0["connections"] as? [Int] } == [[2]])
    }

    @Test func unansweredKeepAlivesAreAPeerVanishedAndAnsweredOnesNothing() throws {
        let r = try WireStateBinary.run(["diagnose", "Captures/diagnose/keepalive-unanswered.pcap"])
        #expect(r.status == 0)
        #expect(r.stdout.hasPrefix("WARNING  peer-vanished  listener 10.201.0.2:47212\n"))
        #expect(r.stdout.contains("3 keep-alives from the server (frames 8, 9, 10) went unanswered"))
        #expect(!r.stdout.contains("abortive-close"), "the RST is the keep-alive giving up")
        let healthy = try WireStateBinary.run(["diagnose", "Captures/keepalive.pcap"])
        #expect(healthy.stdout == "diagnose: no findings over 1 connection, 16 frames\n")
    }

    @Test(arguments: [
        ["--stuck-after", "0"], ["--stuck-after", "1e300"], ["--idle-reset", "0"], ["--idle-reset", "-1"], ["--time-wait-pileup", "0"], ["--syn-flood", "0"],
        ["--slow-handshake", "0"],
        ["--ephemeral-ports", "9-3"], ["--ephemeral-ports", "x"], ["--format", "zeek"]
    ])
    func outOfRangeOptionsAreUsageErrors(_ option: [String]) throws {
        let r = try WireStateBinary.run(["diagnose"] + option + ["Captures/refused.pcap"])
        #expect(r.status == 64, "\(option): \(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    @Test func missingFileIsAnErrorNamingIt() throws {
        let r = try WireStateBinary.run(["diagnose", "Captures/no-such-file.pcap", "Captures/refused.pcap"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("no-such-file.pcap"))
        #expect(r.stdout.contains("connection-refused"), "the other file is still diagnosed")
    }

    @Test func jsonLinesAreOneDiagnosisRecordPerFinding() throws {
        let r = try WireStateBinary.run(["diagnose", "--format", "jsonl", "Captures/diagnose/close-wait-stuck.pcap"])
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(first["type"] as? String == "diagnosis")
        #expect(first["code"] as? String == "close-wait-stuck")
        #expect(first["connections"] as? [Int] == [1, 2, 3])
    }

    @Test(.enabled(if: JSONSchemaTests.hasValidator, "python3 -m pip install jsonschema to validate JSON Lines against docs/schema"))
    func diagnosisRecordsMatchTheirSchema() throws {
        var all = ""
        for capture in Set(Self.symptoms.map(\.capture)).sorted() + ["Captures/multi.pcap", "Captures/half-open-client-side.pcap"] {
            let r = try WireStateBinary.run(["diagnose", "--format", "jsonl", capture])
            all += r.stdout
        }
        // Several files: frames become objects naming their file.
        all += try WireStateBinary.run(["diagnose", "--format", "jsonl", "Captures/refused.pcap", "Captures/abort-rst.pcap"]).stdout
        #expect(all.contains("{\"file\":"))
        let v = try JSONSchemaTests.validate(all)
        #expect(v.status == 0, "\(v.output)")
        #expect(v.output.contains("diagnosis "))
        let broken = all.replacingOccurrences(of: "\"severity\":\"warning\"", with: "\"severity\":\"bad\"")
        #expect(try JSONSchemaTests.validate(broken).status != 0)
    }
}
