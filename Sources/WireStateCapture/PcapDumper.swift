#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import CPcap

/// A pcap file written with libpcap's dumper, flushed after every packet (or, behind a capture
/// thread, whenever the analysis has caught up with the wire) so the file on disk is a complete
/// capture up to the last packet flushed (a crash or `kill -9` loses at most the current burst).
///
/// The file takes the capture's link type, snapshot length and timestamp precision, so
/// `wirestate analyze FILE` reads back exactly the frames, numbers and times the live run saw.
public final class PcapDumper {
    public let path: String
    public private(set) var packetsWritten: UInt64 = 0
    private var dumper: OpaquePointer?
    /// The errno of the first write that failed (0: none yet).
    private var firstError: Int32 = 0
    /// The frame being written when it failed (this frame, and the buffered ones before it, are
    /// not all in the file).
    private var firstErrorFrame: UInt64 = 0

    init(capture handle: OpaquePointer, path: String) throws(CaptureError) {
        self.path = path
        guard let d = OSPath.withCString(path, { pcap_dump_open(handle, $0) }) else {
            var why = String(cString: pcap_geterr(handle))
            if why.hasPrefix(path + ": ") { why.removeFirst(path.count + 2) }
            throw CaptureError(kind: .write, source: path, message: "cannot create: " + why)
        }
        dumper = d
        // The file header is written on open: push it out now so even an empty capture is readable.
        try flush()
    }

    deinit { try? close() }

    /// Appends one packet and flushes it to the file.
    func write(_ header: UnsafePointer<pcap_pkthdr>, _ data: UnsafePointer<UInt8>) throws(CaptureError) {
        try append(header, data)
        try flush()
    }

    /// Appends one packet to libpcap's buffer; `flush()` pushes it to the file. A live capture with
    /// its own capture thread flushes whenever the analysis has caught up with the wire (and at the
    /// end), so a busy link costs one write per buffer, not one per packet.
    func append(_ header: UnsafePointer<pcap_pkthdr>, _ data: UnsafePointer<UInt8>) throws(CaptureError) {
        guard let d = dumper else { throw CaptureError(kind: .write, source: path, message: "file is closed") }
        pcap_dump(UnsafeMutablePointer<UInt8>(d), header, data)
        packetsWritten += 1
        // stdio wrote its full buffer and failed: keep why (errno is gone by the next flush).
        if firstError == 0, ferror(pcap_dump_file(d)) != 0 {
            firstError = errno != 0 ? errno : EIO
            firstErrorFrame = packetsWritten
        }
    }

    /// Pushes libpcap's buffer to the file. A write that failed while stdio emptied a full buffer
    /// on its own (a full disk) is not reported by `fflush`, which then has nothing left to write:
    /// the stream's error flag is, so both are checked.
    func flush() throws(CaptureError) {
        guard let d = dumper else { return }
        errno = 0
        if pcap_dump_flush(d) != 0 || ferror(pcap_dump_file(d)) != 0 {
            throw Self.failure(
                path, frame: firstError != 0 ? firstErrorFrame : packetsWritten, firstError != 0 ? firstError : errno)
        }
    }

    static func failure(_ path: String, frame: UInt64? = nil, _ err: Int32) -> CaptureError {
        CaptureError(
            kind: .write, source: path, frame: frame,
            message: "write failed" + (err == 0 ? "" : ": " + String(cString: strerror(err))))
    }

    /// Flushes and closes the file. Safe to call twice.
    public func close() throws(CaptureError) {
        guard let d = dumper else { return }
        errno = 0
        let failed = pcap_dump_flush(d) != 0 || ferror(pcap_dump_file(d)) != 0
        let err = firstError != 0 ? firstError : errno
        dumper = nil
        pcap_dump_close(d)
        if failed { throw Self.failure(path, err) }
    }
}
