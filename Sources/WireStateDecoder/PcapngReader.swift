/// A small pcapng block reader (draft-ietf-opsawg-pcapng) for the files libpcap refuses: libpcap
/// 1.10 represents a file with one link type and one snapshot length, so a Wireshark capture on
/// several interfaces (Ethernet + cooked + raw, each with its own snaplen) cannot be opened there.
///
/// Pure: bytes in, records out; no I/O. It walks blocks by their length fields, checks every one
/// before reading, and reports damage as a `PcapngError` naming the packet it stopped at:
/// - SHB: byte order from its magic; each section restarts interface numbering;
/// - IDB: per interface its LINKTYPE_, snaplen, `if_tsresol` (10^-n or 2^-n s) and `if_tsoffset`;
/// - EPB, SPB (interface 0, no timestamp) and the obsolete OPB carry packets;
/// - everything else (NRB, ISB, DSB, journal, custom) is skipped by its length.
/// Frame numbers count packet blocks from 1 across the file, as Wireshark numbers them.
public struct PcapngReader: Sendable {
    public struct Interface: Sendable, Equatable {
        public var linkType: UInt16
        /// 0 means no limit.
        public var snapLength: UInt32
        /// Timestamp units: `10^-exponent` s when decimal, else `2^-exponent` s.
        public var resolutionExponent: UInt8
        public var resolutionIsBinary: Bool
        public var offsetSeconds: Int64
    }

    /// One packet: where its bytes are in the buffer, and on which interface.
    public struct Record: Sendable, Equatable {
        public var frame: UInt64
        public var interface: Int
        public var timestampNanos: Int64
        public var dataOffset: Int
        public var capturedLength: Int
        public var wireLength: Int
    }

    public private(set) var interfaces: [Interface] = []
    /// Interfaces of sections before the current one (their packets are done), for reports.
    public private(set) var allInterfaces: [Interface] = []
    private var offset = 0
    private var bigEndian = false
    private var sawSection = false
    public private(set) var frame: UInt64 = 0

    public init() {}

