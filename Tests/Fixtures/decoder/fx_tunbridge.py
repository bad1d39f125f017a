#!/usr/bin/python3
"""Create tun device NAME_A in namespace NS_A and NAME_B in NS_B and shuttle IP
packets between them, so two real kernel stacks talk over a point-to-point
link whose capture link type is LINKTYPE_RAW.

usage: fx_tunbridge.py NS_A NAME_A NS_B NAME_B SECONDS
Runs at most SECONDS, or until SIGTERM/SIGINT.  The tun devices disappear when
this process exits.
"""
import ctypes
import fcntl
import os
import select
import signal
import struct
import sys
import time

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000

libc = ctypes.CDLL(None, use_errno=True)


def open_tun_in(ns, name):
    nsfd = os.open("/run/netns/" + ns, os.O_RDONLY)
    if libc.setns(nsfd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns " + ns)
    os.close(nsfd)
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    ns_a, name_a, ns_b, name_b, secs = sys.argv[1:]
    fa = open_tun_in(ns_a, name_a)
    fb = open_tun_in(ns_b, name_b)
    print("ready", flush=True)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    deadline = time.monotonic() + float(secs)
    peer = {fa: fb, fb: fa}
    while not stop and time.monotonic() < deadline:
        try:
            r, _, _ = select.select([fa, fb], [], [], 0.2)
        except InterruptedError:
            continue
        for fd in r:
            pkt = os.read(fd, 65536)
            if pkt:
                os.write(peer[fd], pkt)
    os.close(fa)
    os.close(fb)


if __name__ == "__main__":
    main()
