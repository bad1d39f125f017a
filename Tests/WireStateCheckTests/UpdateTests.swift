import Foundation
import Testing
import WireStateTracker
@testable import WireStateCheck

@Suite struct UpdateTests {
    @Test func newFileHasHeaderAndBlockAndPasses() throws {
        let text = ExpectationWriter.updated(nil, seen: sampleCapture(), captureName: "sample.pcap")
        #expect(text.hasPrefix("# Expectations for sample.pcap"))
        #expect(text.contains("\n" + BlockMarker.begin + "\nconnections 3\n"))
        // The client port the OS chose is `*`; the server's listening port is written.
        #expect(text.contains("connection 3 [2001:db8::1]:* -> [2001:db8::2]:443\n  final client=CLOSED server=CLOSED\n"))
        #expect(text.contains("  anomaly data-after-fin@23  # violation, server: server sent data after its FIN\n"))
        #expect(text.hasSuffix(BlockMarker.end + "\n"))
        let file = try ExpectationParser.parse(text, path: "sample.expect")
        #expect(Evaluator.evaluate(file, sampleCapture()).isEmpty)
    }

    @Test func updateKeepsRulesAndCommentsAndRewritesOnlyTheBlock() throws {
        let first = ExpectationWriter.updated(nil, seen: sampleCapture(), captureName: "sample.pcap")
        // A person adds rules and comments before and after the block, and a rule inside it.
        var edited = "# Owner: payments team\nrule no-anomaly severity=violation where server-addr=*:8080\n\n" + first
        edited = edited.replacingOccurrences(of: "connections 3\n", with: "connections 3\nrule no-connection server=LISTEN\n")
        edited += "\n# trailing note\nrule every-connection client=!SYN_SENT\n"
        // The capture changed: connection 2's server now closes.
        var changed = sampleCapture()
        changed.connections[1].serverState = .lastAck
        changed.connections[1].serverTransitions.append(SeenTransition(from: .closeWait, to: .lastAck, frame: 17, cause: .sentFin))

        let before = try ExpectationParser.parse(edited, path: "sample.expect")
        #expect(!Evaluator.evaluate(before, changed).isEmpty)
        let updated = ExpectationWriter.updated(before, seen: changed, captureName: "sample.pcap")
        for kept in [
            "# Owner: payments team", "rule no-anomaly severity=violation where server-addr=*:8080",
            "rule no-connection server=LISTEN", "# trailing note", "rule every-connection client=!SYN_SENT",
            "#   rule no-anomaly severity=violation"
        ] {
            #expect(updated.contains(kept + "\n"), "lost: \(kept)")
        }
        #expect(updated.hasPrefix("# Owner: payments team\n"))
        #expect(updated.hasSuffix("rule every-connection client=!SYN_SENT\n"))
        #expect(updated.contains("final client=FIN_WAIT_2 server=LAST_ACK"))
        #expect(updated.contains("CLOSE_WAIT>LAST_ACK@17"))
        // The rule that was inside the block now sits just above it.
        #expect(updated.contains("rule no-connection server=LISTEN\n" + BlockMarker.begin + "\n"))

        let after = try ExpectationParser.parse(updated, path: "sample.expect")
        #expect(Evaluator.evaluate(after, changed).isEmpty)
        #expect(after.rules.count == 3)
        // Updating again changes nothing.
        #expect(ExpectationWriter.updated(after, seen: changed, captureName: "sample.pcap") == updated)
    }

    @Test func handWrittenFactsWithoutABlockAreRefusedNamingTheLine() throws {
        let hand = """
            # written by hand
            rule no-connection server=CLOSE_WAIT
            connections 1
            connection 1 *:* -> *:443
              final client=TIME_WAIT
            # end
            """
        let file = try ExpectationParser.parse(hand, path: "hand.expect")
        let refusal = try #require(ExpectationWriter.refusal(file, path: "hand.expect"))
        #expect(refusal.file == "hand.expect" && refusal.line == 3)
        #expect(refusal.description.hasPrefix("hand.expect:3: this file has facts written by hand"))
        #expect(refusal.message.contains("leaves the file as it is"))
    }

    @Test func aFileOfRulesAndCommentsGetsABlockAppended() throws {
        let hand = "# written by hand\nrule no-connection server=CLOSE_WAIT\n# end\n"
        let file = try ExpectationParser.parse(hand, path: "hand.expect")
        #expect(ExpectationWriter.refusal(file, path: "hand.expect") == nil)
        let updated = ExpectationWriter.updated(file, seen: sampleCapture(), captureName: "hand.pcap")
        #expect(updated.hasPrefix(hand + "\n" + BlockMarker.begin))
        let reparsed = try ExpectationParser.parse(updated, path: "hand.expect")
        #expect(reparsed.connections.count == 3)
        #expect(Evaluator.evaluate(reparsed, sampleCapture()).map(\.line) == [2])
    }

