import Glibc

/// A text file read one line at a time (`wirestate merge` reads shard outputs twice): any file
/// name the OS accepts, decompressed on the fly like a capture (gzip, zstd, xz, bzip2 by magic
/// bytes), `-` for standard input. Lines are given without their newline.
public final class TextLines {
    public let name: String
    private let stream: UnsafeMutablePointer<FILE>
    private var buffer: UnsafeMutablePointer<CChar>?
    private var capacity = 0

    public init(_ path: String) throws(CaptureError) {
        name = path
        stream = try CaptureInput.open(path).stream
    }

    deinit {
        free(buffer)
        fclose(stream)
    }

    /// The next line, or nil at the end of the file.
    public func next() throws(CaptureError) -> [UInt8]? {
        let n = getline(&buffer, &capacity, stream)
        guard n >= 0, let buffer else {
            if ferror(stream) != 0 { throw CaptureError(kind: .read, source: name, message: String(cString: strerror(errno))) }
            return nil
        }
        var count = n
        if count > 0, buffer[count - 1] == 0x0A { count -= 1 }
        return buffer.withMemoryRebound(to: UInt8.self, capacity: count) { Array(UnsafeBufferPointer(start: $0, count: count)) }
    }
}
