/// Modulo-2³² sequence comparisons (RFC 9293 §3.4). Never compare sequence numbers with raw `<`.
@usableFromInline
enum Seq {
    /// a < b in sequence space.
    @inlinable @inline(__always)
    static func lt(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) < 0 }
    @inlinable @inline(__always)
    static func le(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) <= 0 }
    @inlinable @inline(__always)
    static func gt(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) > 0 }
    @inlinable @inline(__always)
    static func ge(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) >= 0 }
    /// lo <= x < lo + size, in sequence space.
    @inlinable @inline(__always)
    static func inWindow(_ x: UInt32, _ lo: UInt32, _ size: UInt32) -> Bool { x &- lo < size }
}
