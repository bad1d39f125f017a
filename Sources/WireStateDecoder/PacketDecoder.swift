/// Decodes captured frames into `TCPSegment`s: link layer → IPv4/IPv6 (with extension headers) → TCP.
///
/// Pure and allocation-free: it reads the bytes it is lent, bounds-checks every read, and never
/// copies. What it cannot decode it classifies (not IP, not TCP, later fragment, truncated,
/// malformed) and counts, with the first frame number of each kind so a user can look at it.
public struct PacketDecoder: Sendable {
    public var linkType: LinkType
    public var counters = DecodeCounters()

    public init(linkType: LinkType) {
        self.linkType = linkType
        tunnelPorts = TunnelPorts()
    }

    /// Which UDP ports carry VXLAN, Geneve, GTP-U, Teredo and AYIYA (IANA ports by default).
    public var tunnelPorts: TunnelPorts

    public init(linkType: LinkType, tunnelPorts: TunnelPorts) {
        self.linkType = linkType
        self.tunnelPorts = tunnelPorts
    }

    /// Decodes one frame.
    /// - Parameters:
    ///   - bytes: the captured bytes (may be shorter than the frame on the wire).
    ///   - wireLength: the frame's length on the wire, as the capture header records it.
    ///   - frame: the frame's number in its file (1-based), kept with the counters.
    public mutating func decode(_ bytes: UnsafeRawBufferPointer, wireLength: Int, frame: UInt64) -> DecodeResult {
        var segment = TCPSegment.empty
        let status = decode(bytes, wireLength: wireLength, frame: frame, into: &segment)
        return DecodeResult(status, segment)
    }

    /// The hot-path form: the segment is written into `segment` (which the caller reuses), and only
    /// a two-byte status comes back, so no segment is copied between the layers.
    @inlinable
    public mutating func decode(
        _ bytes: UnsafeRawBufferPointer, wireLength: Int, frame: UInt64,
        into segment: inout TCPSegment
    ) -> DecodeStatus {
        var trace = DecodeTrace()
        let status = Self.decode(
            bytes, wireLength: wireLength, linkType: linkType, ports: tunnelPorts,
            into: &segment, trace: &trace)
        counters.count(status, frame: frame)
        if trace.crossed != 0 || trace.skip != nil { counters.encapsulations.count(trace, frame: frame) }
        return status
    }

    /// Counts a frame the decoder cannot even start on (its interface's link type is unsupported,
    /// in a multi-interface pcapng) as not IP, so frame totals stay the file's.
    public mutating func countUndecodable(frame: UInt64) {
        counters.count(.skipped(.notIP), frame: frame)
    }

    /// The stateless core of `decode`, for tests and fuzzing.
    public static func decode(
        _ bytes: UnsafeRawBufferPointer, wireLength: Int, linkType: LinkType,
        ports: TunnelPorts = TunnelPorts()
    ) -> DecodeResult {
        var segment = TCPSegment.empty
        var trace = DecodeTrace()
        let status = decode(bytes, wireLength: wireLength, linkType: linkType, ports: ports, into: &segment, trace: &trace)
        return DecodeResult(status, segment)
    }

    /// The layers the core walks, one at a time: each step parses one header and names the next,
    /// so nesting is a loop with a budget (`maxHeaders`), never recursion a crafted file could deepen.
    @usableFromInline
    enum Layer {
        case ethernet, ipv4, ipv6, mpls, pppoe, llc, fddi
    }

    /// At most this many headers after the link header (VLAN tags and MPLS labels count as one
    /// each group); the design reference suggests ≤ 16 headers, ≤ 4 tunnels (`TunnelPath.capacity`).
    @usableFromInline static let maxHeaders = 16

