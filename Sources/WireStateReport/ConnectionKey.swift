import WireStateTracker

/// A connection id as a dictionary key, hashed by one multiplication instead of SipHash.
///
/// Why: the report's per-connection maps (the text report's held lines and state entry times,
/// JSON Lines' state clocks) are looked up once or twice per event, and `Hasher` on a `UInt64`
/// was 5% of the text report's instructions (callgrind). Safe without a keyed hash: ids are the
/// tracker's own numbers, given in order from 1, not values a capture can choose, and the low
/// bits of `id × odd constant` (the bits `Dictionary` masks its buckets with) take every value
/// once over any run of consecutive ids. The dictionary's per-instance seed still goes in.
struct ConnectionKey: Hashable {
    let id: UInt64

    @inline(__always)
    init(_ id: UInt64) { self.id = id }

    @inline(__always)
    static func == (a: ConnectionKey, b: ConnectionKey) -> Bool { a.id == b.id }

    func hash(into hasher: inout Hasher) { hasher.combine(id) }

    @inline(__always)
    func _rawHashValue(seed: Int) -> Int {
        Int(truncatingIfNeeded: (id &+ UInt64(UInt(bitPattern: seed))) &* 0x9E37_79B9_7F4A_7C15)
    }
}
