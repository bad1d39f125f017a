import CDecompress
import Glibc

/// Opening a capture file the way `analyze` needs it: `-` is standard input, a directory or a
/// missing file is refused with a sentence, and a gzip, zstd, xz or bzip2 file — recognised by its
/// magic bytes, never its name — is decompressed on the fly behind a stdio stream that libpcap
/// reads like any file (no temporary file; a pipe works too).
struct CaptureInput {
    /// The stream libpcap is given (it closes it).
    var stream: UnsafeMutablePointer<FILE>
    var compression: ws_compression
    /// The first bytes of the (still compressed) file, to say what it looks like if libpcap refuses it.
    var head: [UInt8]
    /// The file's size in bytes, when it is a regular file (progress estimates).
    var size: Int64?
    /// Whether `stream` is our decompressing (or replaying) cookie stream.
    var wrapped: Bool

    static let headLength = 512

    static func open(_ path: String) throws(CaptureError) -> CaptureInput {
        let raw: UnsafeMutablePointer<FILE>
        var size: Int64?
        var seekable = false
        if path == "-" {
            guard let f = fdopen(dup(0), "rb") else {
                throw CaptureError(kind: .open, source: path, message: "cannot read standard input: \(String(cString: strerror(errno)))")
            }
            raw = f
        } else {
            var st = stat()
            let rc = OSPath.withCString(path) { stat($0, &st) }
            if rc != 0 {
                let e = errno
                throw CaptureError(kind: .open, source: path, message: String(cString: strerror(e)))
            }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                throw CaptureError(
                    kind: .open, source: path,
                    message: "is a directory: give the capture files in it (e.g. \(path)/*.pcap), or check it with `wirestate check`")
            }
            guard let f = OSPath.withCString(path, { fopen($0, "rb") }) else {
                throw CaptureError(kind: .open, source: path, message: String(cString: strerror(errno)))
            }
            raw = f
            if (st.st_mode & S_IFMT) == S_IFREG { size = Int64(st.st_size); seekable = true }
        }
        // The decompressing stream reads the descriptor itself, so the head is read past stdio's
        // buffer: pread on a file (its offset untouched), unbuffered on a pipe.
        var head = [UInt8](repeating: 0, count: headLength)
        let fd = fileno(raw)
        var n = 0
        if seekable {
            n = max(0, head.withUnsafeMutableBytes { pread(fd, $0.baseAddress, headLength, 0) })
        } else {
            setvbuf(raw, nil, _IONBF, 0)
            n = head.withUnsafeMutableBytes { fread($0.baseAddress, 1, headLength, raw) }
        }
        head.removeSubrange(n...)
        let kind = head.withUnsafeBufferPointer { ws_compression_of($0.baseAddress, $0.count) }
        if kind == WS_PLAIN && seekable {
            return CaptureInput(stream: raw, compression: kind, head: head, size: size, wrapped: false)
        }
        // A pipe cannot be rewound: the bytes read to sniff it are replayed by the stream.
        if seekable && lseek(fd, off_t(n), SEEK_SET) < 0 {
            fclose(raw)
            throw CaptureError(kind: .open, source: path, message: String(cString: strerror(errno)))
        }
        guard let s = head.withUnsafeBufferPointer({ ws_open_stream(raw, kind, $0.baseAddress, $0.count) }) else {
            throw CaptureError(kind: .open, source: path, message: "cannot start the \(Self.name(of: kind)) decoder")
        }
        return CaptureInput(stream: s, compression: kind, head: head, size: size, wrapped: true)
    }

    static func name(of kind: ws_compression) -> String {
        switch kind {
        case WS_GZIP: return "gzip"
        case WS_ZSTD: return "zstd"
        case WS_XZ: return "xz"
        case WS_BZIP2: return "bzip2"
        default: return "uncompressed"
        }
    }

    /// What libpcap's refusal should say instead of "unknown file format": what the bytes look like
    /// and how to proceed.
    func refusal(_ libpcapMessage: String) -> String {
        if compression != WS_PLAIN {
            return "\(Self.name(of: compression))-compressed, but what it holds is not a capture libpcap reads "
                + "(\(libpcapMessage)); decompress it and look at what it is"
        }
        return InputKind.describe(head) ?? libpcapMessage
    }
}