    @usableFromInline
    static func decode(
        _ bytes: UnsafeRawBufferPointer, wireLength: Int, linkType: LinkType, ports: TunnelPorts,
        into segment: inout TCPSegment, trace: inout DecodeTrace
    ) -> DecodeStatus {
        segment.tunnel.removeAll()
        var reader = ByteReader(bytes)
        var layer: Layer
        switch linkType {
        case .ethernet:
            // The common case first, as before tunnels existed: untagged IPv4 carrying TCP.
            if reader.count >= 34 && reader.u16(12) == 0x0800 {
                var ip = reader
                ip.advance(14)
                if case .done(let status) = decodeIPv4(ip, wireLength: wireLength - 14, into: &segment) { return status }
            }
            layer = .ethernet
        case .fddi:
            layer = .fddi
        case .linuxSLL:
            // libpcap can leave an 802.1Q tag in band behind the cooked header (protocol 0x8100).
            guard reader.count >= 16 else { return .truncated(.linkHeader) }
            switch lookThroughVLANTags(reader, type: reader.u16(14), tagsAt: 16) {
            case .next(let l, let payload): layer = l; reader.advance(payload)
            case .pbb: return .skipped(.notIP)
            case .stop(let status): return status
            }
        case .linuxSLL2:
            guard reader.count >= 20 else { return .truncated(.linkHeader) }
            switch lookThroughVLANTags(reader, type: reader.u16(0), tagsAt: 20) {
            case .next(let l, let payload): layer = l; reader.advance(payload)
            case .pbb: return .skipped(.notIP)
            case .stop(let status): return status
            }
        case .null, .loop:
            guard reader.count >= 4 else { return .truncated(.linkHeader) }
            // NULL stores the family in the capturing host's byte order, LOOP in network order.
            var family = reader.u32(0)
            if linkType == .null && family > 0xFFFF { family = family.byteSwapped }
            switch family {
            case 2: layer = .ipv4
            case 10, 24, 28, 30: layer = .ipv6  // Linux, NetBSD/OpenBSD, FreeBSD, Darwin
            default: return .skipped(.notIP)
            }
            reader.advance(4)
        case .raw:
            guard reader.count >= 1 else { return .truncated(.linkHeader) }
            switch reader.u8(0) >> 4 {
            case 4: layer = .ipv4
            case 6: layer = .ipv6
            default: return .skipped(.notIP)
            }
        case .ipv4:
            layer = .ipv4
        case .ipv6:
            layer = .ipv6
        }
        var headers = 0
        while true {
            headers += 1
            guard headers <= maxHeaders else { trace.skip = .tooDeep; return .malformed(.tooDeeplyNested) }
            switch layer {
            case .ethernet:
                guard reader.count >= 14 else { return .truncated(.linkHeader) }
                switch lookThroughVLANTags(reader, type: reader.u16(12), tagsAt: 14, allowLength: true) {
                case .next(let l, let payload): layer = l; reader.advance(payload)
                case .pbb(let payload):
                    // 802.1ah: I-TAG (PCP/DEI/UCA, I-SID 24 bits), then the customer's Ethernet header.
                    guard reader.count >= payload + 4 else { return .truncated(.linkHeader) }
                    trace.crossed |= Encapsulation.pbb.bit
                    guard segment.tunnel.append(TunnelLayer(kind: .pbb, id: reader.u32(payload) & 0xFF_FFFF)) else {
                        trace.skip = .tooDeep; return .malformed(.tooDeeplyNested)
                    }
                    reader.advance(payload + 4)
                    layer = .ethernet
                case .stop(let status): return status
                }
            case .ipv4, .ipv6:
                let wireIP = wireLength - (bytes.count - reader.count)
                let step =
                    layer == .ipv4
                    ? decodeIPv4(reader, wireLength: wireIP, into: &segment)
                    : decodeIPv6(reader, wireLength: wireIP, into: &segment)
                switch step {
                case .done(let status):
                    return status
                case .payload(let proto, let offset, let length, let src, let dst):
                    reader.advance(offset)
                    switch decodeIPPayload(
                        &reader, protocol: proto, length: length, src: src, dst: dst,
                        ports: ports, into: &segment, trace: &trace)
                    {
                    case .next(let l, _): layer = l
                    case .stop(let status): return status
                    case .pbb: return .skipped(.notTCP)  // not produced by IP payloads
                    }
                }
            case .mpls, .pppoe, .llc, .fddi:
                switch decodeLink(&reader, layer, into: &segment, trace: &trace) {
                case .next(let l, _): layer = l
                case .stop(let status): return status
                case .pbb: return .skipped(.notIP)
                }
            }
        }
    }

    @usableFromInline
    enum LinkOutcome {
        case next(Layer, payload: Int)
        /// An 802.1ah backbone header ends at `payload`: the I-TAG follows.
        case pbb(payload: Int)
        case stop(DecodeStatus)
    }

