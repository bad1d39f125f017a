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
    }

    func flush() throws(CaptureError) {
        guard let d = dumper else { return }
        if pcap_dump_flush(d) != 0 {
            throw CaptureError(
                kind: .write, source: path, frame: packetsWritten,
                message: "write failed: " + String(cString: strerror(errno)))
        }
    }

    /// Flushes and closes the file. Safe to call twice.
    public func close() throws(CaptureError) {
        guard let d = dumper else { return }
        let failed = pcap_dump_flush(d) != 0
        let err = errno
        dumper = nil
        pcap_dump_close(d)
        if failed {
            throw CaptureError(kind: .write, source: path, message: "write failed: " + String(cString: strerror(err)))
        }
    }
}
