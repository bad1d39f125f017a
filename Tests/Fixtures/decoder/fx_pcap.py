#!/usr/bin/python3
"""pcap post-processing for the decoder fixtures (classic pcap only; stdlib
only: packets are rewritten/synthesized byte-wise with struct, no scapy).

  linktype   FILE                         print the link type of a pcap
  reencap    SRC DST LINKTYPE [v4|v6|all] re-encapsulate the IP packets of a
                                          LINKTYPE_RAW/ETHERNET capture under
                                          RAW(101) / IPV4(228) / IPV6(229) /
                                          NULL(0, AF_INET=2, AF_INET6 cycling
                                          through the BSD values 24, 28, 30)
  ipv4frag   SRC DST SERVER_PORT          split client data segments into IPv4
                                          fragments (1st: 3 frags in order,
                                          2nd: 2 frags, last fragment first)
  ipv6ext    SRC DST SERVER_PORT          rewrite client data segments #2..#4
                                          (fragment header, AH, RH0+atomic frag)
  wifi       SRC DST                      first TCP/IPv4 packet of SRC in an
                                          802.11 data frame, LINKTYPE 105
  truncate   SRC DST FRAME                cut the file in the middle of FRAME's data
  badcaplen  SRC DST FRAME                set FRAME's record caplen to 0x7fffffff
"""
import struct
import sys

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_IEEE802_11 = 105
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229