    /// Follows 802.1Q (0x8100), 802.1ad (0x88a8) and old QinQ (0x9100) tags, stacked any number
    /// deep (at most 8). Each tag is 4 bytes at `tagsAt`: TCI, then the next EtherType.
    /// `allowLength`: on Ethernet a type ≤ 1500 is an 802.3 length (LLC follows); cooked
    /// captures use those values for other things.
    @inline(__always)
    static func lookThroughVLANTags(
        _ reader: ByteReader, type first: UInt16, tagsAt start: Int,
        allowLength: Bool = false
    ) -> LinkOutcome {
        var type = first
        var offset = start
        var tags = 0
        while type == 0x8100 || type == 0x88a8 || type == 0x9100 {
            tags += 1
            guard tags <= 8 else { return .stop(.malformed(.tooManyVLANTags)) }
            guard reader.count >= offset + 4 else { return .stop(.truncated(.linkHeader)) }
            type = reader.u16(offset + 2)
            offset += 4
        }
        if type == 0x0800 { return .next(.ipv4, payload: offset) }
        if type == 0x86DD { return .next(.ipv6, payload: offset) }
        if type == 0x88E7 { return .pbb(payload: offset) }
        if allowLength && type <= 1500 { return .next(.llc, payload: offset) }
        guard let l = layer(etherType: type) else { return .stop(.skipped(.notIP)) }
        return .next(l, payload: offset)
    }

    // MARK: IPv4

    @inline(__always)
    static func decodeIPv4(_ ip: ByteReader, wireLength: Int, into segment: inout TCPSegment) -> IPStep {
        guard ip.count >= 20 else { return .done(.truncated(.ipHeader)) }
        let versionIHL = ip.u8(0)
        guard versionIHL >> 4 == 4 else { return .done(.malformed(.badIPVersion)) }
        let headerLength = Int(versionIHL & 0x0f) * 4
        guard headerLength >= 20 else { return .done(.malformed(.badIPHeaderLength)) }
        guard ip.count >= headerLength else { return .done(.truncated(.ipHeader)) }
        var totalLength = Int(ip.u16(2))
        // TSO/GSO captures on the sending host show a total length of 0: fall back to the wire length.
        if totalLength == 0 { totalLength = max(wireLength, headerLength) }
        guard totalLength >= headerLength else { return .done(.malformed(.badIPTotalLength)) }
        let protocolNumber = ip.u8(9)
        let fragmentField = ip.u16(6)
        let moreFragments = fragmentField & 0x2000 != 0
        let fragmentOffset = fragmentField & 0x1fff
        let src = IPAddress(ipv4: ip.u32(12))
        let dst = IPAddress(ipv4: ip.u32(16))
        guard protocolNumber == 6 else {
            // Tunnels are looked into only in whole datagrams: outer fragments are not reassembled.
            guard isTunnelProtocol(protocolNumber) else { return .done(.skipped(.notTCP)) }
            if moreFragments || fragmentOffset != 0 { return .done(.skipped(.notTCP)) }
            return .payload(protocolNumber, offset: headerLength, length: totalLength - headerLength, src: src, dst: dst)
        }
        if moreFragments || fragmentOffset != 0 {
            segment.source = SocketAddress(src, 0)
            segment.destination = SocketAddress(dst, 0)
            segment.ipIdentification = UInt32(ip.u16(4))
            segment.ipVersion = 4
            segment.fragmentOffset = UInt32(fragmentOffset) * 8
            segment.fragmentLength = UInt32(totalLength - headerLength)
            segment.moreFragments = moreFragments
            if fragmentOffset != 0 { return .done(.skipped(.laterFragment)) }
        } else {
            segment.fragmentOffset = 0
            segment.fragmentLength = 0
            segment.moreFragments = false
        }
        var tcp = ip
        tcp.advance(headerLength)
        return .done(
            decodeTCP(
                tcp, ipPayloadLength: totalLength - headerLength, src: src, dst: dst, ipVersion: 4,
                ipHeaderLength: UInt16(headerLength), identification: UInt32(ip.u16(4)), ttl: ip.u8(8),
                isFragment: moreFragments, into: &segment))
    }

    // MARK: IPv6

