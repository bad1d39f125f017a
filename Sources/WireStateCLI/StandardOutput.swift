#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import ArgumentParser
import WireStateReport

/// A file descriptor with a user-space buffer: reporters write many small strings, the kernel sees
/// 64 KiB writes (or one per event when flushing per event for live pipes).
struct FDOutput: TextSink {
    let fd: Int32
    private var buffer: [UInt8] = []
    /// A write failed (the pager quit, the disk is full): what follows is not written either.
    private(set) var failed = false
    /// The first write error on standard output (a full disk, a vanished file), reported by the
    /// command at the end: output that could not be written must not pass for success.
    nonisolated(unsafe) static var writeError: Int32 = 0

    init(fd: Int32) {
        self.fd = fd
        buffer.reserveCapacity(1 << 16)
    }

    mutating func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func write(utf8: [UInt8]) {
        buffer.append(contentsOf: utf8)
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func write(bytes: UnsafeRawBufferPointer) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        var offset = 0
        var failedNow = false
        buffer.withUnsafeBytes { raw in
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 {
                    if n < 0 && errno == EINTR { continue }
                    if fd == 1 && Self.writeError == 0 { Self.writeError = n < 0 ? errno : EIO }
                    failedNow = true
                    return
                }
                offset += n
            }
        }
        if failedNow { failed = true }
        buffer.removeAll(keepingCapacity: true)
    }
}

func StandardOutput() -> FDOutput { FDOutput(fd: 1) }

/// Throws exit status 2 with a message if standard output could not be written.
func checkStandardOutput() throws {
    let e = FDOutput.writeError
    guard e != 0 else { return }
    Diagnostics.error("cannot write the output: \(String(cString: strerror(e)))")
    throw ExitCode(2)
}

/// Messages for people: errors and notes on standard error, unbuffered. Messages quote input
/// (paths, filters, expectation files), so each line is escaped for the terminal.
enum Diagnostics {
    static func error(_ message: String) { emit("wirestate: error: \(escaped(message))\n") }
    static func note(_ message: String) { emit("wirestate: \(escaped(message))\n") }
    static func escaped(_ message: String) -> String {
        message.split(separator: "\n", omittingEmptySubsequences: false).map { Escaped.text(String($0)) }
            .joined(separator: "\n")
    }
    private static func emit(_ s: String) {
        var e = FDOutput(fd: 2)
        e.write(s)
        e.flush()
    }
}
