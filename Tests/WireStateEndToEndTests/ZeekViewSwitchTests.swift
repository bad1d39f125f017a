import Foundation
import Testing
import WireStateDecoder
import WireStateTracker

@testable import WireStatePipeline

/// `ConnectionTracker.Configuration.zeekView` (off for `analyze --quiet`, which prints no Zeek
/// field): turning it off leaves Zeek's view empty and changes nothing else the tracker says.
@Suite struct ZeekViewSwitchTests {
    static func events(_ files: [String], zeekView: Bool) -> [TrackerEvent] {
        var config = ConnectionTracker.Configuration()
        config.zeekView = zeekView
        var p = Pipeline(configuration: config, sink: ThreadsTests.Recorder())
        for f in files { p.runFile(WireStateBinary.repo.appendingPathComponent(f).path) }
        p.finish()
        return p.sink.events
    }

    static func sameFactsButZeek(_ a: ConnectionFacts, _ b: ConnectionFacts) -> Bool {
        a.synTime == b.synTime && a.synAckTime == b.synAckTime && a.ackTime == b.ackTime
            && a.lastClientTime == b.lastClientTime && a.lastServerTime == b.lastServerTime
            && a.lastActivityTime == b.lastActivityTime && a.idleBeforeReset == b.idleBeforeReset
            && a.silenceBeforeReset == b.silenceBeforeReset && a.resetBy == b.resetBy && a.closedBy == b.closedBy
            && a.handshakeRTT == b.handshakeRTT
    }

    @Test func offLeavesZeekEmptyAndChangesNothingElse() throws {
        let files = try ShardTests.captures() + ThreadsTests.tunnelFixtures()
        let on = Self.events(files, zeekView: true)
        let off = Self.events(files, zeekView: false)
        #expect(on.count > 1000)
        #expect(on.count == off.count)
        var finished = 0, zeekFilled = 0
        for (a, b) in zip(on, off) {
            switch (a, b) {
            case (.finished(let x), .finished(let y)), (.opened(let x), .opened(let y)):
                #expect(y.facts.zeek == ZeekView(), "connection \(y.ref.id): Zeek's view followed with zeekView off")
                if case .finished = a {
                    finished += 1
                    if x.facts.zeek != ZeekView() { zeekFilled += 1 }
                }
                var x2 = x, y2 = y
                x2.facts = ConnectionFacts()
                y2.facts = ConnectionFacts()
                #expect(x2 == y2, "connection \(x.ref.id)")
                #expect(Self.sameFactsButZeek(x.facts, y.facts), "connection \(x.ref.id)")
            default:
                #expect(a == b)
            }
        }
        // With it on, Zeek's view is there to lose: nearly every connection has one.
        #expect(finished > 50)
        #expect(zeekFilled * 10 > finished * 9, "\(zeekFilled) of \(finished)")
    }

    /// `--quiet` runs with it off and prints the same totals as before; the formats that print
    /// Zeek's fields keep it (their conn_state column is filled).
    @Test func quietPrintsTheSameTotalsAndZeekKeepsItsStates() throws {
        let captures = try ShardTests.captures()
        let quiet = try ThreadsTests.output(["--quiet"] + captures)
        let text = try ThreadsTests.output(["--limit", "0"] + captures)
        for line in quiet.split(separator: "\n") where line.hasPrefix("Totals") || line.hasPrefix("End states") {
            #expect(text.contains(line), "\(line)")
        }
        let zeek = try ThreadsTests.output(["--format", "zeek"] + captures)
        #expect(zeek.contains("\tSF\t") && zeek.contains("\tREJ\t"))
    }
}
