/// The headers between the link layer and the innermost IP: provider link layers (MPLS, PPPoE,
/// LLC/SNAP, FDDI) and tunnels carried in IP (IP-in-IP, GRE/ERSPAN) or UDP (VXLAN, Geneve, GTP-U,
/// Teredo, AYIYA). Field layouts and their sources: docs/encapsulations.md.
///
/// Each function parses one header from `reader`, advances past it and names the next layer; the
/// loop in `PacketDecoder.decode` drives them with a header budget, so nesting never recurses.
/// Every read is preceded by a length check; nothing allocates.
extension PacketDecoder {
    /// The layer an EtherType (or GRE / Geneve protocol type, which share its registry) leads to.
    @inline(__always)
    static func layer(etherType: UInt16) -> Layer? {
        switch etherType {
        case 0x0800: return .ipv4
        case 0x86DD: return .ipv6
        case 0x8847, 0x8848: return .mpls  // unicast; multicast (upstream-assigned, RFC 5332)
        case 0x8864: return .pppoe  // PPPoE session stage
        default: return nil
        }
    }

    /// IP protocols the decoder looks into: IPv4 (4), IPv6 (41), GRE (47), UDP (17), MPLS-in-IP (137).
    @inline(__always)
    static func isTunnelProtocol(_ p: UInt8) -> Bool {
        p == 4 || p == 41 || p == 47 || p == 17 || p == 137
    }

    @inline(__always)
    static func stop(_ why: EncapsulationSkip, _ status: DecodeStatus, _ trace: inout DecodeTrace) -> LinkOutcome {
        trace.skip = why
        return .stop(status)
    }

    /// Adds a tunnel to the segment's path, or stops at the nesting limit.
    @inline(__always)
    static func enter(
        _ layer: TunnelLayer, _ e: Encapsulation, _ segment: inout TCPSegment,
        _ trace: inout DecodeTrace
    ) -> Bool {
        trace.crossed |= e.bit
        if segment.tunnel.append(layer) { return true }
        trace.skip = .tooDeep
        return false
    }

    // MARK: Link-level encapsulations

    static func decodeLink(
        _ reader: inout ByteReader, _ layer: Layer, into segment: inout TCPSegment,
        trace: inout DecodeTrace
    ) -> LinkOutcome {
        switch layer {
        case .mpls: return decodeMPLS(&reader, trace: &trace)
        case .pppoe: return decodePPPoE(&reader, into: &segment, trace: &trace)
        case .llc: return decodeLLC(&reader, trace: &trace)
        case .fddi:
            // FC, DA(6), SA(6); only LLC data frames (FC 0x5x async, 0xDx sync) carry IP.
            guard reader.count >= 13 else { return .stop(.truncated(.linkHeader)) }
            trace.crossed |= Encapsulation.fddi.bit
            let fc = reader.u8(0) & 0xF0
            guard fc == 0x50 || fc == 0xD0 else { return stop(.fddiNotData, .skipped(.notIP), &trace) }
            reader.advance(13)
            return .next(.llc, payload: 0)
        case .ethernet, .ipv4, .ipv6:
            return .stop(.skipped(.notIP))  // handled by the caller
        }
    }

    /// MPLS label stack (RFC 3032): pop 4-byte entries until bottom-of-stack, at most 16. The
    /// stack does not say what follows, so the first nibble decides (as Wireshark does): 4 → IPv4
    /// with a plausible header length, 6 → IPv6, 0 → pseudowire control word (RFC 4385) then
    /// Ethernet (RFC 4448), 1 → a G-ACh/PW channel (not data), else Ethernet without control word.
    /// Explicit-null labels 0 and 2 name IPv4 and IPv6 outright.
    static func decodeMPLS(_ reader: inout ByteReader, trace: inout DecodeTrace) -> LinkOutcome {
        trace.crossed |= Encapsulation.mpls.bit
        var offset = 0
        var entry: UInt32 = 0
        var labels = 0
        repeat {
            labels += 1
            guard labels <= 16 else { return stop(.mplsTooManyLabels, .malformed(.tooDeeplyNested), &trace) }
            guard reader.count >= offset + 4 else { return .stop(.truncated(.linkHeader)) }
            entry = reader.u32(offset)
            offset += 4
            if entry >> 12 == 13 { return stop(.mplsControlChannel, .skipped(.notIP), &trace) }  // GAL
        } while entry & 0x100 == 0
        reader.advance(offset)
        let label = entry >> 12
        guard reader.count >= 1 else { return .stop(.truncated(.ipHeader)) }
        if label == 0 { return .next(.ipv4, payload: 0) }
        if label == 2 { return .next(.ipv6, payload: 0) }
        switch reader.u8(0) >> 4 {
        case 4 where reader.u8(0) & 0x0F >= 5:
            return .next(.ipv4, payload: 0)
        case 6:
            return .next(.ipv6, payload: 0)
        case 0:
            // Control word: 0000, flags, FRG, length, sequence; then the customer's frame.
            guard reader.count >= 4 else { return .stop(.truncated(.linkHeader)) }
            trace.crossed |= Encapsulation.pseudowire.bit
            reader.advance(4)
            return .next(.ethernet, payload: 0)
        case 1:
            return stop(.mplsControlChannel, .skipped(.notIP), &trace)
        default:
            trace.crossed |= Encapsulation.pseudowire.bit
            return .next(.ethernet, payload: 0)
        }
    }

