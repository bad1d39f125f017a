import CPcap
import Glibc

extension PcapFile {
    /// Reads a capture from an open stdio stream through libpcap's own reader
    /// (`pcap_fopen_offline`), the same code that reads files by path. The fuzz harness hands in
    /// whole capture files from memory this way (`fmemopen`), so libpcap's pcap and pcapng parsing
    /// is exercised for real, without a file system. The stream is the file's from here on: libpcap
    /// closes it with the handle, and it is closed here when libpcap refuses it. `name` names the
    /// source in messages.
    public convenience init(stream: UnsafeMutablePointer<FILE>, name: String, filter: String? = nil) throws(CaptureError) {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let h = pcap_fopen_offline_with_tstamp_precision(stream, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errbuf) else {
            fclose(stream)
            throw CaptureError(kind: .open, source: name, message: errorText(errbuf))
        }
        try self.init(opened: h, path: name, filter: filter)
    }
}