    @inline(__always)
    static func decodeIPv6(_ ip: ByteReader, wireLength: Int, into segment: inout TCPSegment) -> IPStep {
        guard ip.count >= 40 else { return .done(.truncated(.ipHeader)) }
        guard ip.u8(0) >> 4 == 6 else { return .done(.malformed(.badIPVersion)) }
        var payloadLength = Int(ip.u16(4))
        // A zero payload length means a jumbogram (RFC 2675) or a TSO capture: trust the wire length.
        if payloadLength == 0 { payloadLength = max(wireLength - 40, 0) }
        var next = ip.u8(6)
        let hopLimit = ip.u8(7)
        let src = IPAddress(ipv6High: ip.u64(8), low: ip.u64(16))
        let dst = IPAddress(ipv6High: ip.u64(24), low: ip.u64(32))
        var offset = 40
        var identification: UInt32 = 0
        var firstFragment = false
        var fragmentField: UInt16 = 0
        var sawFragmentHeader = false
        var fragmentPayloadStart = 0
        var headers = 0
        // Walk the extension-header chain until TCP, or something we cannot look through.
        while next != 6 {
            headers += 1
            guard headers <= 16 else { return .done(.malformed(.badExtensionHeader)) }
            switch next {
            case 0, 43, 60, 135, 139, 140:  // hop-by-hop, routing, destination options, mobility, HIP, shim6
                guard ip.count >= offset + 2 else { return .done(.truncated(.ipHeader)) }
                let length = (Int(ip.u8(offset + 1)) + 1) * 8
                next = ip.u8(offset)
                offset += length
            case 44:  // fragment
                guard ip.count >= offset + 8 else { return .done(.truncated(.ipHeader)) }
                fragmentField = ip.u16(offset + 2)
                identification = ip.u32(offset + 4)
                next = ip.u8(offset)
                sawFragmentHeader = true
                offset += 8
                fragmentPayloadStart = offset
                if fragmentField & 0xfff8 != 0 {
                    // A later fragment: its bytes count toward the datagram. Whether it is TCP's is
                    // known only from the first fragment (extension headers may follow this one), so
                    // the reassembler keeps only datagrams whose first fragment carried TCP.
                    segment.source = SocketAddress(src, 0)
                    segment.destination = SocketAddress(dst, 0)
                    segment.ipIdentification = identification
                    segment.ipVersion = 6
                    segment.fragmentOffset = UInt32(fragmentField & 0xfff8)
                    segment.fragmentLength = UInt32(max(40 + payloadLength - offset, 0))
                    segment.moreFragments = fragmentField & 1 != 0
                    return .done(.skipped(.laterFragment))
                }
                firstFragment = fragmentField & 1 != 0
            case 51:  // authentication header: length in 4-octet units minus 2
                guard ip.count >= offset + 2 else { return .done(.truncated(.ipHeader)) }
                let length = (Int(ip.u8(offset + 1)) + 2) * 4
                next = ip.u8(offset)
                offset += length
            default:  // ESP (50), no next header (59), ICMPv6, UDP, tunnels, …
                guard isTunnelProtocol(next), !sawFragmentHeader, ip.count >= offset else { return .done(.skipped(.notTCP)) }
                return .payload(next, offset: offset, length: 40 + payloadLength - offset, src: src, dst: dst)
            }
            guard offset <= 40 + payloadLength else { return .done(.malformed(.badExtensionHeader)) }
        }
        guard ip.count >= offset else { return .done(.truncated(.ipHeader)) }
        // Fragment bookkeeping is in bytes after the fragment header (extension headers after it count).
        segment.fragmentOffset = 0
        segment.fragmentLength = sawFragmentHeader ? UInt32(max(40 + payloadLength - fragmentPayloadStart, 0)) : 0
        segment.moreFragments = firstFragment
        var tcp = ip
        tcp.advance(offset)
        let status = decodeTCP(
            tcp, ipPayloadLength: 40 + payloadLength - offset, src: src, dst: dst, ipVersion: 6,
            ipHeaderLength: UInt16(offset), identification: identification, ttl: hopLimit,
            isFragment: firstFragment, into: &segment)
        // Extension headers after the fragment header belong to the reassembled payload.
        if firstFragment { segment.fragmentHeaderBytes = UInt32(offset - fragmentPayloadStart) }
        return .done(status)
    }

    // MARK: TCP

