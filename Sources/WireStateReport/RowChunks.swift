/// The text report's rows, in chunks of 4,096 (512 KiB): growing never copies the rows held.
///
/// Why not an array: with `--limit 0` the rows are every connection's, and an array grows by
/// doubling, holding the old and the new buffer at once while it copies: at its peak three times
/// the rows' size, up to twice of it idle (measured: 466 bytes per finished connection for a
/// 128-byte row). Chunks are filled one after another, each reserved whole, and never move; the
/// array of chunks is small (8 bytes per 4,096 rows).
public struct RowChunks: RandomAccessCollection, Sendable {
    static let shift = 12
    static let chunkSize = 1 << shift
    private var chunks: [[TextRow]] = []
    public private(set) var count = 0

    public init() {}

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(i: Int) -> TextRow {
        get { chunks[i >> Self.shift][i & (Self.chunkSize - 1)] }
        set { chunks[i >> Self.shift][i & (Self.chunkSize - 1)] = newValue }
    }

    /// The first chunk grows as an array does (a report of 50 rows stays small); the later ones
    /// are reserved whole.
    mutating func append(_ row: TextRow) {
        if count == chunks.count << Self.shift {
            var chunk: [TextRow] = []
            if !chunks.isEmpty { chunk.reserveCapacity(Self.chunkSize) }
            chunks.append(chunk)
        }
        chunks[chunks.count - 1].append(row)
        count += 1
    }

    mutating func swapAt(_ i: Int, _ j: Int) {
        guard i != j else { return }
        let t = self[i]
        self[i] = self[j]
        self[j] = t
    }
}
