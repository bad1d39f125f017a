import FuzzSupport
import WireStateDecoder
import WireStateTracker

/// One fuzz input is a pcapng file. The reader must return records or a `PcapngError`, never trap;
/// every record's bytes must lie inside the input; each packet is decoded by its interface's link
/// type (tunnels included) and tracked.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    var reader = PcapngReader()
    var decoder = PacketDecoder(linkType: .ethernet)
    var tracker = ConnectionTracker(
        configuration: .init(
            msl: 1_000_000_000, closedLinger: 500_000_000,
            idleTimeout: 5_000_000_000))
    var segment = TCPSegment.empty
    while true {
        let record: PcapngReader.Record?
        do { record = try reader.next(in: bytes) } catch { break }
        guard let r = record else { break }
        precondition(r.dataOffset >= 0 && r.capturedLength >= 0 && r.dataOffset + r.capturedLength <= size)
        guard let link = LinkType(dlt: Int32(reader.interfaces[r.interface].linkType)) else { continue }
        decoder.linkType = link
        let slice = UnsafeRawBufferPointer(rebasing: bytes[r.dataOffset..<(r.dataOffset + r.capturedLength)])
        if decoder.decode(slice, wireLength: r.wireLength, frame: r.frame, into: &segment) == .tcp {
            tracker.process(segment, frame: FrameRef(number: r.frame), time: r.timestampNanos)
            tracker.events.removeAll(keepingCapacity: true)
        }
    }
    tracker.finish()
    return 0
}

@_cdecl("FuzzPcapng_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}
