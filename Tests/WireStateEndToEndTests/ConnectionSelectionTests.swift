import Foundation
import Testing
import WireStateCapture
import WireStatePipeline
@testable import WireStateReport
import WireStateTracker

/// `ConnectionSelection.apply` picks rows by position instead of copying every matching summary,
/// and `matchCount` counts without copying; the collector sorts its connections in place. These
/// hold them to the copying code they replaced, on every capture in Captures/ read as one run.
@Suite struct ConnectionSelectionTests {
    static func collector() throws -> AnalysisCollector {
        var pipeline = Pipeline(sink: AnalysisCollector(keepTimeline: false))
        for path in JSONSchemaTests.captures {
            let file = try PcapFile(path: WireStateBinary.repo.appendingPathComponent(path).path)
            if let error = pipeline.run(file) { throw error }
        }
        pipeline.finish()
        return pipeline.sink
    }

    /// The selection as it was written before: filter (copies), stable sort by key, prefix.
    static func reference(_ s: ConnectionSelection, _ all: [ConnectionSummary], _ anomalies: [UInt64: [Anomaly]]) -> [ConnectionSummary] {
        var rows = all.filter { s.matches($0, anomalies: anomalies[$0.ref.id] ?? []) }
        func key(_ c: ConnectionSummary) -> UInt64 {
            switch s.sort {
            case .start: return 0
            case .duration: return UInt64(max(0, c.durationNanos))
            case .packets: return c.packetsFromClient &+ c.packetsFromServer
            case .bytes: return c.bytesFromClient &+ c.bytesFromServer
            case .anomalies: return UInt64(c.anomalyCount)
            }
        }
        if s.sort != .start {
            rows = rows.enumerated().sorted { a, b in
                let ka = key(a.element), kb = key(b.element)
                return ka != kb ? ka > kb : a.offset < b.offset
            }.map(\.element)
        }
        if let limit = s.limit, limit > 0, rows.count > limit { rows = Array(rows.prefix(limit)) }
        return rows
    }

    @Test func sortingInPlaceGivesTheSortedCopyAndSharesIt() throws {
        var c = try Self.collector()
        let copy = c.connections.sorted { $0.ref.id < $1.ref.id }
        #expect(c.connections.count > 40)
        #expect(c.connections.map(\.ref) != copy.map(\.ref), "the captures finish out of id order, so sorting has work to do")
        c.sortByID()
        #expect(c.connections == copy)
        #expect(c.sortedConnections == copy)
    }

    @Test func everySortLimitAndFilterPicksWhatTheCopyingCodePicked() throws {
        var c = try Self.collector()
        c.sortByID()
        let all = c.sortedConnections
        var selections: [ConnectionSelection] = []
        for sort in ConnectionSelection.SortKey.allCases {
            for limit in [nil, 0, 1, 3, 50] as [Int?] {
                var s = ConnectionSelection()
                s.sort = sort
                s.limit = limit
                selections.append(s)
                s.reset = true
                selections.append(s)
                s.reset = false
                s.codes = [.retransmission, .portReuse]
                selections.append(s)
                s.codes = []
                s.states = [ConnectionSelection.StatePick(role: nil, state: .closed)]
                selections.append(s)
            }
        }
        var sawTies = false
        for s in selections {
            let expected = Self.reference(s, all, c.anomalies)
            #expect(s.apply(all, anomalies: c.anomalies) == expected, "\(s.sort) limit \(s.limit.map(String.init) ?? "nil")")
            var unlimited = s
            unlimited.limit = nil
            #expect(s.matchCount(all, anomalies: c.anomalies) == Self.reference(unlimited, all, c.anomalies).count)
            if s.sort == .packets, s.limit == nil {
                let totals = expected.map { $0.packetsFromClient + $0.packetsFromServer }
                sawTies = sawTies || Set(totals).count < totals.count
            }
        }
        #expect(sawTies, "equal keys must occur, to test that they keep the file's order")
    }
}
