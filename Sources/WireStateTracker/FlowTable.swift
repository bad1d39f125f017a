import WireStateDecoder

/// The 4-tuple with the lower endpoint first, so both directions find the same entry, and the
/// number of the tunnel path it came through (`TunnelInterner`; 0 = none), so the same inner
/// tuple in two VXLAN VNIs is two connections.
struct FlowKey: Hashable {
    var a: SocketAddress
    var b: SocketAddress
    var tunnel: UInt32

    @inline(__always)
    init(_ x: SocketAddress, _ y: SocketAddress, tunnel: UInt32 = 0) {
        if (x.address, x.port) < (y.address, y.port) { a = x; b = y } else { a = y; b = x }
        self.tunnel = tunnel
    }

    /// A 64-bit mix of all fields (multiply-xorshift). Not keyed: the table bounds probe lengths by
    /// its load factor, and a capture cannot choose which tuples collide any more cheaply than by
    /// sending packets.
    @inline(__always)
    var mix: UInt64 {
        var x = a.address.low &* 0x9E37_79B9_7F4A_7C15
        x ^= b.address.low &* 0xC2B2_AE3D_27D4_EB4F
        x ^= (a.address.high ^ (b.address.high >> 1)) &* 0x1656_67B1_9E37_79F9
        x ^= UInt64(a.port) << 32 | UInt64(b.port) << 16 | (a.address.isIPv6 ? 1 : 0)
        x ^= UInt64(tunnel) &* 0xD6E8_FEB8_6659_FD93
        x ^= x >> 29
        x = x &* 0xBF58_476D_1CE4_E5B9
        x ^= x >> 32
        return x
    }
}

/// Which eviction list a connection is on: the ones that cost least to lose come first.
enum EvictionClass: Int {
    /// No handshake completed (a lone or unanswered SYN, a half-open attempt) or both endpoints
    /// already closed: a SYN flood fills only this list.
    case attempt = 0
    /// Everything else: connections that carried a handshake or were picked up midstream.
    case live = 1
}

/// The flow table: an open-addressing hash table (linear probing, backward-shift deletion, load
/// at most 1/2) whose connections live densely in one array, so a packet costs one cheap hash,
/// a short probe and an in-place mutation.
///
/// Beside it, two intrusive least-recently-used lists (one per `EvictionClass`, linked through
/// dense indices) say in O(1) which connection has been quiet longest: the idle timeout and the
/// connection cap look only at their heads.
///
/// `Dictionary` was 12% of the instructions per packet (SipHash, ten-field key compares, moves of
/// large values on insert); see `wirestate-bench`.
struct FlowTable {
    /// Dense storage: `keys[i]` belongs to `values[i]` (connections in blocks: `ConnectionStore`).
    private(set) var keys: [FlowKey] = []
    var values = ConnectionStore()
    /// Slot → index into `values`, or -1 for empty. Capacity is a power of two.
    private var slots: [Int32]
    private var mask: Int
    /// LRU links by dense index (-1: none), with each entry's list; and each list's ends.
    struct Link {
        var older: Int32 = -1
        var newer: Int32 = -1
        var list: UInt8
    }
    private var links: [Link] = []
    private var ends = (oldest: (Int32(-1), Int32(-1)), newest: (Int32(-1), Int32(-1)))

    init() {
        slots = [Int32](repeating: -1, count: 64)
        mask = 63
    }

    var count: Int { values.count }

    /// The dense index of `key`, if present.
    @inline(__always)
    func index(of key: FlowKey) -> Int? {
        var slot = Int(truncatingIfNeeded: key.mix) & mask
        while true {
            let i = slots[slot]
            if i < 0 { return nil }
            if keys[Int(i)] == key { return Int(i) }
            slot = (slot + 1) & mask
        }
    }

    /// Adds a key that is not present, as the most recently used of `eviction`.
    mutating func insert(_ key: FlowKey, _ value: Connection, eviction: EvictionClass) {
        if (values.count + 1) * 2 > slots.count { grow() }
        keys.append(key)
        values.append(value)
        links.append(Link(list: UInt8(eviction.rawValue)))
        let index = Int32(values.count - 1)
        link(index, eviction.rawValue)
        place(key, at: index)
    }

