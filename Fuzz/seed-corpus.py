#!/usr/bin/env python3
"""Writes each fuzz target's seed inputs from the committed captures and expectation files.

Real frames and files are far better starting points than random bytes. Output: Fuzz/corpus/<Target>/
(gitignored; rerun after changing captures). Formats are the targets' own (see their doc comments):
  FuzzDecoder       link index, wire-length mode, one frame            (every frame of every pcap)
  FuzzTracker       link index, configuration, records of (control, 2-byte length, frame)
  FuzzReporters     name length, name, two 8-byte times, then a FuzzTracker input
  FuzzCaptureFile   whole .pcap / .pcapng files, as they are
  FuzzPcapng        whole .pcapng files, as they are
  FuzzExpectations  whole .expect files, as they are
"""
import glob, os, struct, sys

# LINKTYPE -> index into LinkType.allCases (null, ethernet, raw, loop, linuxSLL, ipv4, ipv6, linuxSLL2, fddi)
LINKS = {0: 0, 1: 1, 101: 2, 12: 2, 14: 2, 108: 3, 113: 4, 228: 5, 229: 6, 276: 7, 10: 8}
root = os.path.dirname(os.path.abspath(__file__))
repo = os.path.dirname(root)
out = os.path.join(root, "corpus")


def files(*patterns):
    return sorted(p for pat in patterns for p in glob.glob(os.path.join(repo, pat)))


def write(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def pcap_frames(data):
    """(link, [(time_ns, caplen, wirelen, bytes)]) of a classic pcap, or None."""
    if len(data) < 24:
        return None
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xa1b2c3d4, 0xa1b23c4d):
        endian = "<"
    elif magic in (0xd4c3b2a1, 0x4d3cb2a1):
        endian = ">"
    else:
        return None
    nano = magic in (0xa1b23c4d, 0x4d3cb2a1)
    link = struct.unpack(endian + "I", data[20:24])[0] & 0xffff
    frames, off = [], 24
    while off + 16 <= len(data):
        sec, frac, caplen, wirelen = struct.unpack(endian + "IIII", data[off:off + 16])
        frames.append((sec * 10**9 + (frac if nano else frac * 1000), caplen, wirelen, data[off + 16:off + 16 + caplen]))
        off += 16 + caplen
    return link, frames


def control(delta):
    """The FrameScript clock move closest to a real gap between frames."""
    if delta == 0:
        return 0
    if delta < 0:
        return 5
    if delta < 500_000_000:
        return 1
    if delta < 30 * 10**9:
        return 2
    return 3


def script(link_index, config, frames):
    blob = bytearray([link_index, config])
    last = frames[0][0] if frames else 0
    for t, caplen, wirelen, frame in frames:
        c = control(t - last) | (8 if wirelen > caplen else 0)
        last = t
        blob += bytes([c]) + struct.pack(">H", len(frame)) + frame
    return bytes(blob)


captures = files("Captures/*.pcap", "Captures/*.pcapng", "Tests/Fixtures/*/*.pcap", "Tests/Fixtures/*/*.pcapng")
for path in captures:
    base = os.path.basename(path)
    data = open(path, "rb").read()
    write("FuzzCaptureFile", base, data)
    if path.endswith(".pcapng"):
        write("FuzzPcapng", base, data)
    parsed = pcap_frames(data)
    if not parsed or parsed[0] not in LINKS:
        continue
    link, frames = parsed
    index = LINKS[link]
    for n, (_, caplen, wirelen, frame) in enumerate(frames):
        write("FuzzDecoder", f"{base}.{n + 1}", bytes([index, 1 if wirelen > caplen else 0]) + frame)
    for config in (0, 1, 2):
        write("FuzzTracker", f"{base}.c{config}", script(index, config, frames))
    name = base.encode()
    write("FuzzReporters", base, bytes([len(name)]) + name + struct.pack("<qq", 1_700_000_000_123_456_789, 1_700_000_000 * 10**9)
          + script(index, 2, frames))

for path in files("Captures/*.expect", "Tests/Fixtures/*/*.expect", "docs/expectations.md"):
    write("FuzzExpectations", os.path.basename(path), open(path, "rb").read())

for target in sorted(os.listdir(out)):
    print(f"{target}: {len(os.listdir(os.path.join(out, target)))} seeds", file=sys.stderr)
