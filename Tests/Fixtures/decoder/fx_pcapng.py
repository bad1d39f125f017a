#!/usr/bin/python3
"""multi-interface.pcapng: three real recordings of the decoder fixtures, each on its own
interface with its own link type, snapshot length and timestamp resolution — the file libpcap
1.10 refuses (one link type and snaplen per file) and Wireshark writes when capturing on several
interfaces. Packets are merged in time order; name-resolution and statistics blocks sit between them.

    fx_pcapng.py OUT.pcapng
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fx_pcap import read_pcap  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def block(btype, body):
    body += b"\0" * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def option(code, value):
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


# (source, LINKTYPE, snaplen, if_tsresol byte, if_tsoffset seconds)
INTERFACES = [
    ("eth.pcap", 1, 262144, None, 0),             # default microseconds
    ("raw.pcap", 101, 96, 9, 0),                  # nanoseconds, headers-only snaplen
    ("sll.pcap", 113, 128, 0x80 | 20, 1000),      # 2^-20 s, timestamps relative to an offset
]


def main():
    out = sys.argv[1]
    packets = []
    for idx, (src, lt, snap, tsresol, tsoff) in enumerate(INTERFACES):
        flt, _, recs = read_pcap(os.path.join(HERE, src))
        assert flt == lt, (src, flt)
        base = recs[0][0]
        for sec, usec, orig, data in recs:
            # Each recording replayed from t = 1 700 000 000 s + idx ms, so they interleave.
            t_ns = (1_700_000_000 + sec - base) * 10**9 + usec * 1000 + idx * 1_000_000
            packets.append((t_ns, idx, orig, data[:snap]))
    packets.sort(key=lambda p: (p[0], p[1]))
    f = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + option(4, b"fx_pcapng.py") + option(0, b""))
    for src, lt, snap, tsresol, tsoff in INTERFACES:
        opts = option(2, src.encode())
        if tsresol is not None:
            opts += option(9, bytes([tsresol]))
        if tsoff:
            opts += option(14, struct.pack("<q", tsoff))
        f += block(1, struct.pack("<HHI", lt, 0, snap) + opts + option(0, b""))
    # Name resolution block (IPv4 record 10.0.0.2 = "server"): skipped by length.
    f += block(4, struct.pack("<HH4s", 1, 11, bytes([10, 0, 0, 2])) + b"server\0" + b"\0" + struct.pack("<HH", 0, 0))
    for n, (t_ns, idx, orig, data) in enumerate(packets):
        _, _, _, tsresol, tsoff = INTERFACES[idx]
        secs = t_ns / 1e9 - tsoff
        if tsresol is None:
            units = (t_ns - tsoff * 10**9) // 1000
        elif tsresol & 0x80:
            units = ((t_ns - tsoff * 10**9) << (tsresol & 0x7F)) // 10**9
        else:
            units = (t_ns - tsoff * 10**9) * 10**(tsresol - 9)
        f += block(6, struct.pack("<IIIII", idx, units >> 32, units & 0xFFFFFFFF, len(data), orig) + data)
        if n == 5:
            f += block(5, struct.pack("<III", 0, 0, 0))          # interface statistics: skipped
    with open(out, "wb") as fh:
        fh.write(f)
    print("%s: %d packets on %d interfaces, %d bytes" % (out, len(packets), len(INTERFACES), len(f)))


if __name__ == "__main__":
    main()
