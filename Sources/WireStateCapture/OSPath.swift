/// File names as the operating system has them: bytes, not necessarily UTF-8.
///
/// Swift decodes `argv` and directory entries as UTF-8 and replaces what is not valid with U+FFFD,
/// which loses the name: tcpdump opens `capture-\xff.pcap`, and so must we. Invalid bytes are
/// therefore carried inside ordinary `String`s as private-use scalars U+10FF00 + byte (the way
/// Python's "surrogateescape" carries them), converted back to the same bytes at every system
/// call, and printed as `\xNN` by `display`. Names that are valid UTF-8 are untouched.
public enum OSPath {
    static let base: UInt32 = 0x10_FF00

    /// A name from the OS: valid UTF-8 as it is; each byte that is not, as U+10FF00 + byte.
    public static func string(fromBytes bytes: some Collection<UInt8>) -> String {
        if let s = String(validating: bytes, as: UTF8.self) { return s }
        let b = Array(bytes)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < b.count {
            // The shortest prefix at i that is one valid scalar (at most 4 bytes), else one raw byte.
            var length = 0
            for n in 1...4 where i + n <= b.count {
                if let s = String(validating: b[i..<(i + n)], as: UTF8.self), s.unicodeScalars.count == 1 {
                    out.append(s.unicodeScalars.first!)
                    length = n
                    break
                }
            }
            if length == 0 {
                out.append(Unicode.Scalar(base + UInt32(b[i]))!)
                length = 1
            }
            i += length
        }
        return String(out)
    }

    /// The bytes to hand the OS for a name made by `string(fromBytes:)` (or any other string).
    public static func bytes(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars {
            if u.value >= base && u.value <= base + 0xFF { out.append(UInt8(u.value - base)) } else { out.append(contentsOf: String(u).utf8) }
        }
        return out
    }

    /// Runs `body` with the name as a NUL-terminated C string of its OS bytes.
    public static func withCString<R, E: Error>(_ s: String, _ body: (UnsafePointer<CChar>) throws(E) -> R) throws(E) -> R {
        var b = bytes(s)
        b.append(0)
        return try b.withUnsafeBufferPointer { (p) throws(E) -> R in
            try p.withMemoryRebound(to: CChar.self) { (c) throws(E) -> R in try body(c.baseAddress!) }
        }
    }

    /// The process's arguments with their bytes kept (see the type's note).
    public static func arguments(
        argc: Int32 = CommandLine.argc,
        argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = CommandLine.unsafeArgv
    ) -> [String] {
        (0..<Int(argc)).map { i in
            guard let p = argv[i] else { return "" }
            let n = strlenOf(p)
            return string(fromBytes: UnsafeRawBufferPointer(start: p, count: n))
        }
    }

    static func strlenOf(_ p: UnsafePointer<CChar>) -> Int {
        var n = 0
        while p[n] != 0 { n += 1 }
        return n
    }
}