/// Names what a file that is not a capture looks like, from its first bytes.
public enum InputKind {
    /// A sentence for a file libpcap refused, or nil when the bytes look like a capture (the
    /// refusal is then libpcap's own, e.g. a pcapng it cannot represent).
    public static func describe(_ head: [UInt8]) -> String? {
        let proceed = "give a pcap or pcapng file (tcpdump -w FILE, or Wireshark's Save As)"
        if head.isEmpty { return "empty file (0 bytes): not a capture; \(proceed)" }
        func starts(_ s: [UInt8]) -> Bool { head.count >= s.count && Array(head.prefix(s.count)) == s }
        let pcapMagics: [[UInt8]] = [
            [0xd4, 0xc3, 0xb2, 0xa1], [0xa1, 0xb2, 0xc3, 0xd4], [0x4d, 0x3c, 0xb2, 0xa1],
            [0xa1, 0xb2, 0x3c, 0x4d], [0x0a, 0x0d, 0x0d, 0x0a]
        ]
        if pcapMagics.contains(where: starts) { return nil }
        if starts([0x50, 0x4b, 0x03, 0x04]) { return "a zip archive, not a capture: unzip it and give the capture inside" }
        if starts([0x7f, 0x45, 0x4c, 0x46]) { return "an executable (ELF), not a capture; \(proceed)" }
        if starts([0x4c, 0x5a, 0x49, 0x50]) || starts([0x04, 0x22, 0x4d, 0x18]) {
            return "lz4/lzip-compressed, which WireState does not read: decompress it first (gzip, zstd, xz and bzip2 are read directly)"
        }
        if head.count > 262, Array(head[257..<262]) == Array("ustar".utf8) {
            return "a tar archive, not a capture: extract it (tar xf) and give the capture inside"
        }
        if isText(head) {
            let text = String(decoding: head, as: UTF8.self)
            let lower = text.lowercased().drop { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" || $0 == "\u{FEFF}" }
            if lower.hasPrefix("<!doctype html") || lower.hasPrefix("<html") || lower.contains("<head") {
                return "HTML (a web page: a download that saved a login or error page?), not a capture; \(proceed)"
            }
            if lower.hasPrefix("{") || lower.hasPrefix("[") {
                return "JSON text (perhaps `wirestate --format jsonl` or `tshark -T json` output), not a capture; \(proceed)"
            }
            return "text (a tcpdump or tshark printout?), not a capture: record with `tcpdump -w FILE`, not `tcpdump > FILE`"
        }
        return "unknown binary data, not a pcap or pcapng capture; \(proceed)"
    }

    /// Printable ASCII or UTF-8 with ordinary whitespace throughout.
    static func isText(_ head: [UInt8]) -> Bool {
        guard String(validating: head, as: UTF8.self) != nil || String(validating: head.dropLast(3), as: UTF8.self) != nil else {
            return false
        }
        return head.allSatisfy { $0 >= 0x20 || $0 == 0x09 || $0 == 0x0a || $0 == 0x0d }
    }
}

extension PcapFile {
    /// Why `path` cannot be read as a capture at all (missing, a directory, not a capture), found
    /// before anything is read so that such a mistake is one line and no report; nil when it opens,
    /// or when it is a pcapng only the pure reader takes (libpcap refuses it at open). Standard
    /// input (`-`) cannot be opened twice and is not checked.
    public static func openProblem(_ path: String) -> CaptureError? {
        guard path != "-" else { return nil }
        do {
            _ = try PcapFile(path: path)
            return nil
        } catch {
            if error.kind == .open, let input = try? CaptureInput.open(path) {
                defer { fclose(input.stream) }
                var magic = [UInt8](repeating: 0, count: 4)
                let n = magic.withUnsafeMutableBytes { fread($0.baseAddress, 1, 4, input.stream) }
                if n == 4 && magic == [0x0a, 0x0d, 0x0d, 0x0a] { return nil }
            }
            return error
        }
    }
}
