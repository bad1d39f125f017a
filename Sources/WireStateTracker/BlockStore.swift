/// The flow table's dense storage of connections (`ConnectionStore`), and the text report's rows:
/// elements in fixed blocks of 1,024 instead of one array.
///
/// Why: an array grows by allocating twice its size and copying everything over, so for a moment
/// it holds the old and the new copy. With connections of a kilobyte that moment was the peak of
/// a whole run's memory: 30,000 connections held were 32 MB, and the growth past them 64 MB; the
/// text report's 128-byte rows with `--limit 0` cost 470 bytes each in an array. Blocks are added
/// and freed one at a time (a connection's about 1 MB, so the allocator maps and unmaps them
/// whole), and an element never moves except by the owner's own dense removal.
///
/// A value type like the array it replaces: copies share the blocks until one of them writes
/// (`isKnownUniquelyReferenced`), then the writer takes a copy of its own.
public struct BlockStore<Element>: RandomAccessCollection, MutableCollection {
    @usableFromInline static var shift: Int { 10 }
    @usableFromInline static var blockSize: Int { 1 << shift }
    @usableFromInline static var mask: Int { blockSize - 1 }

    @usableFromInline final class Blocks {
        // Touched only through the store, which a single thread owns: no dynamic exclusivity
        // checks on the hot path (a class's stored properties otherwise pay one per access).
        @exclusivity(unchecked) @usableFromInline var blocks: [UnsafeMutablePointer<Element>] = []
        @exclusivity(unchecked) @usableFromInline var count = 0

        @usableFromInline init() {}

        @usableFromInline func copy() -> Blocks {
            let c = Blocks()
            for b in 0..<blocks.count {
                let block = UnsafeMutablePointer<Element>.allocate(capacity: BlockStore.blockSize)
                let n = Swift.min(BlockStore.blockSize, count - b << BlockStore.shift)
                if n > 0 { block.initialize(from: blocks[b], count: n) }
                c.blocks.append(block)
            }
            c.count = count
            return c
        }

        deinit {
            for b in 0..<blocks.count {
                let n = Swift.min(BlockStore.blockSize, count - b << BlockStore.shift)
                if n > 0 { blocks[b].deinitialize(count: n) }
                blocks[b].deallocate()
            }
        }
    }

    @usableFromInline var storage = Blocks()

    public init() {}

    /// Blocks allocated now (tests: they follow the count, not its peak).
    var blockCount: Int { storage.blocks.count }

    @inlinable public var startIndex: Int { 0 }
    @inlinable public var endIndex: Int { storage.count }
    @inlinable @inline(__always) public func index(after i: Int) -> Int { i + 1 }
    @inlinable @inline(__always) public func index(before i: Int) -> Int { i - 1 }

    @inlinable public subscript(i: Int) -> Element {
        @inline(__always) get {
            precondition(i >= 0 && i < storage.count, "BlockStore index out of range")
            return storage.blocks[i >> Self.shift][i & Self.mask]
        }
        @inline(__always) set {
            precondition(i >= 0 && i < storage.count, "BlockStore index out of range")
            unique()
            storage.blocks[i >> Self.shift][i & Self.mask] = newValue
        }
        // In place: an element is changed where it lies, never copied out and back.
        @inline(__always) _modify {
            precondition(i >= 0 && i < storage.count, "BlockStore index out of range")
            unique()
            yield &storage.blocks[i >> Self.shift][i & Self.mask]
        }
    }

    @inlinable @inline(__always)
    mutating func unique() {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
    }

    @inlinable public mutating func append(_ c: Element) {
        unique()
        let i = storage.count
        if i >> Self.shift == storage.blocks.count {
            storage.blocks.append(.allocate(capacity: Self.blockSize))
        }
        (storage.blocks[i >> Self.shift] + (i & Self.mask)).initialize(to: c)
        storage.count = i + 1
    }

    /// The last element takes the place of the one at `to`, which is gone.
    mutating func moveLast(to: Int) {
        let last = storage.count - 1
        precondition(to >= 0 && to < last, "BlockStore index out of range")
        unique()
        let source = storage.blocks[last >> Self.shift] + (last & Self.mask)
        let target = storage.blocks[to >> Self.shift] + (to & Self.mask)
        target.deinitialize(count: 1)
        target.moveInitialize(from: source, count: 1)
        storage.count = last
        releaseSpareBlocks()
    }

    /// Removes the last element.
    mutating func removeLast() {
        precondition(storage.count > 0, "BlockStore is empty")
        unique()
        let last = storage.count - 1
        (storage.blocks[last >> Self.shift] + (last & Self.mask)).deinitialize(count: 1)
        storage.count = last
        releaseSpareBlocks()
    }

    /// Keeps at most one empty block beyond the last element, so that a table going up and
    /// down across a block boundary does not allocate each time.
    private mutating func releaseSpareBlocks() {
        while storage.blocks.count > 1, storage.count <= (storage.blocks.count - 2) << Self.shift {
            storage.blocks.removeLast().deallocate()
        }
    }
}

/// The flow table's connections.
typealias ConnectionStore = BlockStore<Connection>

/// Value semantics (a writer takes its own copy of shared blocks), so as sendable as its elements.
extension BlockStore: @unchecked Sendable where Element: Sendable {}