    /// Whether `bytes` start like a pcapng file (an SHB).
    public static func isPcapng(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 12 && bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self) == 0x0A0D_0D0A
    }

    private func u16(_ b: UnsafeRawBufferPointer, _ o: Int) -> UInt16 {
        let v = b.loadUnaligned(fromByteOffset: o, as: UInt16.self)
        return bigEndian ? UInt16(bigEndian: v) : UInt16(littleEndian: v)
    }

    private func u32(_ b: UnsafeRawBufferPointer, _ o: Int) -> UInt32 {
        let v = b.loadUnaligned(fromByteOffset: o, as: UInt32.self)
        return bigEndian ? UInt32(bigEndian: v) : UInt32(littleEndian: v)
    }

    private func fail(_ message: String) -> PcapngError {
        PcapngError(frame: frame + 1, offset: offset, message: message)
    }

    /// The next packet, nil at the end of the file; throws on damage.
    public mutating func next(in b: UnsafeRawBufferPointer) throws(PcapngError) -> Record? {
        while true {
            if offset == b.count { return nil }
            guard b.count - offset >= 12 else { throw fail("truncated block header at byte \(offset)") }
            let rawType = b.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
            if rawType == 0x0A0D_0D0A {
                // The byte-order magic decides how this block's own length is read.
                guard b.count - offset >= 28 else { throw fail("truncated section header block") }
                switch b.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self) {
                case UInt32(0x1A2B_3C4D).littleEndian: bigEndian = false
                case UInt32(0x1A2B_3C4D).bigEndian: bigEndian = true
                default: throw fail("section header with an unknown byte-order magic")
                }
                guard u16(b, offset + 12) == 1 else { throw fail("pcapng major version \(u16(b, offset + 12)) (only 1 is defined)") }
                allInterfaces += interfaces
                interfaces = []
                sawSection = true
            } else if !sawSection {
                throw fail("not a pcapng file: no section header block first")
            }
            let type = u32(b, offset)
            let length = Int(u32(b, offset + 4))
            guard length >= 12, length % 4 == 0 else { throw fail("block length \(length) is not a multiple of 4 of at least 12") }
            guard length <= b.count - offset else { throw fail("block of \(length) bytes runs past the end of the file") }
            guard Int(u32(b, offset + length - 4)) == length else { throw fail("block's trailing length differs from its leading one") }
            let body = offset + 8
            let bodyEnd = offset + length - 4
            defer { offset += length }
            switch type {
            case 1:
                try readInterface(b, body: body, end: bodyEnd)
            case 6:  // EPB: interface, ts high, ts low, captured, original, data
                guard bodyEnd - body >= 20 else { throw fail("enhanced packet block too short") }
                let id = Int(u32(b, body))
                let ts = UInt64(u32(b, body + 4)) << 32 | UInt64(u32(b, body + 8))
                return try packet(
                    b, interface: id, units: ts, captured: Int(u32(b, body + 12)),
                    original: Int(u32(b, body + 16)), data: body + 20, end: bodyEnd)
            case 3:  // SPB: original length, data; interface 0, no timestamp
                guard bodyEnd - body >= 4 else { throw fail("simple packet block too short") }
                guard !interfaces.isEmpty else { throw fail("simple packet block before any interface") }
                let original = Int(u32(b, body))
                let snap = Int(interfaces[0].snapLength)
                let captured = min(original, snap == 0 ? Int.max : snap, bodyEnd - body - 4)
                return try packet(
                    b, interface: 0, units: nil, captured: captured, original: original,
                    data: body + 4, end: bodyEnd)
            case 2:  // OPB: interface(2), drops(2), ts high, ts low, captured, original, data
                guard bodyEnd - body >= 20 else { throw fail("packet block too short") }
                let ts = UInt64(u32(b, body + 4)) << 32 | UInt64(u32(b, body + 8))
                return try packet(
                    b, interface: Int(u16(b, body)), units: ts, captured: Int(u32(b, body + 12)),
                    original: Int(u32(b, body + 16)), data: body + 20, end: bodyEnd)
            default:
                continue  // SHB (handled above), NRB, ISB, DSB, journal, custom: skipped by length
            }
        }
    }

    private mutating func packet(
        _ b: UnsafeRawBufferPointer, interface id: Int, units: UInt64?, captured: Int,
        original: Int, data: Int, end: Int
    ) throws(PcapngError) -> Record {
        frame += 1
        guard id < interfaces.count else {
            frame -= 1
            throw fail("packet on interface \(id), but the section describes \(interfaces.count)")
        }
        guard captured <= end - data else {
            frame -= 1
            throw fail("captured length \(captured) runs past its block")
        }
        let i = interfaces[id]
        let nanos = units.map { Self.nanoseconds(units: $0, i) } ?? 0
        return Record(
            frame: frame, interface: id, timestampNanos: nanos, dataOffset: data,
            capturedLength: captured, wireLength: max(original, captured))
    }

    private mutating func readInterface(_ b: UnsafeRawBufferPointer, body: Int, end: Int) throws(PcapngError) {
        guard end - body >= 8 else { throw fail("interface description block too short") }
        var i = Interface(
            linkType: u16(b, body), snapLength: u32(b, body + 4), resolutionExponent: 6,
            resolutionIsBinary: false, offsetSeconds: 0)
        var o = body + 8
        while o + 4 <= end {
            let code = u16(b, o)
            let length = Int(u16(b, o + 2))
            if code == 0 { break }
            guard o + 4 + length <= end else { throw fail("interface option runs past its block") }
            if code == 9 && length == 1 {
                let v = b[o + 4]
                i.resolutionIsBinary = v & 0x80 != 0
                i.resolutionExponent = v & 0x7F
                guard i.resolutionIsBinary ? i.resolutionExponent <= 63 : i.resolutionExponent <= 19 else {
                    throw fail("if_tsresol \(v) is finer than 64-bit time can hold")
                }
            } else if code == 14 && length == 8 {
                let high = UInt64(u32(b, o + 4)), low = UInt64(u32(b, o + 8))
                // Stored as one 64-bit value in the section's byte order.
                i.offsetSeconds = Int64(bitPattern: bigEndian ? high << 32 | low : low << 32 | high)
            }
            o += 4 + (length + 3) & ~3
        }
        interfaces.append(i)
    }

    /// Interface units since the epoch (plus the interface's offset) as nanoseconds, saturating to
    /// 0…Int64.max: a negative `if_tsoffset` cannot take time before 1970, the range libpcap's pcap
    /// path delivers too (the tracker's time arithmetic assumes differences stay below 2^63).
    static func nanoseconds(units: UInt64, _ i: Interface) -> Int64 {
        max(signedNanoseconds(units: units, i), 0)
    }

    static func signedNanoseconds(units: UInt64, _ i: Interface) -> Int64 {
        let whole: UInt64, fraction: UInt64
        if i.resolutionIsBinary {
            let n = UInt64(i.resolutionExponent)
            whole = units >> n
            let rest = units & ((1 << n) &- 1)
            // rest < 2^n, so rest·10^9 / 2^n < 10^9: take the 128-bit product shifted right by n.
            let p = rest.multipliedFullWidth(by: 1_000_000_000)
            fraction = n == 0 ? 0 : p.high << (64 - n) | p.low >> n
        } else {
            var scale: UInt64 = 1
            for _ in 0..<Int(i.resolutionExponent) { scale &*= 10 }
            whole = units / scale
            let rest = units % scale
            // Digits below nanoseconds are dropped; above, they are scaled up.
            if i.resolutionExponent >= 9 {
                var down: UInt64 = 1
                for _ in 0..<(Int(i.resolutionExponent) - 9) { down &*= 10 }
                fraction = rest / down
            } else {
                var up: UInt64 = 1
                for _ in 0..<(9 - Int(i.resolutionExponent)) { up &*= 10 }
                fraction = rest * up
            }
        }
        let seconds = whole > UInt64(Int64.max) ? Int64.max : Int64(whole)
        let (withOffset, overflow) = seconds.addingReportingOverflow(i.offsetSeconds)
        let s = overflow ? (i.offsetSeconds < 0 ? Int64.min : Int64.max) : withOffset
        let (ns, o1) = s.multipliedReportingOverflow(by: 1_000_000_000)
        if o1 { return s < 0 ? .min : .max }
        let (sum, o2) = ns.addingReportingOverflow(Int64(fraction))
        return o2 ? .max : sum
    }
}

/// Where and why a pcapng file could not be read further.
public struct PcapngError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The packet that could not be read (1-based, the file's own numbering).
    public var frame: UInt64
    /// Byte offset of the block.
    public var offset: Int
    public var message: String
    public var description: String { "frame \(frame): \(message)" }
}