    /// PPPoE session (RFC 2516): ver/type 0x11, code 0, session id, length; then the 2-byte PPP
    /// protocol (no address/control bytes). The session id is shared by both directions.
    static func decodePPPoE(
        _ reader: inout ByteReader, into segment: inout TCPSegment,
        trace: inout DecodeTrace
    ) -> LinkOutcome {
        guard reader.count >= 8 else { return .stop(.truncated(.linkHeader)) }
        guard reader.u8(0) == 0x11, reader.u8(1) == 0 else {
            trace.crossed |= Encapsulation.pppoe.bit
            return stop(.pppoeBadHeader, .skipped(.notIP), &trace)
        }
        let next: Layer
        switch reader.u16(6) {
        case 0x0021: next = .ipv4
        case 0x0057: next = .ipv6
        case 0x0281: next = .mpls
        case 0x002D, 0x002F:
            trace.crossed |= Encapsulation.pppoe.bit
            return stop(.pppVanJacobson, .skipped(.notIP), &trace)
        default:
            trace.crossed |= Encapsulation.pppoe.bit
            return stop(.pppNotIP, .skipped(.notIP), &trace)
        }
        guard enter(TunnelLayer(kind: .pppoe, id: UInt32(reader.u16(2))), .pppoe, &segment, &trace) else {
            return .stop(.malformed(.tooDeeplyNested))
        }
        reader.advance(8)
        return .next(next, payload: 0)
    }

    /// 802.2 LLC (after an 802.3 length or FDDI): only SNAP (AA AA 03) with an RFC 1042 (00-00-00)
    /// or 802.1H (00-00-F8) OUI carries an EtherType, and so IP.
    static func decodeLLC(_ reader: inout ByteReader, trace: inout DecodeTrace) -> LinkOutcome {
        guard reader.count >= 3 else { return .stop(.truncated(.linkHeader)) }
        trace.crossed |= Encapsulation.llcSnap.bit
        guard reader.u8(0) == 0xAA, reader.u8(1) == 0xAA, reader.u8(2) == 0x03 else {
            return stop(.llcNotSNAP, .skipped(.notIP), &trace)
        }
        guard reader.count >= 8 else { return .stop(.truncated(.linkHeader)) }
        let oui = reader.u32(2) & 0xFF_FFFF
        guard oui == 0 || oui == 0xF8 else { return stop(.snapUnknownOUI, .skipped(.notIP), &trace) }
        let type = reader.u16(6)
        reader.advance(8)
        if type == 0x8100 || type == 0x88a8 || type == 0x9100 { return .stop(.skipped(.notIP)) }
        guard let l = layer(etherType: type) else { return .stop(.skipped(.notIP)) }
        return .next(l, payload: 0)
    }

    // MARK: Tunnels in IP

