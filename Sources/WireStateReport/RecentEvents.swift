/// The last events of `live --top`'s event pane, kept in capture-time order. Events reach the
/// display in the order the tracker emits them, which is not always the order they happened in
/// (a connection finished by a timer, a batch of packets the kernel delivered late), so each is
/// placed by its capture time on arrival; equal times keep their arrival order. Memory is bounded:
/// past `capacity` the earliest half is dropped.
public struct RecentEvents: Sendable {
    public struct Entry: Sendable, Equatable {
        /// Capture time, nanoseconds since the epoch.
        public var time: Int64
        /// The line without its clock (`  conn 1  frame 3  client ...`).
        public var text: String
    }

    public let capacity: Int
    /// Sorted by time; equal times in arrival order.
    public private(set) var entries: [Entry] = []

    public init(capacity: Int = 200) { self.capacity = max(2, capacity) }

    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }

    public mutating func append(time: Int64, _ text: String) {
        // Almost always the latest: the scan from the end stops at once.
        var i = entries.count
        while i > 0 && entries[i - 1].time > time { i -= 1 }
        entries.insert(Entry(time: time, text: text), at: i)
        if entries.count > capacity { entries.removeFirst(entries.count - capacity / 2) }
    }

    /// The `n` latest by capture time, earliest first.
    public func latest(_ n: Int) -> ArraySlice<Entry> { entries.suffix(max(0, n)) }
}

extension Format {
    /// A duration with milliseconds at every size, the one precision of `live --top`:
    /// `0.412s`, `12.345s`, `2m03.500s`, `1h02m03.500s`.
    public static func millisDuration(_ nanos: Int64) -> String {
        let ms = (max(0, nanos) + 500_000) / 1_000_000
        let frac = String(ms % 1000)
        let seconds = ms / 1000
        let fraction = "." + String(repeating: "0", count: 3 - frac.count) + frac + "s"
        guard seconds >= 60 else { return "\(seconds)" + fraction }
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let minutes = seconds / 60
        guard minutes >= 60 else { return "\(minutes)m" + two(seconds % 60) + fraction }
        return "\(minutes / 60)h" + two(minutes % 60) + "m" + two(seconds % 60) + fraction
    }
}
