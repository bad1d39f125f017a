#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A whole capture file in memory, for the pure pcapng reader that takes over when libpcap refuses
/// a file. Only that fallback uses it; libpcap streams every other file.
public enum FileBytes {
    /// Files above this are refused rather than read whole (the fallback is for captures a user
    /// brings to a desk, not for multi-gigabyte archives).
    public static let limit = 1 << 31

    public static func read(_ path: String) throws(CaptureError) -> [UInt8] {
        // Decompressed like every capture (a compressed pcapng that libpcap refuses lands here too).
        let f = try CaptureInput.open(path).stream
        defer { fclose(f) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
            if n > 0 { out.append(contentsOf: chunk[0..<n]) }
            if n < chunk.count { break }
            guard out.count <= limit else {
                throw CaptureError(kind: .open, source: path, message: "larger than \(limit >> 20) MiB, too large to read whole")
            }
        }
        if ferror(f) != 0 { throw CaptureError(kind: .read, source: path, message: String(cString: strerror(errno))) }
        return out
    }
}

extension CapturedFrame {
    /// A frame from a reader other than libpcap (the pcapng fallback): the bytes are borrowed the
    /// same way, valid until the reader moves on.
    public init(frame number: UInt64, timestampNanos: Int64, wireLength: Int, bytes: UnsafeRawBufferPointer) {
        self.init(
            number: number, timestampNanos: timestampNanos, capturedLength: bytes.count,
            wireLength: wireLength, bytes: bytes)
    }
}
