#!/usr/bin/env python3
"""Writes extreme-times.pcapng: one TCP handshake whose frames sit at both ends of the time range.

Two Ethernet interfaces (same link type and snapshot length, so libpcap reads the file): the first
has no timestamp offset, the second an if_tsoffset of -2^62 seconds. Frame 1 (SYN, interface 1) is
at the most negative time libpcap can give, frame 2 (SYN+ACK, interface 0) at the largest 64-bit
timestamp, frame 3 (ACK) back at the bottom, and frame 4 (RST) at the top. The file is a
regression input: differences of such times overflowed 64-bit nanoseconds and trapped.
"""
import struct, sys

def block(btype, body):
    body += b"\0" * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)

def option(code, value):
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)

def csum(data):
    if len(data) % 2: data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16: s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

def frame(src, dst, sport, dport, seq, ack, flags):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0, bytes(src), bytes(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    pseudo = bytes(src) + bytes(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    return b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00" + ip + tcp

def epb(interface, ts, data):
    return block(6, struct.pack("<IIIII", interface, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data)) + data)

a, b = [10, 0, 0, 1], [10, 0, 0, 2]
out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
out += block(1, struct.pack("<HHI", 1, 0, 65535) + option(9, b"\x09") + option(0, b""))
out += block(1, struct.pack("<HHI", 1, 0, 65535) + option(9, b"\x09") + option(14, struct.pack("<q", -(1 << 62))) + option(0, b""))
top = (1 << 64) - 1
out += epb(1, 0, frame(a, b, 40000, 80, 1000, 0, 0x02))
out += epb(0, top, frame(b, a, 80, 40000, 5000, 1001, 0x12))
out += epb(1, 0, frame(a, b, 40000, 80, 1001, 5001, 0x10))
out += epb(0, top, frame(a, b, 40000, 80, 1001, 5001, 0x14))
sys.stdout.buffer.write(out)
