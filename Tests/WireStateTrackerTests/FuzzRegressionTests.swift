import Foundation
import Testing
import WireStateDecoder
@testable import WireStateTracker

/// Inputs the fuzz targets (Fuzz/) crashed on, committed in Tests/Fixtures/fuzz and replayed here
/// so the fix stays. FuzzTracker's input format is replayed as that target reads it (without its
/// fragment reassembly, which these inputs do not need).
@Suite struct FuzzRegressionTests {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/fuzz")

    /// A connection seen at the top of the time range and then (the clock wrapping) at the bottom:
    /// the end-of-capture sweep subtracted times 2⁶³ ns apart and trapped.
    @Test func sweepAcrossTheWholeTimeRangeDoesNotTrap() throws {
        let bytes = try [UInt8](Data(contentsOf: Self.dir.appendingPathComponent("tracker-sweep-time-overflow.bin")))
        let events = try Self.replayTrackerInput(bytes)
        let opened = events.filter { if case .opened = $0 { true } else { false } }.count
        let finished = events.compactMap { if case .finished(let s) = $0 { s } else { nil } }
        // The second segment starts a new incarnation; both are reported, none lost to a trap.
        #expect(opened == 2)
        #expect(finished.count == opened)
        #expect(finished.allSatisfy { $0.endReason != nil })
    }

    /// Elapsed time saturates at both ends instead of trapping.
    @Test func elapsedSaturates() {
        let top: Int64 = 1 << 62
        let bottom: Int64 = -top
        #expect(CaptureTime.elapsed(from: bottom, to: top) == Int64.max)
        #expect(CaptureTime.elapsed(from: top, to: bottom) == Int64.min)
        #expect(CaptureTime.elapsed(from: 1, to: Int64.min) == Int64.min)
        #expect(CaptureTime.elapsed(from: 3, to: 5) == 2)
    }

    /// FuzzTracker's format: link index, configuration index, then (control, 2-byte length, frame).
    static func replayTrackerInput(_ bytes: [UInt8]) throws -> [TrackerEvent] {
        try #require(bytes.count >= 2)
        let configurations: [ConnectionTracker.Configuration] = [
            .init(), .init(msl: 1_000_000, closedLinger: 0, idleTimeout: 1_000_000),
            .init(msl: 1_000_000_000, closedLinger: 500_000_000, idleTimeout: 5_000_000_000),
            .init(msl: 60_000_000_000, closedLinger: 10_000_000_000, idleTimeout: 3_600_000_000_000)
        ]
        var decoder = PacketDecoder(linkType: LinkType.allCases[Int(bytes[0]) % LinkType.allCases.count])
        var tracker = ConnectionTracker(configuration: configurations[Int(bytes[1]) % configurations.count])
        var events: [TrackerEvent] = []
        var time: Int64 = 1_700_000_000_000_000_000
        var offset = 2
        var frame: UInt64 = 0
        while offset + 3 <= bytes.count {
            let control = bytes[offset]
            let length = Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2])
            let end = min(offset + 3 + length, bytes.count)
            let steps: [Int64] = [0, 1_000_000, 1_500_000_000, 61_000_000_000, 1 << 40, -2_000_000_000]
            switch control & 7 {
            case 6: time = .max
            case 7: time = .min
            case let op: time = time &+ steps[Int(op)]
            }
            let wire = [end - offset - 3, end - offset - 3 + 1000, 0, Int(UInt32.max)][Int(control >> 3) & 3]
            frame += 1
            var segment = TCPSegment.empty
            let status = bytes[(offset + 3)..<end].withUnsafeBytes {
                decoder.decode($0, wireLength: wire, frame: frame, into: &segment)
            }
            if status == .tcp { tracker.process(segment, frame: FrameRef(number: frame), time: time) }
            events += tracker.events
            tracker.events.removeAll()
            offset = end
        }
        tracker.finish()
        return events + tracker.events
    }
}
