#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import WireStateCapture

/// The little file access `check` needs, on the C library (the package stays Foundation-free).
/// Reads, lists and writes; never prints.
public enum FileSystem {
    public enum Kind: Sendable, Equatable { case missing, file, directory, other }

    /// What is at `path`, following symbolic links.
    public static func kind(_ path: String) -> Kind {
        var st = stat()
        guard OSPath.withCString(path, { stat($0, &st) }) == 0 else { return .missing }
        switch st.st_mode & 0o170000 {
        case 0o040000: return .directory
        case 0o100000: return .file
        default: return .other
        }
    }

    /// Whether `path` itself is a symbolic link (directories behind links are not descended into).
    static func isSymbolicLink(_ path: String) -> Bool {
        var st = stat()
        guard OSPath.withCString(path, { lstat($0, &st) }) == 0 else { return false }
        return st.st_mode & 0o170000 == 0o120000
    }

    static func errorText() -> String { String(cString: strerror(errno)) }

    /// The names in a directory (not `.` and `..`), sorted bytewise so runs are stable.
    public static func list(_ path: String) throws(CheckError) -> [String] {
        guard let dir = OSPath.withCString(path, { opendir($0) }) else { throw CheckError(file: path, message: "cannot list: " + errorText()) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                $0.withMemoryRebound(to: UInt8.self, capacity: Int(NAME_MAX) + 1) { p in
                    OSPath.string(fromBytes: UnsafeBufferPointer(start: p, count: strlen(UnsafeRawPointer(p).assumingMemoryBound(to: CChar.self))))
                }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// The whole file as UTF-8 text.
    public static func read(_ path: String) throws(CheckError) -> String {
        let fd = OSPath.withCString(path) { open($0, O_RDONLY) }
        guard fd >= 0 else { throw CheckError(file: path, message: "cannot open: " + errorText()) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw CheckError(file: path, message: "cannot read: " + errorText())
            }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Replaces the file's content atomically (a temporary file beside it, then rename).
    public static func write(_ path: String, _ text: String) throws(CheckError) {
        let temporary = path + ".wirestate-\(getpid()).tmp"
        let fd = OSPath.withCString(temporary) { open($0, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
        guard fd >= 0 else { throw CheckError(file: path, message: "cannot write: " + errorText()) }
        let bytes = Array(text.utf8)
        var offset = 0
        var failure: String? = nil
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                failure = errorText()
                break
            }
            offset += n
        }
        if close(fd) != 0 && failure == nil { failure = errorText() }
        if failure == nil && OSPath.withCString(temporary, { t in OSPath.withCString(path) { rename(t, $0) } }) != 0 { failure = errorText() }
        if let failure {
            _ = OSPath.withCString(temporary) { unlink($0) }
            throw CheckError(file: path, message: "cannot write: " + failure)
        }
    }
}

/// Facts about the run for reports.
public enum RunInfo {
    /// The host's name, for JUnit's `hostname`.
    public static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }

    /// Now in UTC as `2025-01-31T12:34:56`, JUnit's timestamp form.
    public static func timestamp() -> String {
        var now = time(nil)
        var t = tm()
        gmtime_r(&now, &t)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(t.tm_year + 1900)-\(two(t.tm_mon + 1))-\(two(t.tm_mday))T\(two(t.tm_hour)):\(two(t.tm_min)):\(two(t.tm_sec))"
    }

    /// An environment variable.
    public static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
