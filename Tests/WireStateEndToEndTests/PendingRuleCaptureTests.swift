import Foundation
import Testing

/// Issue 8, section 2: one real capture per rule (Captures/record-rules.py, kernel truth beside each), kept in
/// Captures/.pending/ with the expectation file that states the *correct* answer, because today's tracker does
/// not give it yet. `check Captures/` skips hidden directories, so the suite stays green; each test below runs
/// the built binary on its capture and asserts the correct answer inside `withKnownIssue`. When a rule lands
/// its test starts failing with "known issue was not recorded": move the capture, its .truth.json and .expect
/// up into Captures/ (where `check Captures/` and the kernel-truth test then hold it) and drop the wrapper.
@Suite struct PendingRuleCaptureTests {
    static let dir = "Captures/.pending/"

    static let captures = [
        "midstream-half-close"
    ]

    /// Rules that landed: their captures moved up to Captures/, where `check Captures/` and the
    /// kernel-truth test hold them too; their tests below run without the known-issue wrapper.
    static let landed = [
        "synack-ack-lost", "fin-ack-lost-fin-wait-1", "fin-ack-lost-last-ack", "syn-unanswered",
        "rst-in-syn-received", "syn-after-refusal-same-isn", "rst-odd-seq", "fin-in-syn-sent",
        "reorder-ack-before-data", "window-update-gap", "fin-order-capture-gap", "paws-old-tsval",
        "synsent-bad-tsecr", "ack-too-old", "synack-from-answered-client", "data-too-old",
        "rst-in-syn-sent-dropped"
    ]

    static func path(_ name: String, _ ext: String = "pcap") -> String {
        (landed.contains(name) ? "Captures/" : dir) + name + "." + ext
    }

    /// `wirestate check` on one pending capture against its intended expectation file.
    static func check(_ name: String) throws -> WireStateBinary.Result {
        try WireStateBinary.run(["check", path(name)])
    }