# --------------------------------------------------------------------------- pcap I/O
def read_pcap(path):
    """Return (linktype, snaplen, [(ts_sec, ts_frac, orig_len, data), ...])."""
    with open(path, "rb") as f:
        buf = f.read()
    magic = buf[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        raise SystemExit("%s: not a classic pcap file" % path)
    nsec = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    _, _, _, _, snaplen, linktype = struct.unpack(e + "HHiIII", buf[4:24])
    recs = []
    off = 24
    while off + 16 <= len(buf):
        sec, frac, incl, orig = struct.unpack(e + "IIII", buf[off:off + 16])
        data = buf[off + 16:off + 16 + incl]
        if nsec:
            frac //= 1000
        recs.append((sec, frac, orig, data))
        off += 16 + incl
    return linktype & 0xFFFF, snaplen, recs


def write_pcap(path, linktype, recs, snaplen=262144):
    """Little-endian, microsecond-resolution classic pcap (magic a1b2c3d4)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype))
        for sec, usec, orig, data in recs:
            f.write(struct.pack("<IIII", sec, usec, len(data), max(orig, len(data))))
            f.write(data)


def ip_of(linktype, data):
    """The IP packet carried by a frame of the given link type (None if not IP)."""
    if linktype in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6):
        return data
    if linktype == LINKTYPE_ETHERNET:
        et = struct.unpack("!H", data[12:14])[0]
        return data[14:] if et in (0x0800, 0x86DD) else None
    raise SystemExit("unsupported source link type %d" % linktype)


# --------------------------------------------------------------------------- reencap
def cmd_reencap(src, dst, linktype, which="all"):
    lt, _, recs = read_pcap(src)
    linktype = int(linktype)
    out = []
    af6 = [24, 28, 30]
    n6 = 0
    for sec, usec, orig, data in recs:
        ip = ip_of(lt, data)
        if not ip:
            continue
        ver = ip[0] >> 4
        if which == "v4" and ver != 4 or which == "v6" and ver != 6:
            continue
        hdr_delta = len(data) - len(ip)
        if linktype == LINKTYPE_NULL:
            if ver == 4:
                af = 2
            else:
                af = af6[n6 % 3]
                n6 += 1
            frame = struct.pack("<I", af) + ip     # host (little-endian) order
            out.append((sec, usec, orig - hdr_delta + 4, frame))
        elif linktype == 108:                       # LINKTYPE_LOOP (OpenBSD): network byte order
            af = 2 if ver == 4 else 24              # OpenBSD's AF_INET6 is 24
            frame = struct.pack(">I", af) + ip
            out.append((sec, usec, orig - hdr_delta + 4, frame))
        else:
            out.append((sec, usec, orig - hdr_delta, ip))
    write_pcap(dst, linktype, out)
    print("%s: %d frames, linktype %d" % (dst, len(out), linktype))


# --------------------------------------------------------------------------- ipv4frag
def ip_checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4_fragment(ip, cuts):
    """Split IPv4 packet `ip` at payload offsets `cuts` (multiples of 8)."""
    ihl = (ip[0] & 0x0F) * 4
    hdr, pl = bytearray(ip[:ihl]), ip[ihl:]
    bounds = [0] + list(cuts) + [len(pl)]
    frags = []
    for i in range(len(bounds) - 1):
        a, b = bounds[i], bounds[i + 1]
        assert a % 8 == 0
        h = bytearray(hdr)
        mf = 0x2000 if i < len(bounds) - 2 else 0
        struct.pack_into("!H", h, 2, ihl + b - a)
        struct.pack_into("!H", h, 6, mf | (a // 8))          # DF cleared
        struct.pack_into("!H", h, 10, 0)
        struct.pack_into("!H", h, 10, ip_checksum(bytes(h)))
        frags.append(bytes(h) + pl[a:b])
    return frags


def client_data_segments(lt, recs, server_port):
    """Indices of frames carrying TCP payload towards server_port (IPv4 or IPv6,
    TCP directly after the fixed header or after extension headers)."""
    idx = []
    for i, (_, _, _, data) in enumerate(recs):
        ip = ip_of(lt, data)
        if not ip:
            continue
        info = tcp_locate(ip)
        if info is None:
            continue
        toff, tlen = info
        dport = struct.unpack("!H", ip[toff + 2:toff + 4])[0]
        thl = (ip[toff + 12] >> 4) * 4
        if dport == server_port and tlen > thl:
            idx.append(i)
    return idx


def v6_chain(ip):
    """[(type, offset, length)] of the extension headers, and the upper-layer
    (proto, offset)."""
    nxt, off, chain = ip[6], 40, []
    for _ in range(16):
        if nxt in (0, 43, 60):
            ln = (ip[off + 1] + 1) * 8
        elif nxt == 44:
            ln = 8
        elif nxt == 51:
            ln = (ip[off + 1] + 2) * 4
        else:
            return chain, nxt, off
        chain.append((nxt, off, ln))
        nxt = ip[off]
        off += ln
    raise SystemExit("extension header chain too long")


def tcp_locate(ip):
    ver = ip[0] >> 4
    if ver == 4:
        if ip[9] != 6:
            return None
        ihl = (ip[0] & 0x0F) * 4
        return ihl, struct.unpack("!H", ip[2:4])[0] - ihl
    if ver == 6:
        _, nxt, off = v6_chain(ip)
        if nxt != 6:
            return None
        return off, 40 + struct.unpack("!H", ip[4:6])[0] - off
    return None


def cmd_ipv4frag(src, dst, server_port):
    lt, _, recs = read_pcap(src)
    segs = client_data_segments(lt, recs, int(server_port))
    if len(segs) < 2:
        raise SystemExit("need at least 2 client data segments, found %d" % len(segs))
    out = []
    for i, (sec, usec, orig, data) in enumerate(recs):
        if i not in segs[:2]:
            out.append((sec, usec, orig, data))
            continue
        l2, ip = data[:14], data[14:]
        if i == segs[0]:
            frags = ipv4_fragment(ip, [208, 416])
        else:
            frags = ipv4_fragment(ip, [320])[::-1]      # last fragment first
        for k, fr in enumerate(frags):
            out.append((sec, usec + k, len(l2) + len(fr), l2 + fr))
    write_pcap(dst, lt, out)
    print("%s: %d frames (segments %s fragmented)" % (dst, len(out), [s + 1 for s in segs[:2]]))


# --------------------------------------------------------------------------- ipv6ext
def ext(nxt_type, body):
    """Return a builder item: (header type, header bytes with placeholder nxt)."""
    return (nxt_type, bytearray(body))


def build_v6(fixed, items, upper_type, upper):
    """fixed: 40-byte IPv6 header; items: [(type, bytes)] in order; the next
    header fields are chained automatically."""
    h = bytearray(fixed)
    types = [t for t, _ in items] + [upper_type]
    h[6] = types[0]
    body = b""
    for k, (_, b) in enumerate(items):
        b = bytearray(b)
        b[0] = types[k + 1]
        body += bytes(b)
    body += upper
    struct.pack_into("!H", h, 4, len(body))
    return bytes(h) + body


def cmd_ipv6ext(src, dst, server_port):
    lt, _, recs = read_pcap(src)
    segs = client_data_segments(lt, recs, int(server_port))
    if len(segs) < 4:
        raise SystemExit("need 4 client data segments, found %d" % len(segs))
    out = []
    frag_id = 0x5A5A0001
    for i, (sec, usec, orig, data) in enumerate(recs):
        if i not in segs[1:4]:
            out.append((sec, usec, orig, data))
            continue
        l2, ip = data[:14], data[14:]
        chain, up, upoff = v6_chain(ip)
        # kernel chain is HBH(0), DST(60), RH(43), DST(60), TCP
        assert [t for t, _, _ in chain] == [0, 60, 43, 60] and up == 6, chain
        hbh, dst1, rh, dst2 = (ip[o:o + n] for _, o, n in chain)
        tcp = ip[upoff:]
        fixed = ip[:40]
        unfrag = [ext(0, hbh), ext(60, dst1), ext(43, rh)]
        if i == segs[1]:
            # Fragment header after the routing header; fragmentable part is
            # DST + TCP.  First fragment carries DST + TCP header + some data.
            fragmentable = dst2 + tcp
            cut = 200
            f1 = struct.pack("!BBHI", 0, 0, (0 << 3) | 1, frag_id)
            f2 = struct.pack("!BBHI", 0, 0, ((cut // 8) << 3) | 0, frag_id)
            p1 = build_v6(fixed, unfrag + [ext(44, f1)], 60, fragmentable[:cut])
            p2 = build_v6(fixed, unfrag + [ext(44, f2)], 60, fragmentable[cut:])
            new = [p1, p2]
        elif i == segs[2]:
            # AH (RFC 4302) between the routing header and the final DST:
            # next hdr, payload len = (12 + 12)/4 - 2 = 4, reserved, SPI, seq, ICV(12).
            ah = struct.pack("!BBHII", 0, 4, 0, 0x00001000, 1) + bytes(range(0xA0, 0xAC))
            new = [build_v6(fixed, unfrag + [ext(51, ah)] + [ext(60, dst2)], 6, tcp)]
        else:
            # Routing header type 0 (deprecated, segments left 0, one address)
            # followed by an atomic fragment header (offset 0, M=0).
            rh0 = struct.pack("!BBBBI", 0, 2, 0, 0, 0) + bytes.fromhex("20010db8ffff00000000000000000001")
            fr = struct.pack("!BBHI", 0, 0, 0, frag_id + 1)
            new = [build_v6(fixed, [ext(0, hbh), ext(43, rh0), ext(44, fr), ext(60, dst2)], 6, tcp)]
        for k, p in enumerate(new):
            out.append((sec, usec + k, len(l2) + len(p), l2 + p))
    write_pcap(dst, lt, out)
    print("%s: %d frames (rewrote segments %s)" % (dst, len(out), [s + 1 for s in segs[1:4]]))


# --------------------------------------------------------------------------- wifi
def cmd_wifi(src, dst):
    lt, _, recs = read_pcap(src)
    for sec, usec, orig, data in recs:
        ip = ip_of(lt, data)
        if ip and ip[0] >> 4 == 4 and ip[9] == 6:
            break
    else:
        raise SystemExit("no TCP/IPv4 frame in " + src)
    # 802.11 data frame, To-DS: addr1 = BSSID, addr2 = SA, addr3 = DA; no FCS.
    fc = struct.pack("<BB", 0x08, 0x01)
    mac = lambda s: bytes.fromhex(s.replace(":", ""))  # noqa: E731
    hdr = fc + struct.pack("<H", 0) + mac("02:00:00:00:aa:01") + mac("02:00:00:00:00:01") \
        + mac("02:00:00:00:00:02") + struct.pack("<H", 0x0010)
    llc_snap = bytes([0xAA, 0xAA, 0x03, 0, 0, 0]) + struct.pack("!H", 0x0800)
    frame = hdr + llc_snap + ip
    write_pcap(dst, LINKTYPE_IEEE802_11, [(sec, usec, len(frame), frame)])
    print("%s: 1 frame, linktype %d" % (dst, LINKTYPE_IEEE802_11))


# --------------------------------------------------------------------------- corruption
def record_offsets(path):
    with open(path, "rb") as f:
        buf = f.read()
    assert buf[:4] == b"\xd4\xc3\xb2\xa1", "expects little-endian usec pcap"
    offs, off = [], 24
    while off + 16 <= len(buf):
        incl = struct.unpack("<I", buf[off + 8:off + 12])[0]
        offs.append((off, incl))
        off += 16 + incl
    return buf, offs


def cmd_truncate(src, dst, frame):
    buf, offs = record_offsets(src)
    off, incl = offs[int(frame) - 1]
    cut = off + 16 + incl // 2
    with open(dst, "wb") as f:
        f.write(buf[:cut])
    print("%s: cut at byte %d, inside frame %s (record at %d, caplen %d)" % (dst, cut, frame, off, incl))


def cmd_badcaplen(src, dst, frame):
    buf, offs = record_offsets(src)
    off, _ = offs[int(frame) - 1]
    b = bytearray(buf)
    struct.pack_into("<I", b, off + 8, 0x7FFFFFFF)
    with open(dst, "wb") as f:
        f.write(b)
    print("%s: frame %s record header (offset %d) caplen := 0x7fffffff" % (dst, frame, off))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "linktype":
        print(read_pcap(args[0])[0])
        return
    fn = {"reencap": cmd_reencap, "ipv4frag": cmd_ipv4frag, "ipv6ext": cmd_ipv6ext,
          "wifi": cmd_wifi, "truncate": cmd_truncate, "badcaplen": cmd_badcaplen}.get(cmd)
    if fn is None:
        sys.exit(__doc__)
    fn(*args)


if __name__ == "__main__":
    main()
