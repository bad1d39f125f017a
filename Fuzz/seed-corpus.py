#!/usr/bin/env python3
"""Writes fuzz seed inputs from the committed captures: link type byte + length-prefixed frames."""
import os, struct, sys, glob

LINKS = {0: 0, 1: 1, 101: 2, 12: 2, 108: 3, 113: 4, 228: 5, 229: 6, 276: 7, 10: 8}  # index into LinkType.allCases
root = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(root, "corpus")
os.makedirs(out, exist_ok=True)
paths = glob.glob(os.path.join(root, "..", "Captures", "*.pcap")) + glob.glob(os.path.join(root, "..", "Tests", "Fixtures", "decoder", "*.pcap"))
for path in sorted(paths):
    data = open(path, "rb").read()
    if len(data) < 24:
        continue
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    link = struct.unpack(endian + "I", data[20:24])[0]
    if link not in LINKS:
        continue
    blob = bytearray([LINKS[link]])
    off = 24
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        frame = data[off + 16: off + 16 + caplen]
        blob += struct.pack(">H", len(frame)) + frame
        off += 16 + caplen
    with open(os.path.join(out, os.path.basename(path) + ".bin"), "wb") as f:
        f.write(blob)
print("seeds written to", out, file=sys.stderr)
