extension Int64 {
    /// `self − earlier`, saturating instead of trapping. Clamped capture times span 2⁶³ ns, one
    /// more than Int64 holds, so a connection last seen near one end of the range and swept near
    /// the other (a crafted or damaged file; found by the FuzzTracker fuzz target) must still
    /// compare as "long ago".
    @inline(__always)
    func elapsed(since earlier: Int64) -> Int64 {
        let (d, overflow) = subtractingReportingOverflow(earlier)
        return overflow ? (earlier < 0 ? .max : .min) : d
    }
}
