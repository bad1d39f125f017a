/// The flow table's dense storage of connections, in fixed blocks of 1,024 instead of one array.
///
/// Why: an array grows by allocating twice its size and copying everything over, so for a moment
/// it holds the old and the new copy. With connections of a kilobyte that moment was the peak of
/// a whole run's memory: 30,000 connections held were 32 MB, and the growth past them 64 MB.
/// Blocks are added and freed one at a time (about 1 MB each, so the allocator maps and unmaps
/// them whole), and a connection never moves except by the table's own dense removal.
///
/// A value type like the array it replaces: copies share the blocks until one of them writes
/// (`isKnownUniquelyReferenced`), then the writer takes a copy of its own.
struct ConnectionStore: RandomAccessCollection, MutableCollection {
    static let shift = 10
    static let blockSize = 1 << shift
    static let mask = blockSize - 1

    final class Blocks {
        // Touched only through the store, which a single thread owns: no dynamic exclusivity
        // checks on the hot path (a class's stored properties otherwise pay one per access).
        @exclusivity(unchecked) var blocks: [UnsafeMutablePointer<Connection>] = []
        @exclusivity(unchecked) var count = 0

        init() {}

        func copy() -> Blocks {
            let c = Blocks()
            for b in 0..<blocks.count {
                let block = UnsafeMutablePointer<Connection>.allocate(capacity: ConnectionStore.blockSize)
                let n = Swift.min(ConnectionStore.blockSize, count - b << ConnectionStore.shift)
                if n > 0 { block.initialize(from: blocks[b], count: n) }
                c.blocks.append(block)
            }
            c.count = count
            return c
        }

        deinit {
            for b in 0..<blocks.count {
                let n = Swift.min(ConnectionStore.blockSize, count - b << ConnectionStore.shift)
                if n > 0 { blocks[b].deinitialize(count: n) }
                blocks[b].deallocate()
            }
        }
    }

    private var storage = Blocks()

    init() {}

    /// Blocks allocated now (tests: they follow the count, not its peak).
    var blockCount: Int { storage.blocks.count }

    var startIndex: Int { 0 }
    var endIndex: Int { storage.count }
    @inline(__always) func index(after i: Int) -> Int { i + 1 }
    @inline(__always) func index(before i: Int) -> Int { i - 1 }

    subscript(i: Int) -> Connection {
        @inline(__always) get {
            precondition(i >= 0 && i < storage.count, "ConnectionStore index out of range")
            return storage.blocks[i >> Self.shift][i & Self.mask]
        }
        @inline(__always) set {
            precondition(i >= 0 && i < storage.count, "ConnectionStore index out of range")
            unique()
            storage.blocks[i >> Self.shift][i & Self.mask] = newValue
        }
        // In place: a connection is changed where it lies, never copied out and back.
        @inline(__always) _modify {
            precondition(i >= 0 && i < storage.count, "ConnectionStore index out of range")
            unique()
            yield &storage.blocks[i >> Self.shift][i & Self.mask]
        }
    }

    @inline(__always)
    private mutating func unique() {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
    }

    mutating func append(_ c: Connection) {
        unique()
        let i = storage.count
        if i >> Self.shift == storage.blocks.count {
            storage.blocks.append(.allocate(capacity: Self.blockSize))
        }
        (storage.blocks[i >> Self.shift] + (i & Self.mask)).initialize(to: c)
        storage.count = i + 1
    }

    /// The connection at `from` (the last) takes the place of the one at `to`, which is gone.
    mutating func moveLast(to: Int) {
        let last = storage.count - 1
        precondition(to >= 0 && to < last, "ConnectionStore index out of range")
        unique()
        let source = storage.blocks[last >> Self.shift] + (last & Self.mask)
        let target = storage.blocks[to >> Self.shift] + (to & Self.mask)
        target.deinitialize(count: 1)
        target.moveInitialize(from: source, count: 1)
        storage.count = last
        releaseSpareBlocks()
    }

    /// Removes the last connection.
    mutating func removeLast() {
        precondition(storage.count > 0, "ConnectionStore is empty")
        unique()
        let last = storage.count - 1
        (storage.blocks[last >> Self.shift] + (last & Self.mask)).deinitialize(count: 1)
        storage.count = last
        releaseSpareBlocks()
    }

    /// Keeps at most one empty block beyond the last connection, so that a table going up and
    /// down across a block boundary does not allocate each time.
    private mutating func releaseSpareBlocks() {
        while storage.blocks.count > 1, storage.count <= (storage.blocks.count - 2) << Self.shift {
            storage.blocks.removeLast().deallocate()
        }
    }
}