    /// The JSON Lines records of `analyze --format jsonl` of one pending capture.
    static func records(_ name: String) throws -> [[String: Any]] {
        let r = try WireStateBinary.run(["analyze", "--format", "jsonl", path(name)])
        return r.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    static func anomalies(_ name: String) throws -> [[String: Any]] {
        try records(name).filter { $0["type"] as? String == "anomaly" }
    }

    /// Whether `records` hold anomaly `code` at `frame`, about `endpoint` when given, with `fields`.
    static func has(
        _ records: [[String: Any]], _ code: String, at frame: Int, about endpoint: String? = nil,
        _ fields: [String: String] = [:]
    ) -> Bool {
        records.contains { r in
            r["code"] as? String == code && r["frame"] as? Int == frame
                && (endpoint == nil || r["endpoint"] as? String == endpoint)
                && fields.allSatisfy { r[$0.key] as? String == $0.value }
        }
    }

    /// Outside the known issue: the capture is there and its intended expectation parses (a missing file or a
    /// syntax error must fail for real, never pass as the known issue).
    static func checkable(_ names: String...) throws {
        for name in names {
            #expect(FileManager.default.fileExists(atPath: WireStateBinary.repo.appendingPathComponent(path(name)).path))
            let r = try check(name)
            #expect(r.status == 0 || r.status == 1, "\(name): \(r.stdout)\(r.stderr)")
        }
    }

    /// Inside the known issue: wirestate gives the intended answer.
    static func holdsIntendedAnswer(_ names: String...) throws {
        for name in names {
            let r = try check(name)
            #expect(r.status == 0, "\(name): \(r.stdout)")
        }
    }

    // MARK: the place itself

    @Test func checkOfCapturesDoesNotScanThePendingCaptures() throws {
        let r = try WireStateBinary.run(["check", "Captures/"])
        #expect(!r.stdout.contains(".pending"), "\(r.stdout)")
        #expect(!r.stdout.contains(Self.captures[0]), "\(r.stdout)")
    }

    @Test func everyLandedRuleCaptureIsInCapturesWithItsTruthAndExpectation() throws {
        let fm = FileManager.default
        for name in Self.landed {
            for ext in ["pcap", "truth.json", "expect"] {
                #expect(fm.fileExists(atPath: WireStateBinary.repo.appendingPathComponent("Captures/\(name).\(ext)").path))
                #expect(!fm.fileExists(atPath: WireStateBinary.repo.appendingPathComponent(Self.dir + name + "." + ext).path))
            }
        }
    }

    @Test func everyPendingCaptureHasItsTruthAndIntendedExpectation() throws {
        let fm = FileManager.default
        let names = try fm.contentsOfDirectory(atPath: WireStateBinary.repo.appendingPathComponent(Self.dir).path)
        let pcaps = names.filter { $0.hasSuffix(".pcap") }.map { String($0.dropLast(5)) }.sorted()
        #expect(pcaps == Self.captures.sorted())
        for name in pcaps {
            #expect(names.contains(name + ".truth.json"), "\(name) has no truth file")
            #expect(names.contains(name + ".expect"), "\(name) has no intended expectation file")
        }
    }

    /// Whether `state` matches an expectation-file state list (`A|B`, or `!A|B` for neither).
    static func matches(_ pattern: Substring, _ state: String) -> Bool {
        let negated = pattern.hasPrefix("!")
        let names = pattern.dropFirst(negated ? 1 : 0).split(separator: "|").map(String.init)
        return names.contains(state) != negated
    }

    /// The state patterns an intended expectation gives each connection (in block order) for `role`
    /// ("client" or "server"): its block's `final` line and every `rule every-connection` without `where`.
    static func intendedPatterns(_ expect: String, role: String, connections: Int) -> [[Substring]] {
        var perBlock: [[Substring]] = [], common: [Substring] = []
        for line in expect.split(separator: "\n") {
            let words = line.split(separator: " ")
            if line.hasPrefix("connection ") { perBlock.append([]) }
            let isFinal = words.first == "final"
            let isRule = line.hasPrefix("rule every-connection ") && !words.contains("where")
            guard isFinal || isRule else { continue }
            for w in words where w.hasPrefix(role + "=") {
                if isFinal, !perBlock.isEmpty { perBlock[perBlock.count - 1].append(w.dropFirst(role.count + 1)) }
                if isRule { common.append(w.dropFirst(role.count + 1)) }
            }
        }
        return (0..<connections).map { i in (i < perBlock.count ? perBlock[i] : []) + common }
    }

    /// The intended answers agree with the kernel: every endpoint that was a kernel socket has its `ss` state
    /// (the truth file) named by the intended expectation, so no "must say" contradicts the recording.
    @Test(arguments: captures + landed)
    func intendedFinalStatesAgreeWithTheKernel(_ name: String) throws {
        struct Truth: Decodable {
            struct Conn: Decodable { var client_state: String; var server_state: String; var scripted: String? }
            var connections: [Conn]
        }
        let root = WireStateBinary.repo
        let truthURL = root.appendingPathComponent(Self.path(name, "truth.json"))
        let truth = try JSONDecoder().decode(Truth.self, from: Data(contentsOf: truthURL))
        let expect = try String(contentsOf: root.appendingPathComponent(Self.path(name, "expect")), encoding: .utf8)
        for role in ["client", "server"] {
            let patterns = Self.intendedPatterns(expect, role: role, connections: truth.connections.count)
            for (i, c) in truth.connections.enumerated() where c.scripted != role {
                let state = role == "client" ? c.client_state : c.server_state
                #expect(!patterns[i].isEmpty, "\(name): connection \(i + 1): the intended expectation names no \(role) state")
                for p in patterns[i] {
                    #expect(Self.matches(p, state), "\(name): connection \(i + 1): intended \(role)=\(p), kernel says \(state)")
                }
            }
        }
    }

    // MARK: one test per rule

    @Test func captureReorderingIsNotAViolation() throws {
        try Self.checkable("reorder-ack-before-data")
        try Self.holdsIntendedAnswer("reorder-ack-before-data")
        // The request (frame 6) arrives after the ACK that covered it (frame 4): reported as a capture
        // artefact there, never as ack-of-unsent-data.
        let a = try Self.anomalies("reorder-ack-before-data")
        #expect(
            a.contains {
                $0["frame"] as? Int == 6 && $0["severity"] as? String == "capture-gap"
                    && $0["code"] as? String == "capture-reordered" && $0["related_frame"] as? Int == 4
            })
        #expect(!a.contains { $0["severity"] as? String == "violation" })
    }

