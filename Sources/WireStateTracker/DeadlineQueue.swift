/// The capture times at which time alone changes a held connection (a TIME_WAIT ending, the
/// linger after close running out, the idle timeout), ordered so that the tracker looks only at
/// the earliest: the cost per packet does not depend on how many connections are held.
///
/// A binary min-heap in one array (its capacity is kept, so steady state allocates nothing).
/// Entries are never removed out of order: a connection whose deadline moved, or that left the
/// table, leaves a stale entry behind, which is recognised and dropped when it comes to the top
/// (`ConnectionTracker` keeps each connection's one live deadline in `Connection.scheduled`).
/// A connection pushes a new entry only when its deadline moves *earlier*, which happens a
/// bounded number of times in its life (entering TIME_WAIT, closing), so stale entries stay few;
/// and when connections leave faster than their deadlines come due, `rebuild` drops them.
struct DeadlineQueue {
    struct Entry {
        var time: Int64
        var key: FlowKey
        var id: UInt64
    }

    private(set) var entries: [Entry] = []

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }

    /// The earliest deadline, if any.
    @inline(__always)
    var earliest: Int64? { entries.first?.time }

    mutating func push(_ e: Entry) {
        entries.append(e)
        var i = entries.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Self.before(entries[i], entries[parent]) else { break }
            entries.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Entry? {
        guard let top = entries.first else { return nil }
        let last = entries.removeLast()
        guard !entries.isEmpty else { return top }
        entries[0] = last
        siftDown(0)
        return top
    }

    mutating func removeAll() { entries.removeAll(keepingCapacity: true) }

    /// Replaces the entries with `live` (the connections' current deadlines) in heap order. The
    /// tracker calls it when stale entries outnumber the live ones, so a port-reuse storm (each
    /// incarnation retired before its linger ran out) cannot grow the queue past the table.
    mutating func rebuild(_ live: [Entry]) {
        entries = live
        var i = entries.count / 2
        while i > 0 {
            i -= 1
            siftDown(i)
        }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < entries.count && Self.before(entries[l], entries[m]) { m = l }
            if r < entries.count && Self.before(entries[r], entries[m]) { m = r }
            guard m != i else { return }
            entries.swapAt(i, m)
            i = m
        }
    }

    /// Earlier time first; equal times by connection id, so expiries at one instant come out in
    /// the order connections were first seen, whatever order they were pushed in.
    @inline(__always)
    static func before(_ a: Entry, _ b: Entry) -> Bool { (a.time, a.id) < (b.time, b.id) }
}
