import Foundation
import Testing
import WireStateReport
import WireStateTracker

/// Where the text report keeps the timelines of the rows it will show: memory, then an unlinked
/// temporary file, and memory again when no file can be had.
@Suite struct HeldTimelinesTests {
    /// A recorded run's timelines, per connection, in id order.
    static let timelines: [(UInt64, [HeldTimelines.Entry])] = ConnectionSelectionTests.timelines.sorted { $0.key < $1.key }

    static func scratchDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ws-held-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func linesPastTheBoundGoToAFileThatLeavesNothingBehind() throws {
        let dir = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try #require(Self.timelines.count >= 4)
        let firstCount = Self.timelines[0].1.count
        var held = HeldTimelines(memoryBound: firstCount, directory: dir.path)
        for (id, lines) in Self.timelines { held.keep(lines, for: id) }
        #expect(held.spills, "past the bound, lines go to the file")
        #expect(held.count == Self.timelines.count)
        // Unlinked at once: the directory is empty while the file is in use.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
        for (id, lines) in Self.timelines { #expect(held.entries(of: id) == lines, "connection \(id)") }
        // A displaced row's lines are forgotten, in memory or in the file.
        let (first, second) = (Self.timelines[0].0, Self.timelines[1].0)
        held.drop(first)
        held.drop(second)
        #expect(held.entries(of: first).isEmpty && held.entries(of: second).isEmpty)
        #expect(held.entries(of: Self.timelines[2].0) == Self.timelines[2].1)
        #expect(held.readFailures == 0)
    }

    /// An open connection's lines go out in pieces, between other connections' pieces; read
    /// back, they are its timeline whole, in order (each chunk names the one before it).
    @Test func aTimelineWrittenInPiecesIsReadBackWhole() throws {
        let dir = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let long = Array(Self.timelines.filter { $0.1.count >= 3 }.prefix(3))
        try #require(long.count == 3)
        var held = HeldTimelines(memoryBound: 0, directory: dir.path)
        var chains: [UInt64: HeldTimelines.Chain] = [:]
        // Round-robin: the first line of each, then the second, …; the last lines kept at the end.
        let rounds = long.map { $0.1.count }.min()! - 1
        for k in 0..<rounds {
            for (id, lines) in long {
                let chain = held.spill([lines[k]], after: chains[id])
                try #require(chain != nil)
                chains[id] = chain
            }
        }
        for (id, lines) in long {
            #expect(chains[id]?.lines == rounds)
            held.keep(Array(lines[rounds...]), after: chains[id], for: id)
        }
        for (id, lines) in long { #expect(held.entries(of: id) == lines, "connection \(id)") }
        // A connection whose lines all went out while it was open keeps its chain as it is.
        let (id, lines) = long[0]
        let whole = held.spill(lines, after: nil)
        try #require(whole != nil)
        held.keep([], after: whole, for: id + 1_000_000)
        #expect(held.entries(of: id + 1_000_000) == lines)
        #expect(held.readFailures == 0)
    }

    @Test func withoutAWritableDirectoryEverythingStaysInMemory() throws {
        var held = HeldTimelines(memoryBound: 0, directory: "/nonexistent/wirestate")
        for (id, lines) in Self.timelines { held.keep(lines, for: id) }
        #expect(!held.spills && !held.canSpill)
        #expect(held.spill(Self.timelines[0].1, after: nil) == nil, "no file: the caller keeps its lines")
        for (id, lines) in Self.timelines { #expect(held.entries(of: id) == lines) }
        #expect(held.readFailures == 0)
    }
}
