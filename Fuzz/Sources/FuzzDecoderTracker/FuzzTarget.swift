import WireStateDecoder
import WireStateTracker

/// One fuzz input is a little capture: a link type byte, then frames of (2-byte length, bytes).
/// Every frame goes through the decoder; every TCP segment through one tracker, with time moving
/// on, so expiry, eviction and reuse paths run too. The invariant is simply: no crash, no trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    guard size > 1 else { return 0 }
    let link = LinkType.allCases[Int(bytes[0]) % LinkType.allCases.count]
    var decoder = PacketDecoder(linkType: link)
    var tracker = ConnectionTracker(configuration: .init(msl: 1_000_000_000, closedLinger: 500_000_000,
                                                         idleTimeout: 5_000_000_000))
    var segment = TCPSegment.empty
    var offset = 1
    var frame: UInt64 = 0
    var time: Int64 = 1_000_000_000
    while offset + 2 <= size {
        let length = Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
        offset += 2
        let end = min(offset + length, size)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<end])
        frame += 1
        time += Int64(length) * 10_000_000
        if decoder.decode(slice, wireLength: length, frame: frame, into: &segment) == .tcp {
            tracker.process(segment, frame: FrameRef(number: frame), time: time)
            tracker.events.removeAll(keepingCapacity: true)
        }
        offset = end
    }
    tracker.finish()
    return 0
}

/// SwiftPM links an executable through `<target>_main`, which would replace libFuzzer's own `main`;
/// this entry point hands control to libFuzzer's driver instead.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

@_cdecl("FuzzDecoderTracker_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, fuzz)
}
