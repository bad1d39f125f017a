import WireStateCapture
import WireStateDecoder
import WireStatePipeline
import WireStateTracker

/// A fuzz input read as a little capture with a clock the fuzzer controls:
///
///     byte 0      link type (index into LinkType.allCases)
///     byte 1      tracker configuration (index into `configurations`)
///     records     control byte, 2-byte big-endian length, that many frame bytes
///
/// Control byte: bits 0-2 move the clock (`step`: none, small, across sweeps and idle timeouts,
/// far forward, backwards, to either end of Int64 — what damaged and crafted files carry); bits 3-4
/// set the wire length against the captured one (equal, longer as under a snaplen, zero, the most a
/// pcap header holds); bit 5 starts a new input, so rotated-file joining and the "earlier start"
/// finish run too. Frames go through the real `Pipeline`, so IP fragments meet its reassembler.
public struct FrameScript {
    public let link: LinkType
    public let configuration: ConnectionTracker.Configuration
    let bytes: UnsafeRawBufferPointer
    var offset: Int
    var time: Int64 = 1_700_000_000_000_000_000

    /// Realistic settings and the small ones that make timers fire within a few frames.
    static let configurations: [ConnectionTracker.Configuration] = [
        .init(),
        .init(msl: 1_000_000, closedLinger: 0, idleTimeout: 1_000_000),
        .init(msl: 1_000_000_000, closedLinger: 500_000_000, idleTimeout: 5_000_000_000),
        .init(msl: 60_000_000_000, closedLinger: 10_000_000_000, idleTimeout: 3_600_000_000_000)
    ]

    /// The clock moves of the control byte's low three bits.
    static func step(_ op: UInt8, _ t: Int64) -> Int64 {
        switch op & 7 {
        case 0: return t
        case 1: return t &+ 1_000_000
        case 2: return t &+ 1_500_000_000
        case 3: return t &+ 61_000_000_000
        case 4: return t &+ (1 << 40)
        case 5: return t &- 2_000_000_000
        case 6: return .max
        default: return .min
        }
    }

    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= 2 else { return nil }
        self.bytes = bytes
        link = LinkType.allCases[Int(bytes[0]) % LinkType.allCases.count]
        configuration = Self.configurations[Int(bytes[1]) % Self.configurations.count]
        offset = 2
    }

    /// Whether records remain.
    public var hasMore: Bool { offset + 3 <= bytes.count }

    /// Decodes one record; nil at the end, or (with `startsInput`) when the record begins a new input.
    mutating func record(first: Bool) -> (frame: CapturedFrame, startsInput: Bool)? {
        guard hasMore else { return nil }
        let control = bytes[offset]
        if control & 0x20 != 0, !first {
            return (
                CapturedFrame(
                    number: 0, time: 0, bytes: .init(start: nil, count: 0),
                    wireLength: 0), true
            )
        }
        let length = Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2])
        let start = offset + 3
        let end = min(start + length, bytes.count)
        offset = end
        time = Self.step(control, time)
        let captured = end - start
        let wire: Int
        switch (control >> 3) & 3 {
        case 0: wire = captured
        case 1: wire = captured + 1000
        case 2: wire = 0
        default: wire = Int(UInt32.max)
        }
        let frame = CapturedFrame(
            number: 0, time: time, bytes: UnsafeRawBufferPointer(rebasing: bytes[start..<end]),
            wireLength: wire)
        return (frame, false)
    }

    /// Runs every input of the script through `pipeline` (not finished: the caller finishes it).
    /// Inputs are named from `names` in turn.
    public mutating func run<Sink: EventSink>(into pipeline: inout Pipeline<Sink>, names: [String] = ["input.pcap"]) {
        var number = 0
        while hasMore {
            let source = ScriptSource(script: self, name: names[number % names.count])
            pipeline.run(source)
            self = source.script
            number += 1
        }
    }
}

/// One input of a `FrameScript`, as the pipeline's packet source. Frame bytes point into the fuzz
/// input, valid for the whole callback.
public final class ScriptSource: PacketSource {
    var script: FrameScript
    public let name: String
    public var dataLinkType: Int32 { script.link.rawValue }
    public var dataLinkName: String { script.link.name }
    var count: UInt64 = 0

    init(script: FrameScript, name: String) {
        self.script = script
        self.name = name
    }

    public func next() throws(CaptureError) -> CapturedFrame? {
        guard let (frame, startsInput) = script.record(first: count == 0), !startsInput else { return nil }
        count += 1
        var numbered = frame
        numbered.number = count
        return numbered
    }
}
