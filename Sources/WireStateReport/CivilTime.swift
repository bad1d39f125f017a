/// UTC calendar times without Foundation: RFC 3339 for JSON (nanoseconds kept, unlike epoch
/// floats that jq reads as doubles) and Zeek's `#open`/`#close` stamps.
extension Format {
    /// `2026-11-21T12:33:43.202706000Z`: nine fraction digits, always UTC. Any `Int64` of
    /// nanoseconds falls in 1677 to 2262, so the year always has four digits.
    public static func rfc3339(_ nanos: Int64) -> String {
        let c = civil(nanos)
        var line = JSONLine()
        line.append(stamp: c)
        line.zeroPadded(c.nanos, 9)
        line.raw("Z")
        return line.string
    }

    /// Zeek's log stamp, `2026-11-21-12-33-43`.
    public static func zeekStamp(_ nanos: Int64) -> String {
        let c = civil(nanos)
        return "\(pad4(c.year))-\(two(c.month))-\(two(c.day))-\(two(c.hour))-\(two(c.minute))-\(two(c.second))"
    }

    struct Civil { var year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64, second: Int64, nanos: Int64 }

    /// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's `civil_from_days`);
    /// floor division keeps times before 1970 right.
    static func civil(_ nanos: Int64) -> Civil {
        // Floor division by remainder: `second * 1e9` overflows for the earliest times (Int64.min
        // nanoseconds is 1677-09-21; FuzzReporters found the trap through a diagnosis's first time).
        let r = nanos % 1_000_000_000
        let frac = r < 0 ? r + 1_000_000_000 : r
        let second = nanos / 1_000_000_000 - (r < 0 ? 1 : 0)
        let days = second >= 0 ? second / 86_400 : -((-(second + 1)) / 86_400) - 1
        let sod = second - days * 86_400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return Civil(year: y, month: m, day: d, hour: sod / 3600, minute: sod % 3600 / 60, second: sod % 60, nanos: frac)
    }

    static func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
    static func pad4(_ v: Int64) -> String {
        let s = String(v.magnitude)
        return (v < 0 ? "-" : "") + String(repeating: "0", count: max(0, 4 - s.count)) + s
    }
}
