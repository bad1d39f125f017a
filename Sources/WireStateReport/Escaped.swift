/// Text taken from input (file names, expectation files, BPF filters, user names) made safe to
/// print on a terminal: control characters and invalid encodings could otherwise move the cursor,
/// change colours or rewrite the screen of whoever reads the message.
public enum Escaped {
    /// `s` with C0/C1 control characters and DEL written as `\x1b`-style escapes (tab kept), the raw
    /// bytes of a non-UTF-8 file name (`OSPath`) as `\xNN`, and backslashes doubled so the escaping is
    /// unambiguous.
    public static func text(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: needsEscape) else { return s }
        var out = ""
        for u in s.unicodeScalars {
            if u == "\\" {
                out += "\\\\"
            } else if u.value >= 0x10_FF00 && u.value <= 0x10_FFFF {
                out += "\\x" + hex(u.value - 0x10_FF00, 2)
            }  // a raw byte (OSPath)
            else if needsEscape(u) {
                out += u.value < 0x100 ? "\\x" + hex(u.value, 2) : "\\u{" + hex(u.value, 4) + "}"
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    static func needsEscape(_ u: Unicode.Scalar) -> Bool {
        (u.value < 0x20 && u != "\t") || (u.value >= 0x7f && u.value < 0xa0) || u == "\u{FFFD}"
            || u.value == 0x2028 || u.value == 0x2029 || (u.value >= 0x10_FF00 && u.value <= 0x10_FFFF)
    }

    static func hex(_ v: UInt32, _ width: Int) -> String {
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