    /// The payload of an IP datagram whose protocol is a tunnel: `reader` starts at it, `length`
    /// is what the IP header says it holds (bytes past it are padding), `src`/`dst` are the outer
    /// addresses (the scope of tunnels whose ids differ by direction).
    static func decodeIPPayload(
        _ reader: inout ByteReader, protocol proto: UInt8, length: Int,
        src: IPAddress, dst: IPAddress, ports: TunnelPorts,
        into segment: inout TCPSegment, trace: inout DecodeTrace
    ) -> LinkOutcome {
        switch proto {
        case 4, 41:
            // RFC 2003 / 2473 / 4213: the inner datagram follows directly; keyed by the outer pair.
            guard enter(TunnelLayer(kind: .ipInIP, scope: TunnelLayer.scope(src, dst)), .ipInIP, &segment, &trace) else {
                return .stop(.malformed(.tooDeeplyNested))
            }
            return .next(proto == 4 ? .ipv4 : .ipv6, payload: 0)
        case 47:
            return decodeGRE(&reader, src: src, dst: dst, into: &segment, trace: &trace)
        case 137:
            return .next(.mpls, payload: 0)  // MPLS-in-IP, RFC 4023
        default:
            return decodeUDP(&reader, length: length, src: src, dst: dst, ports: ports, into: &segment, trace: &trace)
        }
    }

    /// GRE (RFC 2784 with RFC 2890 key and sequence). Optional fields in order: checksum+reserved
    /// (C), key (K), sequence (S). Routing (R, RFC 1701) and version 1 (PPTP, whose payload is
    /// compressed PPP) are counted, not decoded. Keys may differ by direction (Linux ikey/okey),
    /// so a GRE tunnel is keyed by its outer address pair and the key is only shown.
    static func decodeGRE(
        _ reader: inout ByteReader, src: IPAddress, dst: IPAddress,
        into segment: inout TCPSegment, trace: inout DecodeTrace
    ) -> LinkOutcome {
        guard reader.count >= 4 else { return .stop(.truncated(.ipHeader)) }
        trace.crossed |= Encapsulation.gre.bit
        let flags = reader.u16(0)
        let type = reader.u16(2)
        switch flags & 0x7 {
        case 0: break
        case 1: return stop(.greVersion1, .skipped(.notTCP), &trace)
        default: return stop(.greOtherVersion, .skipped(.notTCP), &trace)
        }
        guard flags & 0x4000 == 0 else { return stop(.greRouting, .skipped(.notTCP), &trace) }
        var offset = 4
        if flags & 0x8000 != 0 { offset += 4 }
        var key: UInt32?
        if flags & 0x2000 != 0 {
            guard reader.count >= offset + 4 else { return .stop(.truncated(.ipHeader)) }
            key = reader.u32(offset)
            offset += 4
        }
        let hasSequence = flags & 0x1000 != 0
        if hasSequence { offset += 4 }
        guard reader.count >= offset else { return .stop(.truncated(.ipHeader)) }
        let next: Layer
        switch type {
        case 0x6558:
            next = .ethernet  // transparent Ethernet bridging (also NVGRE, RFC 7637)
        case 0x88BE, 0x22EB:
            return decodeERSPAN(
                &reader, at: offset, typeIII: type == 0x22EB, hasSequence: hasSequence,
                into: &segment, trace: &trace)
        default:
            guard let l = layer(etherType: type), l != .pppoe else { return stop(.greUnknownType, .skipped(.notTCP), &trace) }
            next = l
        }
        guard
            enter(
                TunnelLayer(kind: .gre, directionalID: key, scope: TunnelLayer.scope(src, dst)), .gre,
                &segment, &trace)
        else { return .stop(.malformed(.tooDeeplyNested)) }
        reader.advance(offset)
        return .next(next, payload: 0)
    }

    /// ERSPAN (draft-foschiano-erspan): type I has no GRE sequence and no header; type II has an
    /// 8-byte header (version 1), type III a 12-byte one (version 2, plus an 8-byte platform
    /// sub-header when O is set). Then the mirrored Ethernet frame. Keyed by session id.
    static func decodeERSPAN(
        _ reader: inout ByteReader, at start: Int, typeIII: Bool, hasSequence: Bool,
        into segment: inout TCPSegment, trace: inout DecodeTrace
    ) -> LinkOutcome {
        trace.crossed |= Encapsulation.erspan.bit
        var offset = start
        var session: UInt32?
        if typeIII {
            guard reader.count >= offset + 12 else { return .stop(.truncated(.linkHeader)) }
            guard reader.u8(offset) >> 4 == 2 else { return stop(.erspanUnknownVersion, .skipped(.notTCP), &trace) }
            session = UInt32(reader.u16(offset + 2) & 0x3FF)
            let hasPlatform = reader.u8(offset + 11) & 1 != 0
            offset += hasPlatform ? 20 : 12
        } else if hasSequence {
            guard reader.count >= offset + 8 else { return .stop(.truncated(.linkHeader)) }
            guard reader.u8(offset) >> 4 == 1 else { return stop(.erspanUnknownVersion, .skipped(.notTCP), &trace) }
            session = UInt32(reader.u16(offset + 2) & 0x3FF)
            offset += 8
        }
        guard reader.count >= offset else { return .stop(.truncated(.linkHeader)) }
        guard enter(TunnelLayer(kind: .erspan, id: session), .erspan, &segment, &trace) else {
            return .stop(.malformed(.tooDeeplyNested))
        }
        reader.advance(offset)
        return .next(.ethernet, payload: 0)
    }

