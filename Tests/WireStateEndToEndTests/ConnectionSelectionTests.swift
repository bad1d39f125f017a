import Foundation
import Testing
import WireStateCapture
import WireStateDecoder
import WireStatePipeline
@testable import WireStateReport
import WireStateTracker

/// The text report chooses its rows as connections finish (`TextReportSink`, `ShownRows`) and
/// keeps only those it will show. These hold it to the code it replaced (keep every connection
/// and every anomaly, sort by id, filter, stable-sort by key, cut to the limit), written out
/// again here, on every capture in Captures/ read as one run.
@Suite struct ConnectionSelectionTests {
    /// Every event of the run in order, and the tunnel table: replayed into each sink under test.
    struct Recording: EventSink {
        var events: [TrackerEvent] = []
        var tunnels: [TunnelPath] = []
        mutating func consume(_ event: TrackerEvent) { events.append(event) }
        mutating func tunnelsChanged(_ paths: [TunnelPath]) { tunnels = paths }
    }

    static let recording: Recording = {
        var pipeline = Pipeline(sink: Recording())
        for path in JSONSchemaTests.captures {
            let file = try! PcapFile(path: WireStateBinary.repo.appendingPathComponent(path).path)
            _ = pipeline.run(file)
        }
        pipeline.finish()
        return pipeline.sink
    }()

    /// The recording's timelines, per connection: every line `--timeline` prints, in order.
    static let timelines: [UInt64: [TextReportSink.TimelineEntry]] = {
        var byID: [UInt64: [TextReportSink.TimelineEntry]] = [:]
        for e in recording.events {
            switch e {
            case .transition(let t): byID[t.connection.id, default: []].append(.transition(t))
            case .confirmation(let c): byID[c.connection.id, default: []].append(.confirmation(c))
            case .anomaly(let a): byID[a.connection.id, default: []].append(.anomaly(a))
            default: break
            }
        }
        return byID
    }()

    static func replay(into sink: inout TextReportSink) {
        sink.tunnelsChanged(recording.tunnels)
        for e in recording.events { sink.consume(e) }
    }

    /// The old selection: the summary and its anomalies, matched as `matches` did on them.
    static func referenceMatches(_ s: ConnectionSelection, _ c: ConnectionSummary, _ anomalies: [Anomaly]) -> Bool {
        if !s.connections.isEmpty,
            !s.connections.contains(where: { pick in
                switch pick {
                case .id(let id, let inc): return c.ref.id == id && (inc == nil || inc == c.ref.incarnation)
                case .endpoints(let a, let b):
                    return (c.client.description == a && c.server.description == b) || (c.client.description == b && c.server.description == a)
                }
            })
        {
            return false
        }
        if !s.states.isEmpty,
            !s.states.contains(where: { p in
                p.role == .client
                    ? c.clientState == p.state : p.role == .server ? c.serverState == p.state : (c.clientState == p.state || c.serverState == p.state)
            })
        {
            return false
        }
        if !s.severities.isEmpty, !anomalies.contains(where: { s.severities.contains($0.severity) }) { return false }
        if !s.codes.isEmpty, !anomalies.contains(where: { s.codes.contains($0.code) }) { return false }
        if s.midstream && !c.midstream { return false }
        if s.reset && !c.reset { return false }
        return true
    }

    /// The ids the old code showed, in order, and how many matched before the limit.
    static func reference(_ s: ConnectionSelection) -> (ids: [UInt64], matched: Int) {
        var all: [ConnectionSummary] = []
        var anomalies: [UInt64: [Anomaly]] = [:]
        for e in recording.events {
            if case .finished(let c) = e { all.append(c) }
            if case .anomaly(let a) = e { anomalies[a.connection.id, default: []].append(a) }
        }
        all.sort { $0.ref.id < $1.ref.id }
        var rows = all.filter { referenceMatches(s, $0, anomalies[$0.ref.id] ?? []) }
        let matched = rows.count
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
        return (rows.map(\.ref.id), matched)
    }

    static var selections: [ConnectionSelection] {
        var out: [ConnectionSelection] = []
        for sort in ConnectionSelection.SortKey.allCases {
            for limit in [nil, 0, 1, 3, 50] as [Int?] {
                var s = ConnectionSelection()
                s.sort = sort
                s.limit = limit
                out.append(s)
                s.reset = true
                out.append(s)
                s.reset = false
                s.codes = [.retransmission, .portReuse]
                out.append(s)
                s.codes = []
                s.severities = [.violation]
                out.append(s)
                s.severities = []
                s.states = [ConnectionSelection.StatePick(role: nil, state: .closed)]
                out.append(s)
                s.states = [ConnectionSelection.StatePick(role: .server, state: .timeWait)]
                s.midstream = true
                out.append(s)
            }
        }
        return out
    }

