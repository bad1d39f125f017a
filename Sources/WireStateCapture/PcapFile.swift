import CDecompress
import CPcap
import Glibc

/// One captured frame, borrowed from libpcap: `bytes` is valid only until the next `next()` call.
public struct CapturedFrame {
    /// 1-based frame number within its source (Wireshark's numbering).
    public var number: UInt64
    /// Nanoseconds since the Unix epoch (microsecond files are scaled up).
    public var timestampNanos: Int64
    public var capturedLength: Int
    public var wireLength: Int
    public var bytes: UnsafeRawBufferPointer
    /// False for a frame the filter rejected, returned only when the file's `deliverRejected` is set.
    public var matched = true
}

/// Why a capture source failed, with where.
public struct CaptureError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case open, filter, read, permission, noSuchDevice, write, other }
    public var kind: Kind
    /// File path or interface name.
    public var source: String
    /// The frame at which reading failed (the first frame that could not be read), if reading had begun.
    public var frame: UInt64?
    public var message: String

    public init(kind: Kind, source: String, frame: UInt64? = nil, message: String) {
        self.kind = kind
        self.source = source
        self.frame = frame
        self.message = message
    }

    public var description: String {
        if let frame { return "\(source): frame \(frame): \(message)" }
        return "\(source): \(message)"
    }
}

/// A saved capture (pcap or pcapng) read through libpcap, with nanosecond timestamps where the file has them.
///
/// libpcap is asked for nanosecond precision; a microsecond file is then scaled by libpcap itself,
/// so timestamps are always nanoseconds.
public final class PcapFile {
    public let path: String
    /// The DLT value libpcap reports for the file.
    public let dataLinkType: Int32
    /// The DLT's name as libpcap knows it (e.g. `EN10MB`), for error messages.
    public let dataLinkName: String
    public let snapshotLength: Int32
    private let handle: OpaquePointer
    /// Per-frame state is exempt from dynamic exclusivity checks: the optimiser cannot prove a
    /// class's stored properties exclusive, and the check (`swift_beginAccess`, a thread-local
    /// access set) cost about 4% of reading and decoding a file. Only `next()` writes it, and a
    /// `PcapFile` is used from one thread at a time.
    @exclusivity(unchecked) private var frameNumber: UInt64 = 0
    /// The compiled filter, run per frame by us (not installed in libpcap) so that frames the
    /// filter rejects still count and frame numbers stay the file's own, as Wireshark shows them.
    @exclusivity(unchecked) private var program: BPFProgram?

    /// Opens `path` (`-`: standard input). Compressed files (gzip, zstd, xz, bzip2, by magic bytes)
    /// are decompressed as they are read; a file that is not a capture is named for what it looks like.
    public convenience init(path: String, filter: String? = nil) throws(CaptureError) {
        let input = try CaptureInput.open(path)
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let h = pcap_fopen_offline_with_tstamp_precision(input.stream, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errbuf) else {
            // libpcap's message often begins with the path already: name it once.
            var message = errorText(errbuf)
            if message.hasPrefix(path + ": ") { message.removeFirst(path.count + 2) }
            let decoderError = input.wrapped ? String(cString: ws_stream_error(input.stream)) : ""
            fclose(input.stream)
            throw CaptureError(kind: .open, source: path, message: decoderError.isEmpty ? input.refusal(message) : decoderError)
        }
        try self.init(opened: h, path: path, filter: filter)
        if input.wrapped { decompressing = input.stream }
        fileSize = input.size
        compression = CaptureInput.name(of: input.compression)
    }

    /// Takes an open libpcap handle (closed by deinit, also when the filter fails); `path` names it.
    init(opened h: OpaquePointer, path: String, filter: String?) throws(CaptureError) {
        self.path = path
        handle = h
        dataLinkType = pcap_datalink(h)
        dataLinkName = linkTypeName(dataLinkType)
        snapshotLength = pcap_snapshot(h)
        // Every stored property is set by now, so a throw below runs deinit, which closes the handle.
        if let filter {
            program = try BPFProgram(filter, for: h, source: path)
        }
    }

