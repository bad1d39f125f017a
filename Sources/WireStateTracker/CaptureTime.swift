/// Arithmetic on capture times (signed nanoseconds since 1970) that cannot trap.
///
/// A damaged or crafted file can carry any timestamp: pcapng's `if_tsoffset` alone moves one
/// interface by ±2⁶³ seconds. The tracker clamps every time it is given to `range` (±2⁶² ns,
/// ±146 years around 1970, far beyond any real capture), so a sum of a time and a configured
/// duration (each option is at most `maxDuration`) always fits. A *difference* of two clamped times
/// can still reach 2⁶³, one past `Int64.max`, so every difference goes through `elapsed`, which
/// saturates. Reporters use the same helpers, so no output path can trap either.
public enum CaptureTime {
    /// The times the tracker works with: ±2⁶² ns.
    public static let range: ClosedRange<Int64> = -(1 << 62)...(1 << 62)
    /// The longest duration an option may set (10⁷ s, about 116 days), so `time + 2·duration`
    /// stays inside `Int64` for every clamped time.
    public static let maxDuration: Int64 = 10_000_000 * 1_000_000_000

    @inline(__always)
    public static func clamp(_ t: Int64) -> Int64 { min(max(t, range.lowerBound), range.upperBound) }

    /// `to - from`, saturating at the ends of `Int64`.
    @inline(__always)
    public static func elapsed(from: Int64, to: Int64) -> Int64 {
        let (d, overflow) = to.subtractingReportingOverflow(from)
        return overflow ? (to > from ? .max : .min) : d
    }

    /// `t + d`, saturating at the ends of `Int64`.
    @inline(__always)
    public static func adding(_ d: Int64, to t: Int64) -> Int64 {
        let (s, overflow) = t.addingReportingOverflow(d)
        return overflow ? (d > 0 ? .max : .min) : s
    }

    /// Seconds given as a `Double` (an option), as nanoseconds; nil when not finite, negative or
    /// longer than `maxDuration`.
    public static func nanoseconds(seconds: Double) -> Int64? {
        guard seconds.isFinite, seconds >= 0, seconds <= Double(maxDuration / 1_000_000_000) else { return nil }
        return Int64((seconds * 1e9).rounded())
    }
}