    @Test func everySortLimitAndFilterShowsWhatKeepingEveryConnectionShowed() throws {
        let finished = Self.recording.events.filter { if case .finished = $0 { true } else { false } }.count
        #expect(finished > 40)
        var sawTies = false, sawNarrowing = false
        for s in Self.selections {
            var sink = TextReportSink(selection: s)
            Self.replay(into: &sink)
            let expected = Self.reference(s)
            let label = "\(s.sort) limit \(s.limit.map(String.init) ?? "nil") codes \(s.codes) states \(s.states)"
            #expect(sink.shownRows().map(\.id) == expected.ids, "\(label)")
            #expect(sink.matched == expected.matched, "\(label)")
            #expect(sink.connections == finished)
            #expect(sink.pendingCount == 0, "nothing held for connections once they finished")
            sawNarrowing = sawNarrowing || (expected.matched > 0 && expected.matched < finished)
            if s.sort == .packets, s.limit == nil, s.codes.isEmpty, s.states.isEmpty, !s.reset, s.severities.isEmpty {
                let totals = sink.shownRows().map { $0.packetsFromClient + $0.packetsFromServer }
                sawTies = sawTies || Set(totals).count < totals.count
            }
        }
        #expect(sawTies, "equal keys must occur, to test that they keep the file's order")
        #expect(sawNarrowing, "some criterion must keep some connections and not others")
    }

