#!/usr/bin/python3
"""Tunnel and provider-link-layer fixtures: real recorded TCP conversations (eth.pcap: IPv4 over
Ethernet, ipv6.pcap: raw IPv6, both recorded by make-fixtures.sh) wrapped byte-wise in each
encapsulation (stdlib only). The inner frames are unchanged; only outer headers are added, so
tshark's dissection of the inner TCP is the oracle (make-tunnel-fixtures.sh).

    fx_tunnels.py OUTDIR        write every NAME.pcap below into OUTDIR
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fx_pcap import read_pcap, write_pcap, ip_checksum  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MAC_A, MAC_B = bytes.fromhex("020000000a01"), bytes.fromhex("020000000a02")   # outer (provider) MACs
BMAC_A, BMAC_B = bytes.fromhex("020000000b01"), bytes.fromhex("020000000b02")
OUT4_A, OUT4_B = bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2])                   # outer IPv4 (TEST-NET-1)
OUT6_A = bytes.fromhex("20010db8000000000000000000000001")                    # outer IPv6 (documentation)
OUT6_B = bytes.fromhex("20010db8000000000000000000000002")


def eth(dst, src, etype, payload):
    return dst + src + struct.pack("!H", etype) + payload


def v4(src, dst, proto, payload, ident=0x4242):
    h = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, 64, proto, 0, src, dst))
    struct.pack_into("!H", h, 10, ip_checksum(bytes(h)))
    return bytes(h) + payload


def v6(src, dst, nxt, payload):
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), nxt, 64, src, dst) + payload


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload   # checksum 0: none


def forward(inner_src_is_a):
    """Outer addresses follow the inner direction, so replies travel B → A like real tunnels."""
    return (OUT4_A, OUT4_B) if inner_src_is_a else (OUT4_B, OUT4_A)


def load(name):
    lt, _, recs = read_pcap(os.path.join(HERE, name))
    return lt, recs


def frames_eth():
    """eth.pcap: whole Ethernet frames (ARP, UDP/ICMP probe, the TCP conversation)."""
    _, recs = load("eth.pcap")
    return recs


def frames_ip():
    """IP packets of eth.pcap (v4) and ipv6.pcap (v6), in time order of each file."""
    out = []
    for name in ("eth.pcap", "ipv6.pcap"):
        lt, recs = load(name)
        for sec, usec, orig, data in recs:
            ip = data[14:] if lt == 1 else data
            if lt == 1 and struct.unpack("!H", data[12:14])[0] not in (0x0800, 0x86DD):
                continue
            out.append((sec, usec, ip))
    return out


def from_a(frame_or_ip, is_eth):
    """Whether the inner packet was sent by the client side (10.0.0.1 / fd00:1::1 / its MAC)."""
    if is_eth:
        return frame_or_ip[6:12] == bytes.fromhex("020000000001")
    ip = frame_or_ip
    if ip[0] >> 4 == 4:
        return ip[12:16] == bytes([10, 0, 0, 1]) or ip[12:16] == bytes([10, 1, 0, 1])
    return ip[8:24].endswith(b"\x00\x01")


def ether_of_ip(ip):
    return eth(bytes.fromhex("020000000002"), bytes.fromhex("020000000001"), 0x0800 if ip[0] >> 4 == 4 else 0x86DD, ip)


def build(out, name, linktype, recs):
    write_pcap(os.path.join(out, name + ".pcap"), linktype, [(s, u, len(d), d) for s, u, d in recs])
    print("%s.pcap: %d frames" % (name, len(recs)))


# ------------------------------------------------------------------ link level
def pbb(out):
    recs = []
    for sec, usec, orig, f in frames_eth():
        itag = struct.pack("!I", 0x00123456)                       # I-PCP 0, I-SID 0x123456
        btag = struct.pack("!HH", 0x88A8, 100)                      # B-tag, B-VID 100
        recs.append((sec, usec, BMAC_B + BMAC_A + btag + struct.pack("!H", 0x88E7) + itag + f))
    build(out, "tun-pbb", 1, recs)


def mpls_entry(label, s, ttl=64):
    return struct.pack("!I", label << 12 | (1 if s else 0) << 8 | ttl)


def mpls(out):
    """Two-label stack over IP (both families), then an Ethernet pseudowire with control word."""
    recs = []
    for sec, usec, ip in frames_ip():
        recs.append((sec, usec, eth(MAC_B, MAC_A, 0x8847, mpls_entry(1000, False) + mpls_entry(2000, True) + ip)))
    build(out, "tun-mpls", 1, recs)
    recs = []
    for sec, usec, orig, f in frames_eth():
        cw = struct.pack("!I", 0)                                   # RFC 4385 control word, sequence 0
        recs.append((sec, usec, eth(MAC_B, MAC_A, 0x8847, mpls_entry(3000, False) + mpls_entry(77, True) + cw + f)))
    build(out, "tun-mpls-pw", 1, recs)


def pppoe(out):
    """PPPoE session 0x1234 over QinQ (S-tag 10, C-tag 20), IPv4 and IPv6 in PPP."""
    recs = []
    for sec, usec, ip in frames_ip():
        proto = 0x0021 if ip[0] >> 4 == 4 else 0x0057
        body = struct.pack("!BBHHH", 0x11, 0, 0x1234, 2 + len(ip), proto) + ip
        tags = struct.pack("!HHHH", 0x88A8, 10, 0x8100, 20)
        recs.append((sec, usec, MAC_B + MAC_A + tags + struct.pack("!H", 0x8864) + body))
    build(out, "tun-pppoe", 1, recs)


def llc_fddi(out):
    """802.3 length + LLC/SNAP on Ethernet, and FDDI (LINKTYPE 10) with LLC/SNAP."""
    recs, fddi = [], []
    for sec, usec, ip in frames_ip():
        etype = 0x0800 if ip[0] >> 4 == 4 else 0x86DD
        snap = bytes([0xAA, 0xAA, 0x03, 0, 0, 0]) + struct.pack("!H", etype) + ip
        if len(snap) <= 1500:
            recs.append((sec, usec, MAC_B + MAC_A + struct.pack("!H", len(snap)) + snap))
        fddi.append((sec, usec, bytes([0x50]) + MAC_B + MAC_A + snap))
    build(out, "tun-llc-snap", 1, recs)
    build(out, "fddi", 10, fddi)


# ------------------------------------------------------------------ IP in IP
def ipip(out):
    """Cross-family 4in6 and 6in4 (proto 41) in tun-ipip; same-family 4in4 and 6in6 in
    tun-ipip-same. Each conversation keeps one outer address pair, as a configured tunnel does."""
    for name, cross in (("tun-ipip", True), ("tun-ipip-same", False)):
        recs = []
        for sec, usec, ip in frames_ip():
            inner4 = ip[0] >> 4 == 4
            proto = 4 if inner4 else 41
            a = from_a(ip, False)
            if inner4 != cross:   # outer IPv4
                s, d = forward(a)
                recs.append((sec, usec, eth(MAC_B, MAC_A, 0x0800, v4(s, d, proto, ip))))
            else:
                s, d = (OUT6_A, OUT6_B) if a else (OUT6_B, OUT6_A)
                recs.append((sec, usec, eth(MAC_B, MAC_A, 0x86DD, v6(s, d, proto, ip))))
        build(out, name, 1, recs)


# ------------------------------------------------------------------ GRE
def gre_header(ptype, csum=False, key=None, seq=None):
    flags = (0x8000 if csum else 0) | (0x2000 if key is not None else 0) | (0x1000 if seq is not None else 0)
    h = struct.pack("!HH", flags, ptype)
    if csum:
        h += struct.pack("!HH", 0, 0)
    if key is not None:
        h += struct.pack("!I", key)
    if seq is not None:
        h += struct.pack("!I", seq)
    return h


def gre(out):
    """GRE with checksum+key+sequence over IP (keys differ by direction, as Linux ikey/okey may),
    GRE transparent Ethernet bridging, and one PPTP (version 1) packet that must be counted."""
    recs = []
    for i, (sec, usec, ip) in enumerate(frames_ip()):
        a = from_a(ip, False)
        ptype = 0x0800 if ip[0] >> 4 == 4 else 0x86DD
        g = gre_header(ptype, csum=True, key=7 if a else 8, seq=i)
        s, d = forward(a)
        recs.append((sec, usec, eth(MAC_B, MAC_A, 0x0800, v4(s, d, 47, g + ip))))
    sec, usec, _ = recs[-1]
    pptp = struct.pack("!HHHHI", 0x3001, 0x880B, 4, 0x0005, 1) + b"\xff\x03\x00\x21" + b"\x00" * 0
    recs.append((sec, usec + 1, eth(MAC_B, MAC_A, 0x0800, v4(OUT4_A, OUT4_B, 47, pptp))))
    build(out, "tun-gre", 1, recs)
    recs = []
    for i, (sec, usec, orig, f) in enumerate(frames_eth()):
        s, d = forward(from_a(f, True))
        recs.append((sec, usec, eth(MAC_B, MAC_A, 0x0800, v4(s, d, 47, gre_header(0x6558, key=0x00002A00) + f))))
    build(out, "tun-gre-teb", 1, recs)


def erspan(out):
    """ERSPAN II and III (with and without the platform sub-header) from one mirror session (5),
    mixed in one conversation; type I (no GRE flags, no header, no session) in tun-erspan-type1."""
    recs, type1 = [], []
    for i, (sec, usec, orig, f) in enumerate(frames_eth()):
        kind = i % 3
        if kind == 0:
            g = gre_header(0x88BE, seq=i) + struct.pack("!HHI", 0x1000 | 0, 5, 0)          # ver 1, session 5
        else:
            o = 1 if kind == 2 else 0
            hdr = struct.pack("!HHIHH", 0x2000, 5, 123456, 0, o)                         # ver 2, session 5
            if o:
                hdr += struct.pack("!II", 0x08000000, 0)                                 # platform sub-header
            g = gre_header(0x22EB, seq=i) + hdr
        recs.append((sec, usec, eth(MAC_B, MAC_A, 0x0800, v4(OUT4_A, OUT4_B, 47, g + f))))
        type1.append((sec, usec, eth(MAC_B, MAC_A, 0x0800, v4(OUT4_A, OUT4_B, 47, gre_header(0x88BE) + f))))
    build(out, "tun-erspan", 1, recs)
    build(out, "tun-erspan-type1", 1, type1)


# ------------------------------------------------------------------ UDP tunnels
def vxlan_hdr(vni):
    return struct.pack("!II", 0x08000000, vni << 8)


def vxlan_two_vnis(out):
    """The same real conversation in VNI 42 and VNI 43 (overlapping inner addresses and ports),
    interleaved: two connections, not one. Outer source ports vary per packet (ECMP hashing)."""
    recs = []
    for i, (sec, usec, orig, f) in enumerate(frames_eth()):
        s, d = forward(from_a(f, True))
        for vni, delta in ((42, 0), (43, 5)):
            sport = 49152 + (i * 7 + vni) % 1000
            recs.append((sec, usec + delta, eth(MAC_B, MAC_A, 0x0800, v4(s, d, 17, udp(sport, 4789, vxlan_hdr(vni) + f)))))
    build(out, "tun-vxlan-two-vnis", 1, recs)


def geneve(out):
    """Geneve VNI 0x123 with 8 bytes of options (Ethernet payload), and VNI 0x124 carrying IP directly."""
    recs = []
    for i, (sec, usec, orig, f) in enumerate(frames_eth()):
        s, d = forward(from_a(f, True))
        opt = struct.pack("!HBB", 0x0102, 0x80, 1) + b"\x11\x22\x33\x44"               # class, type, len 1 word
        g = struct.pack("!BBHI", 2, 0, 0x6558, 0x123 << 8) + opt
        recs.append((sec, usec, eth(MAC_B, MAC_A, 0x0800, v4(s, d, 17, udp(50000 + i, 6081, g + f)))))
    for sec, usec, ip in frames_ip()[-6:]:
        s, d = forward(from_a(ip, False))
        g = struct.pack("!BBHI", 0, 0, 0x0800 if ip[0] >> 4 == 4 else 0x86DD, 0x124 << 8)
        recs.append((sec, usec + 2, eth(MAC_B, MAC_A, 0x0800, v4(s, d, 17, udp(50100, 6081, g + ip)))))
    build(out, "tun-geneve", 1, recs)


def gtpu(out):
    """GTP-U G-PDUs: uplink TEID 0x1001, downlink 0x2002 (the receiver's, so they differ), with a
    sequence number and a PDU session container extension on every other packet; one echo request."""
    recs = []
    for i, (sec, usec, ip) in enumerate(frames_ip()):
        a = from_a(ip, False)
        teid = 0x1001 if a else 0x2002
        if i % 2:
            ext = struct.pack("!BBBB", 1, 0x10 if a else 0x00, 9, 0)                       # 5G PDU session container
            body = struct.pack("!HBB", i, 0, 0x85) + ext + ip
            h = struct.pack("!BBHI", 0x36, 255, len(body), teid) + body                     # E and S set
        else:
            h = struct.pack("!BBHI", 0x30, 255, len(ip), teid) + ip
        s, d = forward(a)
        recs.append((sec, usec, eth(MAC_B, MAC_A, 0x0800, v4(s, d, 17, udp(2152, 2152, h)))))
    sec, usec, _ = recs[0]
    echo = struct.pack("!BBHIHBB", 0x32, 1, 4, 0, 1, 0, 0)
    recs.insert(0, (sec, usec, eth(MAC_B, MAC_A, 0x0800, v4(OUT4_A, OUT4_B, 17, udp(2152, 2152, echo)))))
    build(out, "tun-gtpu", 1, recs)


def teredo(out):
    """Teredo (UDP 3544) carrying the real IPv6 conversation; the first packet has an
    authentication header, the server's replies an origin indication."""
    recs = []
    _, v6recs = load("ipv6.pcap")
    for i, (sec, usec, orig, ip) in enumerate(v6recs):
        a = from_a(ip, False)
        pre = b""
        if i == 0:
            pre = struct.pack("!HBB", 0x0001, 0, 0) + b"\x01" * 8 + b"\x00"                 # auth: no id/value
        if not a:
            pre += struct.pack("!HH4s", 0x0000, 40000 ^ 0xFFFF, bytes(b ^ 0xFF for b in OUT4_A))
        s, d = forward(a)
        sp, dp = (40000, 3544) if a else (3544, 40000)
        recs.append((sec, usec, eth(MAC_B, MAC_A, 0x0800, v4(s, d, 17, udp(sp, dp, pre + ip)))))
    build(out, "tun-teredo", 1, recs)


def ayiya(out):
    """AYIYA (UDP 5072): 16-byte identity (IDLen 4), SHA-1 signature (SigLen 5), forward opcode."""
    recs = []
    _, v6recs = load("ipv6.pcap")
    for sec, usec, orig, ip in v6recs:
        a = from_a(ip, False)
        hdr = struct.pack("!BBBBI", 0x41, 0x52, 0x11, 41, sec) + OUT6_A + b"\x5a" * 20
        s, d = forward(a)
        sp, dp = (40001, 5072) if a else (5072, 40001)
        recs.append((sec, usec, eth(MAC_B, MAC_A, 0x0800, v4(s, d, 17, udp(sp, dp, hdr + ip)))))
    build(out, "tun-ayiya", 1, recs)


def nested(out):
    """VLAN 100 → MPLS (label 16) → IPv4 → GRE (key 9) → Ethernet → IPv6 → TCP."""
    recs = []
    _, v6recs = load("ipv6.pcap")
    for sec, usec, orig, ip in v6recs:
        inner = ether_of_ip(ip)
        s, d = forward(from_a(ip, False))
        o = v4(s, d, 47, gre_header(0x6558, key=9) + inner)
        frame = MAC_B + MAC_A + struct.pack("!HHH", 0x8100, 100, 0x8847) + mpls_entry(16, True) + o
        recs.append((sec, usec, frame))
    build(out, "tun-nested", 1, recs)


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    out = sys.argv[1]
    for f in (pbb, mpls, pppoe, llc_fddi, ipip, gre, erspan, vxlan_two_vnis, geneve, gtpu, teredo, ayiya, nested):
        f(out)


if __name__ == "__main__":
    main()