    /// Our decompressing stream, when the file was compressed or a pipe: its decoder's error
    /// explains a read failure better than libpcap's "truncated dump file".
    private var decompressing: UnsafeMutablePointer<FILE>?
    /// The file's size in bytes (a regular file), for progress.
    public private(set) var fileSize: Int64?
    /// "gzip", "zstd", "xz", "bzip2" or "uncompressed".
    public private(set) var compression = "uncompressed"

    /// Bytes of the file read so far (compressed bytes for a compressed file), for progress.
    public var bytesRead: Int64 {
        if let decompressing { return ws_stream_position(decompressing) }
        guard let f = pcap_file(handle) else { return 0 }
        return Int64(ftello(f))
    }

    /// The decoder's error, if the compressed stream was damaged or cut short.
    private var decoderError: String? {
        guard let decompressing else { return nil }
        let e = String(cString: ws_stream_error(decompressing))
        return e.isEmpty ? nil : e
    }

    deinit {
        program = nil
        pcap_close(handle)
    }

    /// Reads the next frame that passes the filter. Returns nil at the end of the file; throws on
    /// damage, naming the first frame that could not be read.
    public func next() throws(CaptureError) -> CapturedFrame? {
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        while true {
            let rc = pcap_next_ex(handle, &header, &data)
            switch rc {
            case 1:
                frameNumber += 1
                var matched = true
                if let program, !program.matches(header!, data!) {
                    guard deliverRejected else { continue }
                    matched = false
                }
                let h = header!.pointee
                let ts = nanoseconds(seconds: Int64(h.ts.tv_sec), fraction: Int64(h.ts.tv_usec))
                return CapturedFrame(
                    number: frameNumber, timestampNanos: ts, capturedLength: Int(h.caplen), wireLength: Int(h.len),
                    bytes: UnsafeRawBufferPointer(start: data, count: Int(h.caplen)), matched: matched)
            case PCAP_ERROR_BREAK:  // -2: end of file
                // A compressed file cut short at a packet boundary ends cleanly for libpcap.
                if let decoderError { throw CaptureError(kind: .read, source: path, frame: frameNumber + 1, message: decoderError) }
                return nil
            default:
                throw CaptureError(
                    kind: .read, source: path, frame: frameNumber + 1,
                    message: decoderError ?? String(cString: pcap_geterr(handle)))
            }
        }
    }

    /// Return the frames the filter rejects too, marked `matched: false` (the pipeline's shadow
    /// tracker numbers connections over every frame).
    @exclusivity(unchecked) public var deliverRejected = false

    /// Frames returned so far.
    public var framesRead: UInt64 { frameNumber }
}

/// The NUL-terminated text libpcap wrote into an error buffer.
/// Its bytes are kept as `OSPath` keeps them, since it usually begins with the file's name.
func errorText(_ buffer: [CChar]) -> String {
    OSPath.string(fromBytes: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) })
}

/// libpcap's name for a DLT (`EN10MB`), or `DLT n` when it has none.
func linkTypeName(_ dlt: Int32) -> String {
    guard let n = pcap_datalink_val_to_name(dlt) else { return "DLT \(dlt)" }
    return String(cString: n)
}

/// seconds × 10⁹ + fraction, saturating: a pcapng interface can carry an offset or resolution that
/// puts a timestamp beyond what 64-bit nanoseconds hold, and that must not trap.
@inline(__always)
func nanoseconds(seconds: Int64, fraction: Int64) -> Int64 {
    let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
    if overflow { return seconds < 0 ? .min : .max }
    let (sum, overflow2) = whole.addingReportingOverflow(fraction)
    return overflow2 ? (whole < 0 ? .min : .max) : sum
}