    /// `--timeline`: the events kept are exactly those of the rows shown, in the order the
    /// tracker reported them; a row displaced from the first `L` takes its events with it.
    @Test func timelinesAreKeptForTheShownRowsOnly() throws {
        let everything = Self.timelines
        var spilled = false
        var reports: [String: String] = [:]
        // linesInMemory 0: every timeline goes to the temporary file; 40: the first few stay in
        // memory and the rest go there (displaced rows in both).
        for (sort, limit, linesInMemory) in ConnectionSelection.SortKey.allCases.flatMap({ sort in
            ([nil, 1, 5] as [Int?]).flatMap { limit in [HeldTimelines.defaultMemoryBound, 40, 0].map { (sort, limit, $0) } }
        }) {
            var s = ConnectionSelection()
            s.sort = sort
            s.limit = limit
            let label = "\(sort) \(String(describing: limit)) \(linesInMemory)"
            var sink = TextReportSink(selection: s, timeline: true, linesInMemory: linesInMemory)
            Self.replay(into: &sink)
            spilled = spilled || sink.details.spills
            let shown = Set(sink.shownRows().map(\.id))
            #expect(Set(sink.details.ids).isSubset(of: shown), "\(label): details of a row not shown")
            for id in shown { #expect(sink.details.entries(of: id) == (everything[id] ?? []), "\(label): connection \(id)") }
            #expect(sink.pendingCount == 0)
            #expect(sink.details.readFailures == 0)
            // The report written from the file is the one written from memory.
            let report = TextReport(sink: sink, inputs: [])
            let text = report.timeline() + report.anomalyList() + report.table()
            let key = "\(sort) \(String(describing: limit))"
            if let inMemory = reports[key] { #expect(text == inMemory, "\(label)") } else { reports[key] = text }

            var anomaliesOnly = TextReportSink(selection: s, anomalies: true, linesInMemory: linesInMemory)
            Self.replay(into: &anomaliesOnly)
            for id in shown {
                let expected = (everything[id] ?? []).compactMap { e -> Anomaly? in if case .anomaly(let a) = e { a } else { nil } }
                #expect(anomaliesOnly.anomalies(of: id) == expected, "\(label)")
                #expect(anomaliesOnly.details.entries(of: id).count == expected.count, "only anomalies kept")
            }
        }
        #expect(spilled, "some timelines must have gone to the temporary file")
        #expect(_isPOD(TextReportSink.TimelineEntry.self), "timeline lines are spilled as their bytes: they must hold no reference")
    }

    /// The heap on its own: rows offered in every order keep the first `L` of a full sort.
    @Test func shownRowsKeepsTheFirstOfAFullSortWhateverTheOrderOffered() throws {
        let template: ConnectionSummary = try #require(
            Self.recording.events.lazy.compactMap { if case .finished(let c) = $0 { c } else { nil } }.first)
        var state: UInt64 = 0x1234_5678
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        for round in 0..<60 {
            var rows: [TextRow] = []
            for i in 0..<(round * 7 % 200 + 1) {
                var c = template
                c.ref.id = UInt64(i + 1)
                c.packetsFromClient = next() % 6  // few values: many ties
                c.bytesFromClient = next() % 1000
                c.lastTime = c.firstTime + Int64(next() % 4)
                c.anomalyCount = UInt32(next() % 3)
                rows.append(TextRow(c))
            }
            // Offered in id order, reversed, and shuffled.
            let orders = [rows, rows.reversed(), rows.sorted { _, _ in next() % 2 == 0 }]
            for sort in ConnectionSelection.SortKey.allCases {
                for limit in [1, 2, 10, 50, 500, 0] {
                    var s = ConnectionSelection()
                    s.sort = sort
                    s.limit = limit
                    let expected = Array(rows.sorted { s.precedes($0, $1) }.prefix(limit == 0 ? .max : limit)).map(\.id)
                    for offered in orders {
                        var shown = ShownRows(order: s)
                        var held = Set<UInt64>()
                        for r in offered {
                            switch shown.offer(r) {
                            case .kept: held.insert(r.id)
                            case .keptDisplacing(let gone):
                                held.insert(r.id)
                                #expect(held.remove(gone.id) != nil, "displaced a row it did not hold")
                            case .dropped: break
                            }
                            #expect(limit == 0 || shown.count <= limit)
                        }
                        #expect(shown.sorted().map(\.id) == expected, "round \(round) \(sort) limit \(limit)")
                        #expect(held == Set(expected))
                        // Sorted in place (the report's way) gives the same order; a row offered
                        // afterwards finds a heap again.
                        var inPlace = shown
                        inPlace.sortForShowing()
                        #expect(inPlace.sorted().map(\.id) == expected, "in place: round \(round) \(sort) limit \(limit)")
                        if let late = offered.first {
                            var again = late
                            again.id = UInt64(rows.count + 1)
                            _ = inPlace.offer(again)
                            _ = shown.offer(again)
                            #expect(inPlace.sorted().map(\.id) == shown.sorted().map(\.id), "offered after sorting")
                        }
                    }
                }
            }
        }
    }

    /// Past the blocks of `BlockStore` (1,024 rows each): the heap and the in-place sort work
    /// across block boundaries, and the rows come out as a full sort orders them.
    @Test func rowsAcrossChunksSortAsAFullSort() throws {
        let template: ConnectionSummary = try #require(
            Self.recording.events.lazy.compactMap { if case .finished(let c) = $0 { c } else { nil } }.first)
        var state: UInt64 = 0x9E37_79B9
        var rows: [TextRow] = []
        for i in 0..<9_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            var c = template
            c.ref.id = UInt64(i + 1)
            c.bytesFromClient = (state >> 33) % 5_000
            rows.append(TextRow(c))
        }
        var chunks = BlockStore<TextRow>()
        for r in rows { chunks.append(r) }
        #expect(chunks.count == rows.count && Array(chunks) == rows)
        for (sort, limit) in [(ConnectionSelection.SortKey.bytes, 0), (.bytes, 5_000), (.start, 0)] {
            var s = ConnectionSelection()
            s.sort = sort
            s.limit = limit
            var shown = ShownRows(order: s)
            for r in rows.reversed() { _ = shown.offer(r) }
            let expected = Array(rows.sorted { s.precedes($0, $1) }.prefix(limit == 0 ? .max : limit)).map(\.id)
            #expect(shown.sorted().map(\.id) == expected, "\(sort) \(limit)")
            shown.sortForShowing()
            #expect(shown.sorted().map(\.id) == expected, "in place: \(sort) \(limit)")
        }
    }

    /// The summary's time in each state, counted as each state is left, is what summing every
    /// connection's `StateClock` times at its end gives (the JSON Lines way), and so is the rest
    /// of the summary.
    @Test func stateTimesCountedAsStatesAreLeftAddUpAsPerConnectionTimes() {
        var sink = TextReportSink(selection: ConnectionSelection())
        Self.replay(into: &sink)
        var clock = StateClock(keepsUIDs: false)
        var reference = RunSummary()
        for e in Self.recording.events {
            clock.consume(e)
            switch e {
            case .anomaly(let a): reference.add(a)
            case .finished(let c): reference.add(c, times: clock.finishTimes(c))
            default: break
            }
        }
        #expect(clock.openCount == 0)
        #expect(sink.summary.stateTime == reference.stateTime)
        #expect(TCPState.allCases.contains { sink.summary.stateTime[.server, $0] > 0 }, "some time must be counted")
        #expect(sink.summary.text() == reference.text())
        #expect(sink.summary.jsonMembers() == reference.jsonMembers())
    }

    /// What the text report keeps per connection it may show: a quarter of a summary.
    @Test func aRowIsSmall() {
        print("MemoryLayout: TextRow stride \(MemoryLayout<TextRow>.stride), TimelineEntry stride \(MemoryLayout<TextReportSink.TimelineEntry>.stride)")
        #expect(MemoryLayout<TextRow>.stride <= 128, "TextRow stride \(MemoryLayout<TextRow>.stride)")
        #expect(MemoryLayout<TextReportSink.TimelineEntry>.stride <= 96)
    }

    @Test func anomalyKindsHoldEveryCodeAndSeverityApart() {
        #expect(AnomalyCode.allCases.count <= 128, "AnomalyKinds has 128 bits of codes")
        #expect(Severity.allCases.count <= 8)
        for code in AnomalyCode.allCases {
            var kinds = AnomalyKinds()
            #expect(!kinds.contains(code))
            kinds.insert(code)
            for other in AnomalyCode.allCases { #expect(kinds.contains(other) == (other == code), "\(code) set, \(other) asked") }
            for severity in Severity.allCases { #expect(kinds.contains(severity) == (severity == code.severity)) }
        }
    }
}
