import FuzzSupport
import WireStateDecoder

/// A raw IPv4 SYN with every option the decoder reads (MSS, SACK-permitted, timestamps, window
/// scale) and a payload: decoded first into the reused segment, so that any field the fuzzed frame
/// fails to overwrite shows up as a difference from a fresh decode.
let primer: [UInt8] = [
    0x45, 0, 0, 64, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0xa0, 0x02, 0xfa, 0xf0, 0, 0, 0, 0,
    2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
    0xde, 0xad, 0xbe, 0xef
]

/// The frame decoder alone, per link type: byte 0 picks the link type, byte 1 how the wire length
/// relates to the captured one, the rest is one frame. The hot path (decoding in place into a
/// segment the pipeline reuses, counting) must agree with a fresh stateless decode of the same
/// bytes; a difference means a stale field would reach the tracker.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let link = LinkType.allCases[Int(data[0]) % LinkType.allCases.count]
    let frame = UnsafeRawBufferPointer(start: data + 2, count: size - 2)
    let wire: Int
    switch data[1] % 4 {
    case 0: wire = frame.count
    case 1: wire = frame.count + Int(data[1])
    case 2: wire = 0
    default: wire = Int(UInt32.max)
    }
    var segment = TCPSegment.empty
    var priming = PacketDecoder(linkType: .raw)
    _ = primer.withUnsafeBytes { priming.decode($0, wireLength: $0.count, frame: 1, into: &segment) }
    var decoder = PacketDecoder(linkType: link)
    let status = decoder.decode(frame, wireLength: wire, frame: 7, into: &segment)
    let fresh = PacketDecoder.decode(frame, wireLength: wire, linkType: link)
    switch (status, fresh) {
    case (.tcp, .tcp(let s)):
        precondition(s == segment, "in-place decode kept a stale field:\n\(segment)\nfresh:\n\(s)")
    case (.tcp, _), (_, .tcp):
        preconditionFailure("in-place decode \(status), fresh decode \(fresh)")
    case (.skipped(.laterFragment), .skipped(.laterFragment)):
        // The reassembler reads exactly these fields of a later fragment.
        var clean = TCPSegment.empty
        var other = PacketDecoder(linkType: link)
        _ = other.decode(frame, wireLength: wire, frame: 7, into: &clean)
        precondition(
            clean.source == segment.source && clean.destination == segment.destination
                && clean.ipIdentification == segment.ipIdentification && clean.ipVersion == segment.ipVersion
                && clean.fragmentOffset == segment.fragmentOffset && clean.fragmentLength == segment.fragmentLength
                && clean.moreFragments == segment.moreFragments,
            "later fragment kept a stale field:\n\(segment)\nfresh:\n\(clean)")
    default:
        precondition(DecodeResult(statusOnly: status) == fresh, "statuses differ: \(status) vs \(fresh)")
    }
    precondition(decoder.counters.frames == 1, "one frame counted \(decoder.counters.frames) times")
    return 0
}

extension DecodeResult {
    /// The result a non-TCP status stands for (those carry no segment).
    init(statusOnly status: DecodeStatus) {
        switch status {
        case .tcp: self = .tcp(.empty)
        case .skipped(let r): self = .skipped(r)
        case .truncated(let r): self = .truncated(r)
        case .malformed(let r): self = .malformed(r)
        }
    }
}

@_cdecl("FuzzDecoder_main")
public func fuzzDecoderMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzDecoder)
}
