import Testing
import WireStateReport

/// The event pane of `live --top`: capture-time order and one precision.
@Suite struct RecentEventsTests {
    @Test func eventsArePlacedByCaptureTimeWhateverOrderTheyArrive() {
        var r = RecentEvents(capacity: 10)
        r.append(time: 100, "a")
        r.append(time: 300, "c")
        r.append(time: 200, "b")  // reported late: placed between
        r.append(time: 300, "c2")  // same time: after the first
        r.append(time: 50, "early")
        #expect(r.entries.map(\.text) == ["early", "a", "b", "c", "c2"])
        #expect(r.latest(2).map(\.text) == ["c", "c2"])
        #expect(r.latest(0).isEmpty && r.latest(99).count == 5)
    }

    @Test func memoryStaysBoundedDroppingTheEarliest() {
        var r = RecentEvents(capacity: 10)
        for t in (0..<25).reversed() { r.append(time: Int64(t), "\(t)") }
        #expect(r.count <= 10)
        let times = r.entries.map(\.time)
        #expect(times == times.sorted())
        // Arriving newest first, each later arrival is the earliest event so far: trims drop those,
        // and the latest times stay.
        #expect(r.latest(5).map(\.time) == [20, 21, 22, 23, 24])
    }

    @Test func durationsHaveMillisecondsAtEverySize() {
        #expect(Format.millisDuration(0) == "0.000s")
        #expect(Format.millisDuration(412_300_000) == "0.412s")
        #expect(Format.millisDuration(999_600_000) == "1.000s")
        #expect(Format.millisDuration(12_345_000_000) == "12.345s")
        #expect(Format.millisDuration(123_500_000_000) == "2m03.500s")
        #expect(Format.millisDuration(3_723_500_000_000) == "1h02m03.500s")
        #expect(Format.millisDuration(-5) == "0.000s")
    }
}
