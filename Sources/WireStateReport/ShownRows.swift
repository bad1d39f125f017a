import WireStateTracker

/// The rows the text table will show, chosen as connections finish: with `--limit L`, the `L`
/// that come first in the selection's order (`ConnectionSelection.precedes`), held in a heap
/// whose root is the last of them; without a limit, every row offered.
///
/// Why a heap and not every row: the table shows 50 rows unless asked for more, and keeping
/// the others to sort them at the end was what made `analyze FILE` grow with the file. A row
/// that cannot be among the first `L` now (`L` rows that precede it are held) never can be
/// later, so it is dropped at once; the one it displaces is handed back, so that the caller
/// drops what it kept for it (its timeline). Memory: `L` rows, whatever the file's length.
public struct ShownRows: Sendable {
    public let order: ConnectionSelection
    /// nil: every row.
    public let limit: Int?
    /// A max-heap in show order (the root is shown last) while limited; unordered otherwise;
    /// in show order once `sortForShowing` ran.
    private var rows = BlockStore<TextRow>()
    private var inShowOrder = false

    public init(order: ConnectionSelection) {
        self.order = order
        limit = order.limit.flatMap { $0 > 0 ? $0 : nil }
    }

    public var count: Int { rows.count }

    /// What offering `row` did: kept or not, and the row it displaced (no longer shown).
    public enum Offer: Equatable, Sendable {
        case kept
        case keptDisplacing(TextRow)
        case dropped
    }

    public mutating func offer(_ row: TextRow) -> Offer {
        if inShowOrder { reheap() }
        guard let limit else {
            rows.append(row)
            return .kept
        }
        if rows.count < limit {
            rows.append(row)
            siftUp(rows.count - 1)
            return .kept
        }
        // The root is the last row shown so far: a row after it cannot be shown.
        guard order.precedes(row, rows[0]) else { return .dropped }
        let displaced = rows[0]
        rows[0] = row
        siftDown(0, count: rows.count)
        return .keptDisplacing(displaced)
    }

    /// Whether the connection `id` can no longer be shown, whatever it does before it finishes:
    /// in the file's order (`--sort start`, the default) once `limit` rows of lower ids are held.
    /// (Under other sorts a connection's key still grows while it is open.) Its timeline need
    /// not be kept while it is open.
    public func excludes(id: UInt64) -> Bool {
        guard let limit, order.sort == .start, rows.count == limit else { return false }
        return id > (inShowOrder ? rows[rows.count - 1] : rows[0]).id
    }

    /// The rows in show order (a sorted copy, unless `sortForShowing` sorted them in place).
    public func sorted() -> BlockStore<TextRow> {
        guard !inShowOrder else { return rows }
        var copy = self
        copy.sortForShowing()
        return copy.rows
    }

    /// Sorts the rows in place, so that `sorted()` hands them out without a copy: with
    /// `--limit 0` the rows are every connection's, and a sorted copy doubled them.
    ///
    /// A heap sort, in place: the standard library's sort takes a buffer of half the rows, and
    /// with `--limit 0` the rows are the one thing that grows with the file (`BlockStore`). `precedes` is a total
    /// order (ties go by id), so an unstable sort gives the same order.
    public mutating func sortForShowing() {
        guard !inShowOrder else { return }
        if limit == nil {
            for i in stride(from: rows.count / 2 - 1, through: 0, by: -1) { siftDown(i, count: rows.count) }
        }
        // The root is the last row shown: move it to the end, and heap what is left before it.
        var end = rows.count
        while end > 1 {
            end -= 1
            rows.swapAt(0, end)
            siftDown(0, count: end)
        }
        inShowOrder = true
    }

    /// Back to a heap, should a row be offered after sorting (the array sorted in show order is
    /// the opposite of the heap's).
    private mutating func reheap() {
        inShowOrder = false
        guard limit != nil else { return }
        for i in stride(from: rows.count / 2 - 1, through: 0, by: -1) { siftDown(i, count: rows.count) }
    }

    /// Heap order: a parent is shown after its children (`order.precedes(child, parent)`).
    private func after(_ i: Int, _ j: Int) -> Bool { order.precedes(rows[j], rows[i]) }

    private mutating func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            guard after(i, parent) else { return }
            rows.swapAt(i, parent)
            i = parent
        }
    }

    /// Sifts down within the first `count` rows.
    private mutating func siftDown(_ start: Int, count: Int) {
        var i = start
        while true {
            let left = 2 * i + 1, right = left + 1
            var last = i
            if left < count && after(left, last) { last = left }
            if right < count && after(right, last) { last = right }
            if last == i { return }
            rows.swapAt(i, last)
            i = last
        }
    }
}
