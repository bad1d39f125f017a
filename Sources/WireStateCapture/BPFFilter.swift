import CPcap

/// A tcpdump-syntax filter compiled by libpcap.
///
/// Saved files run it per frame (`matches`) so rejected frames still count toward frame numbers;
/// live captures install it in the kernel (`install`) so rejected packets never reach user space.
final class BPFProgram {
    private var program = bpf_program()
    private var compiled = false

    init(_ expression: String, for handle: OpaquePointer, source: String) throws(CaptureError) {
        // PCAP_NETMASK_UNKNOWN: only broadcast tests need the netmask, and they then fail to compile.
        guard pcap_compile(handle, &program, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            throw CaptureError(
                kind: .filter, source: source,
                message: "bad filter '\(expression)': \(String(cString: pcap_geterr(handle)))")
        }
        compiled = true
    }

    deinit { if compiled { pcap_freecode(&program) } }

    func matches(_ header: UnsafePointer<pcap_pkthdr>, _ data: UnsafePointer<UInt8>) -> Bool {
        pcap_offline_filter(&program, header, data) != 0
    }

    func install(on handle: OpaquePointer, source: String) throws(CaptureError) {
        guard pcap_setfilter(handle, &program) == 0 else {
            throw CaptureError(
                kind: .filter, source: source,
                message: "cannot install filter: \(String(cString: pcap_geterr(handle)))")
        }
    }
}

/// Checking a filter before any input is read, so a typo is one error, not one per file.
public enum BPFFilter {
    /// libpcap's complaint about `expression` compiled for Ethernet (nil when it compiles). A filter
    /// that only another link type rejects (`ether host` on raw IP) is still refused per file.
    public static func problem(_ expression: String) -> String? {
        guard let dead = pcap_open_dead(DLT_EN10MB, 262_144) else { return nil }
        defer { pcap_close(dead) }
        var program = bpf_program()
        guard pcap_compile(dead, &program, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            return "bad filter '\(expression)': \(String(cString: pcap_geterr(dead)))"
        }
        pcap_freecode(&program)
        return nil
    }
}