    @Test func factsLoosenedInsideTheBlockAreRefusedNamingTheLine() throws {
        let generated = ExpectationWriter.updated(nil, seen: sampleCapture(), captureName: "sample.pcap")
        let lines = generated.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func number(_ fragment: String) -> Int { lines.firstIndex { $0.contains(fragment) }! + 1 }
        let loosenings: [(String, String)] = [
            ("final client=TIME_WAIT server=CLOSED", "final client=TIME_WAIT|CLOSED server=CLOSED"),
            ("final client=TIME_WAIT server=CLOSED", "final client=TIME_WAIT"),
            ("anomaly data-after-fin@23", "anomaly data-after-fin"),
            ("ESTABLISHED>FIN_WAIT_1@8", "ESTABLISHED>FIN_WAIT_1"),
            ("10.0.0.1:* -> 10.0.0.2:443", "*:* -> 10.0.0.2:443"),
            ("10.0.0.1:* -> 10.0.0.2:443", "10.0.0.1:* -> 10.0.0.2:*")
        ]
        for (original, loosened) in loosenings {
            let line = number(original)
            let text = generated.replacingOccurrences(of: original, with: loosened)
            let file = try ExpectationParser.parse(text, path: "sample.expect")
            let refusal = ExpectationWriter.refusal(file, path: "sample.expect")
            #expect(refusal?.line == line, "\(loosened)")
            #expect(refusal?.message.hasPrefix("`") == true && refusal?.message.contains("loosened by hand") == true)
        }
        // What the writer writes is never refused: `*` client ports, and numbers (older files, --pin-ports).
        for pinned in [false, true] {
            let text = ExpectationWriter.updated(nil, seen: sampleCapture(), captureName: "s.pcap", pinPorts: pinned)
            #expect(ExpectationWriter.refusal(try ExpectationParser.parse(text, path: "s.expect"), path: "s.expect") == nil)
        }
    }

    @Test func pinnedPortsStayPinnedThroughLaterUpdates() throws {
        let pinned = ExpectationWriter.updated(nil, seen: sampleCapture(), captureName: "sample.pcap", pinPorts: true)
        #expect(pinned.contains("\n" + BlockMarker.beginPinned + "\n"))
        #expect(pinned.contains("connection 1 10.0.0.1:40000 -> 10.0.0.2:443\n"))
        let file = try ExpectationParser.parse(pinned, path: "sample.expect")
        #expect(file.blockPinsPorts)
        // An update without --pin-ports keeps the numbers: the marker remembers.
        #expect(ExpectationWriter.updated(file, seen: sampleCapture(), captureName: "sample.pcap") == pinned)
        // A block written before `*` ports existed (plain marker, numbers) is updated to `*`.
        let old = pinned.replacingOccurrences(of: BlockMarker.beginPinned, with: BlockMarker.begin)
        let refreshed = ExpectationWriter.updated(
            try ExpectationParser.parse(old, path: "sample.expect"), seen: sampleCapture(), captureName: "sample.pcap")
        #expect(refreshed.contains("connection 1 10.0.0.1:* -> 10.0.0.2:443\n"))
        #expect(!refreshed.contains("40000"))
    }

    @Test func ephemeralClientPortsAreWrittenAsStar() {
        #expect(EphemeralPort.wildcarded(client: "127.0.0.1:36016") == "127.0.0.1:*")
        #expect(EphemeralPort.wildcarded(client: "127.0.0.1:1024") == "127.0.0.1:*")
        #expect(EphemeralPort.wildcarded(client: "127.0.0.1:1023") == "127.0.0.1:1023")
        #expect(EphemeralPort.wildcarded(client: "10.0.0.9:22") == "10.0.0.9:22")
        #expect(EphemeralPort.wildcarded(client: "[::1]:47006") == "[::1]:*")
        #expect(EphemeralPort.wildcarded(client: "[fe80::1]:700") == "[fe80::1]:700")
    }

    @Test func connectionsThatStarMakesAlikePairInCaptureOrder() throws {
        // Two connections from one client host to one server: with `*` ports they differ only in
        // what they did, so the blocks pair with the connections in the order they were captured.
        var seen = sampleCapture()
        seen.connections[1].server = seen.connections[0].server
        seen.connections[1].client = "10.0.0.1:40777"
        let text = ExpectationWriter.updated(nil, seen: seen, captureName: "s.pcap")
        #expect(text.components(separatedBy: "connection 1 10.0.0.1:* -> 10.0.0.2:443\n").count == 2)
        #expect(text.contains("connection 2 10.0.0.1:* -> 10.0.0.2:443\n"))
        let file = try ExpectationParser.parse(text, path: "s.expect")
        // A re-recording: new client ports, the same behaviour.
        var again = seen
        again.connections[0].client = "10.0.0.1:51000"
        again.connections[1].client = "10.0.0.1:50999"
        #expect(Evaluator.evaluate(file, again).isEmpty)
        // The same two connections in the other order: each block meets the other's behaviour.
        var swapped = again
        swapped.connections.swapAt(0, 1)
        let m = Evaluator.evaluate(file, swapped)
        #expect(m.contains { $0.connection?.hasPrefix("connection 1 (10.0.0.1:50999") == true && $0.message.hasPrefix("client final state") })
        #expect(m.contains { $0.connection?.hasPrefix("connection 2 (10.0.0.1:51000") == true })
    }

    @Test func realCaptureRoundTripsThroughTheChecker() throws {
        let dir = try Support.temporaryCopy(of: ["multi.pcap"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = CheckTarget(
            capture: dir.appendingPathComponent("multi.pcap").path,
            expectation: dir.appendingPathComponent("multi.expect").path)
        let missing = Checker.check(target)
        #expect(missing.status == .failed)
        #expect(missing.mismatches.first?.message.contains("expected an expectation file") == true)

        let created = Checker.check(target, options: .init(update: true))
        #expect(created.status == .passed && created.update == .created)
        let text = try Support.read(URL(fileURLWithPath: target.expectation))
        try Support.write("# kept comment\nrule no-anomaly severity=violation\n" + text, to: URL(fileURLWithPath: target.expectation))

        let unchanged = Checker.check(target, options: .init(update: true))
        #expect(unchanged.status == .passed && unchanged.update == .unchanged)
        let checked = Checker.check(target)
        #expect(checked.status == .passed, "\(checked.mismatches)")
        #expect(try Support.read(URL(fileURLWithPath: target.expectation)).hasPrefix("# kept comment\nrule no-anomaly"))
    }
}