    // MARK: Tunnels in UDP

    /// A UDP datagram on a tunnel port (destination first, then source); others are "not TCP".
    static func decodeUDP(
        _ reader: inout ByteReader, length: Int, src: IPAddress, dst: IPAddress,
        ports: TunnelPorts, into segment: inout TCPSegment, trace: inout DecodeTrace
    ) -> LinkOutcome {
        guard reader.count >= 8 else { return .stop(.skipped(.notTCP)) }
        guard let tunnel = ports.tunnel(destination: reader.u16(2), source: reader.u16(0)) else {
            return .stop(.skipped(.notTCP))
        }
        reader.advance(8)
        switch tunnel {
        case .vxlan:
            // RFC 7348: flags (I = 0x08), reserved 24, VNI 24, reserved 8; then Ethernet without FCS.
            guard reader.count >= 8 else { return .stop(.truncated(.linkHeader)) }
            trace.crossed |= Encapsulation.vxlan.bit
            guard reader.u8(0) & 0x08 != 0 else { return stop(.vxlanNoVNI, .skipped(.notTCP), &trace) }
            guard enter(TunnelLayer(kind: .vxlan, id: reader.u32(4) >> 8), .vxlan, &segment, &trace) else {
                return .stop(.malformed(.tooDeeplyNested))
            }
            reader.advance(8)
            return .next(.ethernet, payload: 0)
        case .geneve:
            // RFC 8926: ver 2 | opt len 6 (4-byte units) | O C | reserved, protocol, VNI, reserved;
            // options are skipped by their total length.
            guard reader.count >= 8 else { return .stop(.truncated(.linkHeader)) }
            trace.crossed |= Encapsulation.geneve.bit
            guard reader.u8(0) >> 6 == 0 else { return stop(.geneveVersion, .skipped(.notTCP), &trace) }
            let headerLength = 8 + Int(reader.u8(0) & 0x3F) * 4
            let type = reader.u16(2)
            let vni = reader.u32(4) >> 8
            guard reader.count >= headerLength else { return .stop(.truncated(.linkHeader)) }
            let next: Layer
            if type == 0x6558 {
                next = .ethernet
            } else if let l = layer(etherType: type) {
                next = l
            } else {
                return stop(.greUnknownType, .skipped(.notTCP), &trace)
            }
            guard enter(TunnelLayer(kind: .geneve, id: vni), .geneve, &segment, &trace) else {
                return .stop(.malformed(.tooDeeplyNested))
            }
            reader.advance(headerLength)
            return .next(next, payload: 0)
        case .gtpU:
            return decodeGTPU(&reader, src: src, dst: dst, into: &segment, trace: &trace)
        case .teredo:
            return decodeTeredo(&reader, into: &segment, trace: &trace)
        case .ayiya:
            // draft-massar-v6ops-ayiya: IDLen|IDType, SigLen|HashMeth, AuthMeth|OpCode, next header,
            // epoch(4), identity (2^IDLen bytes), signature (4·SigLen bytes), payload.
            guard reader.count >= 8 else { return .stop(.truncated(.linkHeader)) }
            trace.crossed |= Encapsulation.ayiya.bit
            guard reader.u8(2) & 0x0F == 1 else { return stop(.ayiyaNotData, .skipped(.notTCP), &trace) }
            let next: Layer
            switch reader.u8(3) {
            case 41: next = .ipv6
            case 4: next = .ipv4
            default: return stop(.ayiyaNotIP, .skipped(.notTCP), &trace)
            }
            let headerLength = 8 + (1 << Int(reader.u8(0) >> 4)) + 4 * Int(reader.u8(1) >> 4)
            guard reader.count >= headerLength else { return .stop(.truncated(.linkHeader)) }
            guard enter(TunnelLayer(kind: .ayiya, scope: TunnelLayer.scope(src, dst)), .ayiya, &segment, &trace) else {
                return .stop(.malformed(.tooDeeplyNested))
            }
            reader.advance(headerLength)
            return .next(next, payload: 0)
        }
    }

