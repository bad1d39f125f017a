import Foundation
import Testing
import WireStateTracker
@testable import WireStateCheck

@Suite struct UpdateTests {
    @Test func newFileHasHeaderAndBlockAndPasses() throws {
        let text = ExpectationWriter.updated(nil, seen: sampleCapture(), captureName: "sample.pcap")
        #expect(text.hasPrefix("# Expectations for sample.pcap"))
        #expect(text.contains("\n" + BlockMarker.begin + "\nconnections 3\n"))
        #expect(text.contains("connection 3 [2001:db8::1]:50000 -> [2001:db8::2]:443\n  final client=CLOSED server=CLOSED\n"))
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

    @Test func aHandWrittenFileWithoutBlockGetsOne() throws {
        let hand = """
            # written by hand
            rule no-connection server=CLOSE_WAIT
            connections 1
            connection 1 *:* -> *:443
              final client=TIME_WAIT
            # end
            """
        let file = try ExpectationParser.parse(hand, path: "hand.expect")
        let updated = ExpectationWriter.updated(file, seen: sampleCapture(), captureName: "hand.pcap")
        #expect(updated.hasPrefix("# written by hand\nrule no-connection server=CLOSE_WAIT\n# end\n\n" + BlockMarker.begin))
        #expect(!updated.contains("*:443"))
        let reparsed = try ExpectationParser.parse(updated, path: "hand.expect")
        #expect(reparsed.connections.count == 3)
        #expect(Evaluator.evaluate(reparsed, sampleCapture()).map(\.line) == [2])
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