    @Test func timestampsFailingPAWSAreReportedAndChangeNothing() throws {
        try Self.checkable("paws-old-tsval", "synsent-bad-tsecr")
        try Self.holdsIntendedAnswer("paws-old-tsval", "synsent-bad-tsecr")
        // Frame 6: TSval 995000 after 1000020 was accepted; Linux dropped it.
        let paws = try Self.anomalies("paws-old-tsval")
        #expect(
            paws.contains {
                $0["frame"] as? Int == 6 && $0["endpoint"] as? String == "client"
                    && $0["code"] as? String == "paws-old-tsval"
            })
        // Frames 2 and 3 echo a TSecr the client never sent: each is reported, neither closes the client.
        let forged = try Self.anomalies("synsent-bad-tsecr")
        for frame in [2, 3] {
            #expect(
                forged.contains {
                    $0["frame"] as? Int == frame && $0["endpoint"] as? String == "server"
                        && $0["code"] as? String == "tsecr-not-sent"
                })
        }
    }

    @Test func anAckTooOldIsDroppedAndReported() throws {
        try Self.checkable("ack-too-old")
        try Self.holdsIntendedAnswer("ack-too-old")
        // Frame 24: an ACK 10000 below the kernel's SND.UNA (window 4000); Linux dropped it.
        let a = try Self.anomalies("ack-too-old")
        #expect(Self.has(a, "ack-too-old", at: 24, about: "client"))
        #expect(Self.has(a, "retransmission", at: 26))
    }

    @Test func dataBelowTheLowerWindowBoundIsTooOldNotARetransmission() throws {
        try Self.checkable("data-too-old")
        try Self.holdsIntendedAnswer("data-too-old")
        // Frame 52: the first 500-byte segment again, 10040 bytes below SND.NXT minus the kernel's
        // largest window (1460); Linux dropped it and the application read nothing.
        let a = try Self.anomalies("data-too-old")
        #expect(Self.has(a, "data-too-old", at: 52, about: "client", ["server_after": "ESTABLISHED"]))
        #expect(!a.contains { $0["code"] as? String == "retransmission" })
    }

    @Test func rstsThatSynSentDoesNotAcceptLeaveItWhereItIs() throws {
        try Self.checkable("rst-in-syn-sent-dropped")
        try Self.holdsIntendedAnswer("rst-in-syn-sent-dropped")
        // Frames 2 (no ACK) and 3 (ACK beyond the client's SYN): Linux stayed SYN-SENT both times.
        let a = try Self.anomalies("rst-in-syn-sent-dropped")
        for (frame, code) in [(2, "rst-without-ack"), (3, "rst-bad-ack")] {
            #expect(Self.has(a, code, at: frame, about: "server", ["client_after": "SYN_SENT"]), "\(code)@\(frame)")
        }
        #expect(!a.contains { $0["code"] as? String == "refused" })
    }

    @Test func aSynAckFromTheEndpointWhoseSynWasAnsweredIsTheWrongDirection() throws {
        try Self.checkable("synack-from-answered-client")
        try Self.holdsIntendedAnswer("synack-from-answered-client")
        // Frame 6: the client's SYN+ACK after the kernel answered its SYN; Linux stayed ESTABLISHED.
        let a = try Self.anomalies("synack-from-answered-client")
        #expect(
            a.contains {
                $0["frame"] as? Int == 6 && $0["endpoint"] as? String == "client"
                    && $0["code"] as? String == "synack-wrong-direction" && $0["client_after"] as? String == "ESTABLISHED"
                    && $0["server_after"] as? String == "ESTABLISHED"
            })
    }

    @Test func retransmissionProvesTheAckWasLost() throws {
        try Self.checkable("synack-ack-lost", "fin-ack-lost-fin-wait-1", "fin-ack-lost-last-ack")
        try Self.holdsIntendedAnswer("synack-ack-lost", "fin-ack-lost-fin-wait-1", "fin-ack-lost-last-ack")
    }

    @Test func aResponderWithoutTCBEndsClosedNotListen() throws {
        try Self.checkable("syn-unanswered", "rst-in-syn-received")
        try Self.holdsIntendedAnswer("syn-unanswered", "rst-in-syn-received")
    }

    @Test func aSynAfterARefusalWithTheSameISNIsANewIncarnation() throws {
        try Self.checkable("syn-after-refusal-same-isn")
        try Self.holdsIntendedAnswer("syn-after-refusal-same-isn")
    }

    @Test func theSenderOfAnyRSTIsClosed() throws {
        try Self.checkable("rst-odd-seq")
        try Self.holdsIntendedAnswer("rst-odd-seq")
    }

    @Test func whoClosedFirstFollowsTheOrderTheFINsWereSent() throws {
        try Self.checkable("fin-order-capture-gap")
        try Self.holdsIntendedAnswer("fin-order-capture-gap")
        let conn = try Self.records("fin-order-capture-gap").first { $0["type"] as? String == "connection" }
        #expect(conn?["closed_by"] as? String == "client")
    }

    @Test func aCaptureGapHidesAWindowUpdate() throws {
        try Self.checkable("window-update-gap")
        try Self.holdsIntendedAnswer("window-update-gap")
        // The server's ACK (9) of the data past the edge (8) shows the update the capture lost.
        let a = try Self.anomalies("window-update-gap")
        #expect(
            a.contains {
                $0["frame"] as? Int == 9 && $0["code"] as? String == "window-update-not-captured"
                    && $0["related_frame"] as? Int == 8 && $0["endpoint"] as? String == "server"
            })
    }

    @Test func aFINSentInSynSentIsFinBeforeEstablished() throws {
        try Self.checkable("fin-in-syn-sent")
        try Self.holdsIntendedAnswer("fin-in-syn-sent")
    }

    @Test func aMidstreamPickupDuringAHalfCloseIsUnknown() throws {
        // The rule holds, but the capture stays in .pending/: its final states are ambiguous by
        // design (evidence unknown, CLOSE_WAIT|TIME_WAIT / FIN_WAIT_2|CLOSED), and KernelTruthTests
        // demands the kernel's exact state, TIME_WAIT / CLOSED, of every capture in Captures/.
        try Self.checkable("midstream-half-close")
        try Self.holdsIntendedAnswer("midstream-half-close")
    }
}