    @inline(__always)
    static func decodeTCP(
        _ tcp: ByteReader, ipPayloadLength: Int, src: IPAddress, dst: IPAddress, ipVersion: UInt8,
        ipHeaderLength: UInt16, identification: UInt32, ttl: UInt8, isFragment: Bool,
        into segment: inout TCPSegment
    ) -> DecodeStatus {
        guard tcp.count >= 20 else { return .truncated(.tcpHeader) }
        let dataOffset = Int(tcp.u8(12) >> 4) * 4
        guard dataOffset >= 20 else { return .malformed(.badTCPDataOffset) }
        // A headers-only capture (tcpdump -s 64) can cut the options: the fixed header still gives
        // ports, numbers and flags, and the options are read as far as they go.
        // A first fragment carries only part of the payload; its own length is what we can count.
        guard dataOffset <= ipPayloadLength || isFragment else { return .malformed(.badTCPDataOffset) }
        let payload = max(ipPayloadLength - dataOffset, 0)
        segment.source = SocketAddress(src, tcp.u16(0))
        segment.destination = SocketAddress(dst, tcp.u16(2))
        segment.sequence = tcp.u32(4)
        segment.acknowledgment = tcp.u32(8)
        segment.flags = TCPFlags(rawValue: UInt16(tcp.u8(12) & 0x01) << 8 | UInt16(tcp.u8(13)))
        segment.window = tcp.u16(14)
        segment.urgentPointer = tcp.u16(18)
        segment.headerLength = UInt8(dataOffset)
        segment.payloadLength = UInt32(payload)
        segment.capturedPayloadLength = UInt32(min(payload, max(tcp.count - dataOffset, 0)))
        segment.ipVersion = ipVersion
        segment.ipHeaderLength = ipHeaderLength
        segment.ipIdentification = identification
        segment.ttl = ttl
        segment.isFragment = isFragment
        segment.options = TCPOptions()
        if dataOffset > 20 {
            let captured = min(dataOffset, tcp.count)
            parseOptions(tcp, end: captured, into: &segment.options)
            if captured < dataOffset {
                segment.options.truncated = true
                segment.options.malformed = false  // cut by the capture, not by the sender
            }
        }
        return .tcp
    }

    @inline(__always)
    static func parseOptions(_ tcp: ByteReader, end: Int, into o: inout TCPOptions) {
        var i = 20
        while i < end {
            let kind = tcp.u8(i)
            if kind == 0 { break }  // end of option list
            if kind == 1 { i += 1; continue }  // NOP
            guard i + 1 < end else { o.malformed = true; break }
            let length = Int(tcp.u8(i + 1))
            guard length >= 2, i + length <= end else { o.malformed = true; break }
            switch (kind, length) {
            case (2, 4): o.mss = tcp.u16(i + 2)
            case (3, 3): o.windowScale = tcp.u8(i + 2)
            case (4, 2): o.sackPermitted = true
            case (5, _) where (length - 2) % 8 == 0:
                var j = i + 2
                while j + 8 <= i + length {
                    o.appendSACK(SACKBlock(left: tcp.u32(j), right: tcp.u32(j + 4)))
                    j += 8
                }
            case (8, 10):
                o.timestampValue = tcp.u32(i + 2)
                o.timestampEcho = tcp.u32(i + 6)
            case (34, _) where length <= 18:
                readCookie(tcp, from: i + 2, count: length - 2, into: &o)
            case (254, _) where length >= 4 && length <= 20 && tcp.u16(i + 2) == 0xF989:
                // Experimental TFO (RFC 6994 magic 0xF989), used before kind 34 was assigned.
                readCookie(tcp, from: i + 4, count: length - 4, into: &o)
            case (2, _), (3, _), (4, _), (5, _), (8, _), (34, _):
                o.malformed = true  // a known option with an impossible length
            default:
                break  // unknown options are skipped by their length
            }
            i += length
        }
    }

    static func readCookie(_ tcp: ByteReader, from start: Int, count: Int, into o: inout TCPOptions) {
        o.fastOpenCookieLength = UInt8(count)
        var high: UInt64 = 0, low: UInt64 = 0
        for k in 0..<count {
            let b = UInt64(tcp.u8(start + k))
            if k < 8 { high |= b << UInt64(56 - 8 * k) } else { low |= b << UInt64(56 - 8 * (k - 8)) }
        }
        o.fastOpenCookieHigh = high
        o.fastOpenCookieLow = low
    }
}

/// What an IP header leads to: a finished decode, or a tunnel protocol's payload to walk into.
@usableFromInline
enum IPStep {
    case done(DecodeStatus)
    case payload(UInt8, offset: Int, length: Int, src: IPAddress, dst: IPAddress)
}

/// What became of one frame.
public enum DecodeResult: Sendable, Equatable {
    case tcp(TCPSegment)
    case skipped(SkipReason)
    case truncated(TruncationPoint)
    case malformed(MalformedReason)

