import WireStateDecoder
import WireStateTracker

/// Small, shared formatting: times, durations, frames, JSON strings.
public enum Format {
    /// Seconds since the epoch with nine decimals: `1700000000.123456789`.
    public static func time(_ nanos: Int64) -> String {
        let sign = nanos < 0 ? "-" : ""
        let m = nanos.magnitude
        let frac = String(m % 1_000_000_000)
        return "\(sign)\(m / 1_000_000_000)." + String(repeating: "0", count: 9 - frac.count) + frac
    }

    /// A human duration: `0.000412s`, `1.250s`, `2m03s`.
    public static func duration(_ nanos: Int64) -> String {
        let s = Double(nanos) / 1e9
        if s < 1 { return String(format6(s)) + "s" }
        if s < 60 { return String(format3(s)) + "s" }
        let m = Int(s) / 60
        let r = Int(s) % 60
        return "\(m)m" + (r < 10 ? "0" : "") + "\(r)s"
    }

    static func format6(_ v: Double) -> String { fixed(v, 6) }
    static func format3(_ v: Double) -> String { fixed(v, 3) }

    /// Fixed-point without Foundation; negative values too (captures can have backward timestamps).
    /// `places` is kept to 0...18 (10¹⁸ is the largest power of ten in UInt64); with 0 there is
    /// no point (asking for 0 used to trap; found by the FuzzReporters fuzz target). Written by
    /// `JSONLine.fixed`, the one implementation, which JSON records use without the string.
    public static func fixed(_ v: Double, _ places: Int) -> String {
        var line = JSONLine()
        line.fixed(v, places)
        return line.string
    }

    /// Time offset from the start of the run, for timelines: `+0.000123`.
    public static func offset(_ nanos: Int64, from start: Int64) -> String {
        let d = CaptureTime.elapsed(from: start, to: nanos)
        return (d >= 0 ? "+" : "") + fixed(Double(d) / 1e9, 6)
    }

    /// JSON string literal with RFC 8259 escaping.
    public static func json(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }

    static func padLeft(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
    }
}