    /// Marks the entry at `index` as just used, on list `eviction`.
    @inline(__always)
    mutating func touch(_ index: Int, eviction: EvictionClass) {
        let i = Int32(index), l = eviction.rawValue
        if Int(links[index].list) == l && links[index].newer < 0 { return }  // already the newest of its list
        unlink(i)
        links[index].list = UInt8(l)
        link(i, l)
    }

    /// The dense index of the least recently used entry of `eviction`, if any.
    func leastRecent(_ eviction: EvictionClass) -> Int? {
        let i = oldest(eviction.rawValue)
        return i < 0 ? nil : Int(i)
    }

    /// Removes the entry at dense index `index`; the last entry takes its place (one move, no
    /// copy of the removed connection).
    mutating func remove(at index: Int) {
        // Find its slot: the probe from its key's home reaches it.
        var slot = Int(truncatingIfNeeded: keys[index].mix) & mask
        while Int(slots[slot]) != index { slot = (slot + 1) & mask }
        // Backward-shift deletion keeps every probe run unbroken without tombstones.
        var hole = slot
        var next = (hole + 1) & mask
        while slots[next] >= 0 {
            let home = Int(truncatingIfNeeded: keys[Int(slots[next])].mix) & mask
            // Move the entry at `next` into the hole if its home is not in (hole, next].
            let distanceToNext = (next - home) & mask
            let distanceToHole = (next - hole) & mask
            if distanceToNext >= distanceToHole {
                slots[hole] = slots[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        slots[hole] = -1
        unlink(Int32(index))
        // Keep storage dense: the last entry fills the removed one's place.
        let last = values.count - 1
        if index != last {
            let movedKey = keys[last]
            keys[index] = movedKey
            values.moveLast(to: index)
            var s = Int(truncatingIfNeeded: movedKey.mix) & mask
            while Int(slots[s]) != last { s = (s + 1) & mask }
            slots[s] = Int32(index)
            relink(from: Int32(last), to: Int32(index))
        } else {
            values.removeLast()
        }
        keys.removeLast()
        links.removeLast()
    }

    private mutating func place(_ key: FlowKey, at index: Int32) {
        var slot = Int(truncatingIfNeeded: key.mix) & mask
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = index
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        mask = slots.count - 1
        for i in keys.indices { place(keys[i], at: Int32(i)) }
    }

    // MARK: - LRU links

    @inline(__always) private func oldest(_ l: Int) -> Int32 { l == 0 ? ends.oldest.0 : ends.oldest.1 }
    @inline(__always) private func newest(_ l: Int) -> Int32 { l == 0 ? ends.newest.0 : ends.newest.1 }
    @inline(__always) private mutating func setOldest(_ l: Int, _ i: Int32) { if l == 0 { ends.oldest.0 = i } else { ends.oldest.1 = i } }
    @inline(__always) private mutating func setNewest(_ l: Int, _ i: Int32) { if l == 0 { ends.newest.0 = i } else { ends.newest.1 = i } }

    private mutating func link(_ i: Int32, _ l: Int) {
        let tail = newest(l)
        links[Int(i)].older = tail
        links[Int(i)].newer = -1
        if tail >= 0 { links[Int(tail)].newer = i } else { setOldest(l, i) }
        setNewest(l, i)
    }

    private mutating func unlink(_ i: Int32) {
        let e = links[Int(i)]
        let l = Int(e.list)
        if e.older >= 0 { links[Int(e.older)].newer = e.newer } else { setOldest(l, e.newer) }
        if e.newer >= 0 { links[Int(e.newer)].older = e.older } else { setNewest(l, e.older) }
        links[Int(i)].older = -1
        links[Int(i)].newer = -1
    }

    /// The entry at dense index `from` (still linked) now lives at `to` (already unlinked).
    private mutating func relink(from: Int32, to: Int32) {
        let e = links[Int(from)]
        let l = Int(e.list)
        links[Int(to)] = e
        if e.older >= 0 { links[Int(e.older)].newer = to } else { setOldest(l, to) }
        if e.newer >= 0 { links[Int(e.newer)].older = to } else { setNewest(l, to) }
    }
}