    init(_ status: DecodeStatus, _ segment: TCPSegment) {
        switch status {
        case .tcp: self = .tcp(segment)
        case .skipped(let r): self = .skipped(r)
        case .truncated(let r): self = .truncated(r)
        case .malformed(let r): self = .malformed(r)
        }
    }
}

/// `DecodeResult` without the segment: what the hot path returns while the segment is written in place.
public enum DecodeStatus: Sendable, Equatable {
    case tcp
    case skipped(SkipReason)
    case truncated(TruncationPoint)
    case malformed(MalformedReason)
}

public enum SkipReason: Sendable, Equatable {
    case notIP, notTCP, laterFragment
}

/// Where the capture cut the frame short (snaplen smaller than the headers).
public enum TruncationPoint: String, Sendable, Equatable {
    case linkHeader = "link header"
    case ipHeader = "IP header"
    case tcpHeader = "TCP header"
}

public enum MalformedReason: String, Sendable, Equatable {
    case badIPVersion = "IP version does not match the link type"
    case badIPHeaderLength = "IPv4 header length below 20 bytes"
    case badIPTotalLength = "IPv4 total length shorter than its header"
    case badExtensionHeader = "IPv6 extension header chain runs past the packet"
    case badTCPDataOffset = "TCP data offset below 20 bytes or past the IP payload"
    case tooManyVLANTags = "more than 8 stacked VLAN tags"
    case tooDeeplyNested = "more than 4 tunnels or 16 headers deep"
    case badEncapsulation = "encapsulation header with an impossible length"
}

/// Frame counts by outcome, each with the first frame number that had it.
public struct DecodeCounters: Sendable, Equatable {
    public struct Count: Sendable, Equatable {
        public var count: UInt64 = 0
        public var firstFrame: UInt64?
        mutating func add(_ frame: UInt64) {
            count += 1
            if firstFrame == nil { firstFrame = frame }
        }
        mutating func merge(_ b: Count) {
            count += b.count
            if firstFrame == nil { firstFrame = b.firstFrame }
        }
    }
    public var frames: UInt64 = 0
    public var tcp = Count()
    public var notIP = Count()
    public var notTCP = Count()
    public var laterFragments = Count()
    public var truncated = Count()
    public var malformed = Count()
    /// Per encapsulation: frames decoded through it, and frames it stopped with the reason.
    public var encapsulations = EncapsulationCounters()

    public init() {}

    @usableFromInline
    mutating func count(_ result: DecodeStatus, frame: UInt64) {
        frames += 1
        switch result {
        case .tcp: tcp.add(frame)
        case .skipped(.notIP): notIP.add(frame)
        case .skipped(.notTCP): notTCP.add(frame)
        case .skipped(.laterFragment): laterFragments.add(frame)
        case .truncated: truncated.add(frame)
        case .malformed: malformed.add(frame)
        }
    }

    /// Adds another file's counters (several files in one run).
    public mutating func merge(_ other: DecodeCounters) {
        frames += other.frames
        func m(_ a: inout Count, _ b: Count) {
            a.count += b.count
            if a.firstFrame == nil { a.firstFrame = b.firstFrame }
        }
        m(&tcp, other.tcp); m(&notIP, other.notIP); m(&notTCP, other.notTCP)
        m(&laterFragments, other.laterFragments); m(&truncated, other.truncated); m(&malformed, other.malformed)
        encapsulations.merge(other.encapsulations)
    }
}

/// Big-endian reads over borrowed bytes. Callers check `count` before reading.
@usableFromInline
struct ByteReader {
    @usableFromInline var base: UnsafeRawBufferPointer

    @inlinable init(_ base: UnsafeRawBufferPointer) { self.base = base }

    @inlinable var count: Int { base.count }

    @inlinable mutating func advance(_ n: Int) {
        base =
            n >= base.count
            ? UnsafeRawBufferPointer(rebasing: base[base.count...])
            : UnsafeRawBufferPointer(rebasing: base[n...])
    }

    @inlinable func u8(_ o: Int) -> UInt8 { base[o] }
    @inlinable func u16(_ o: Int) -> UInt16 { UInt16(bigEndian: base.loadUnaligned(fromByteOffset: o, as: UInt16.self)) }
    @inlinable func u32(_ o: Int) -> UInt32 { UInt32(bigEndian: base.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
    @inlinable func u64(_ o: Int) -> UInt64 { UInt64(bigEndian: base.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
}