    /// GTP-U v1 (3GPP TS 29.281): flags (version 1, PT 1, E S PN), type (255 = G-PDU, user data),
    /// length, TEID; if any of E/S/PN, sequence, N-PDU and next-extension type; then extension
    /// headers (length in 4-byte units, last byte = next type, 0 ends), at most 16. The TEID is the
    /// receiver's, different in each direction: keyed by the outer pair, the TEID only shown.
    static func decodeGTPU(
        _ reader: inout ByteReader, src: IPAddress, dst: IPAddress,
        into segment: inout TCPSegment, trace: inout DecodeTrace
    ) -> LinkOutcome {
        guard reader.count >= 8 else { return .stop(.truncated(.linkHeader)) }
        trace.crossed |= Encapsulation.gtpU.bit
        let flags = reader.u8(0)
        guard flags >> 5 == 1, flags & 0x10 != 0 else { return stop(.gtpVersion, .skipped(.notTCP), &trace) }
        guard reader.u8(1) == 255 else { return stop(.gtpNotUserData, .skipped(.notTCP), &trace) }
        let teid = reader.u32(4)
        var offset = 8
        if flags & 0x07 != 0 {
            guard reader.count >= 12 else { return .stop(.truncated(.linkHeader)) }
            var nextType = flags & 0x04 != 0 ? reader.u8(11) : 0
            offset = 12
            var extensions = 0
            while nextType != 0 {
                extensions += 1
                guard extensions <= 16 else { return stop(.gtpBadExtension, .malformed(.badEncapsulation), &trace) }
                guard reader.count >= offset + 1 else { return .stop(.truncated(.linkHeader)) }
                let length = Int(reader.u8(offset)) * 4
                guard length > 0 else { return stop(.gtpBadExtension, .malformed(.badEncapsulation), &trace) }
                guard reader.count >= offset + length else { return .stop(.truncated(.linkHeader)) }
                nextType = reader.u8(offset + length - 1)
                offset += length
            }
        }
        guard reader.count >= offset + 1 else { return .stop(.truncated(.ipHeader)) }
        let next: Layer
        switch reader.u8(offset) >> 4 {
        case 4: next = .ipv4
        case 6: next = .ipv6
        default: return stop(.gtpNotIP, .skipped(.notTCP), &trace)
        }
        guard
            enter(
                TunnelLayer(kind: .gtpU, directionalID: teid, scope: TunnelLayer.scope(src, dst)), .gtpU,
                &segment, &trace)
        else { return .stop(.malformed(.tooDeeplyNested)) }
        reader.advance(offset)
        return .next(next, payload: 0)
    }

    /// Teredo (RFC 4380): optional authentication (0x0001, ID-len, AU-len, id, auth, nonce 8,
    /// confirmation 1) and origin indication (0x0000, port, address: 8 bytes), in that order; then
    /// IPv6. The client and server are already named by the inner Teredo addresses.
    static func decodeTeredo(
        _ reader: inout ByteReader, into segment: inout TCPSegment,
        trace: inout DecodeTrace
    ) -> LinkOutcome {
        guard reader.count >= 2 else { return .stop(.truncated(.linkHeader)) }
        trace.crossed |= Encapsulation.teredo.bit
        if reader.u16(0) == 0x0001 {
            guard reader.count >= 4 else { return .stop(.truncated(.linkHeader)) }
            let length = 13 + Int(reader.u8(2)) + Int(reader.u8(3))
            guard reader.count >= length else { return .stop(.truncated(.linkHeader)) }
            reader.advance(length)
        }
        if reader.count >= 2 && reader.u16(0) == 0x0000 {
            guard reader.count >= 8 else { return .stop(.truncated(.linkHeader)) }
            reader.advance(8)
        }
        guard reader.count >= 1, reader.u8(0) >> 4 == 6 else { return stop(.teredoNotIPv6, .skipped(.notTCP), &trace) }
        guard enter(TunnelLayer(kind: .teredo), .teredo, &segment, &trace) else {
            return .stop(.malformed(.tooDeeplyNested))
        }
        return .next(.ipv6, payload: 0)
    }
}
