import Testing
import WireStateDecoder
@testable import WireStateTracker

/// `window-shrunk`: the right edge (ACK + window) moved left (RFC 9293 §3.8.6 says a receiver
/// should not). One shrink is one finding however many segments keep it shrunk.
@Suite struct WindowShrinkTests {
    /// Handshake, then the client sends 100 bytes and the server acknowledges with `windows`.
    static func run(serverWindows windows: [UInt16]) -> Wire {
        var w = Wire()
        w.handshake()  // frames 1-3, windows 65535
        w.c([.ack, .psh], seq: 1001, ack: 5001, len: 100)  // frame 4
        var frame = 4
        for win in windows {
            frame += 1
            w.s(.ack, seq: 5001, ack: 1101, window: win)
        }
        _ = w.finish()
        return w
    }

    static func shrinks(_ w: Wire) -> [Anomaly] {
        w.events.compactMap { if case .anomaly(let a) = $0, a.code == .windowShrunk { return a } else { return nil } }
    }

    @Test func aWindowThatStaysShrunkIsOneFindingWithACount() throws {
        // Edge was 1001 + 65535; these ACKs put it at 1101 + 1000, 5 times, then it reopens.
        let w = Self.run(serverWindows: [1000, 1000, 1000, 1000, 1000, 65535, 65535])
        let found = Self.shrinks(w)
        #expect(found.count == 1)
        let a = try #require(found.first)
        #expect(a.endpoint == .server)
        #expect(a.frame?.number == 5 && a.lastFrame?.number == 9 && a.count == 5)
        #expect(a.expected == 1001 &+ 65535 && a.actual == 1101 &+ 1000)
        #expect(a.serverBefore == .established && a.serverAfter == .established)
        let summary = try #require(
            w.events.compactMap { e -> ConnectionSummary? in
                if case .finished(let s) = e { return s } else { return nil }
            }.first)
        #expect(summary.anomalyCount == 1, "counted once")
    }

    @Test func aRunStillOpenAtTheEndIsReportedBeforeTheConnectionRecord() throws {
        let w = Self.run(serverWindows: [1000, 1000, 1000])
        let a = try #require(Self.shrinks(w).first)
        #expect(a.count == 3 && a.frame?.number == 5 && a.lastFrame?.number == 7)
        let shrinkAt = try #require(w.events.firstIndex { if case .anomaly(let x) = $0 { return x.code == .windowShrunk } else { return false } })
        let finishedAt = try #require(w.events.firstIndex { if case .finished = $0 { return true } else { return false } })
        #expect(shrinkAt < finishedAt)
    }

    @Test func twoSeparateShrinksAreTwoFindings() {
        let w = Self.run(serverWindows: [1000, 65535, 2000, 2000])
        #expect(Self.shrinks(w).map(\.count) == [1, 2])
        #expect(Self.shrinks(w).map { $0.frame?.number } == [5, 7])
    }

    @Test func aSmallerWindowWhoseEdgeStillMovesRightIsNoShrink() {
        // ACK advanced by 100, window smaller by 100: the edge stays where it was.
        let w = Self.run(serverWindows: [65435, 65435, 65000 + 435])
        #expect(Self.shrinks(w).isEmpty)
    }
}
