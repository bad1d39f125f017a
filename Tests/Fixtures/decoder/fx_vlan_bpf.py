#!/usr/bin/python3
"""Attach tiny hand-assembled eBPF programs to a device's TCX hooks so the
kernel itself pushes 802.1Q / 802.1ad tags on egress and pops them on ingress.

Why: the test kernel is built without CONFIG_VLAN_8021Q (no `ip link ... type
vlan`), without act_vlan and without bridge VLAN filtering.  bpf_skb_vlan_push
and bpf_skb_vlan_pop are the same kernel helpers act_vlan uses, so the frames
are still tagged by the real kernel datapath (no userspace packet editing).

Must run inside the target network namespace (`ip netns exec NS ...`): the
ifindex is resolved in the caller's namespace.  The attachment lives until the
device is deleted (i.e. until the namespace is deleted); no process is kept.

usage: fx_vlan_bpf.py IFACE push PROTO:VID [PROTO:VID ...]   (egress, applied in order)
       fx_vlan_bpf.py IFACE pop N                             (ingress, pop N tags)
PROTO is 8100 or 88a8.  For QinQ push the inner tag first, then the outer one
(the kernel moves an already present tag into the payload on the second push).
"""
import ctypes
import os
import socket
import struct
import sys

SYS_bpf = 321                      # x86_64
BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_TYPE_SCHED_CLS = 3
BPF_TCX_INGRESS = 46
BPF_TCX_EGRESS = 47
FN_skb_vlan_push = 18
FN_skb_vlan_pop = 19

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def insn(code, dst=0, src=0, off=0, imm=0):
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def mov64_reg(dst, src):
    return insn(0xBF, dst, src)


def mov64_imm(dst, imm):
    return insn(0xB7, dst, 0, 0, imm)


def call(fn):
    return insn(0x85, 0, 0, 0, fn)


EXIT = insn(0x95)


def bpf(cmd, attr: bytes):
    buf = ctypes.create_string_buffer(attr, 128)
    r = libc.syscall(SYS_bpf, cmd, buf, 128)
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, "bpf(%d): %s" % (cmd, os.strerror(e)))
    return r


def load(prog: bytes, name: bytes) -> int:
    insns = ctypes.create_string_buffer(prog, len(prog))
    lic = ctypes.create_string_buffer(b"GPL")
    log = ctypes.create_string_buffer(65536)
    attr = struct.pack("<IIQQIIQII16s",
                       BPF_PROG_TYPE_SCHED_CLS, len(prog) // 8,
                       ctypes.addressof(insns), ctypes.addressof(lic),
                       1, len(log), ctypes.addressof(log), 0, 0, name[:15])
    try:
        return bpf(BPF_PROG_LOAD, attr)
    except OSError:
        sys.stderr.write(log.value.decode(errors="replace"))
        raise


def attach(ifindex: int, prog_fd: int, attach_type: int):
    attr = struct.pack("<IIII", ifindex, prog_fd, attach_type, 0)
    bpf(BPF_PROG_ATTACH, attr)


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    ifname, mode = argv[1], argv[2]
    ifindex = socket.if_nametoindex(ifname)
    prog = mov64_reg(6, 1)                       # r6 = skb (r1-r5 clobbered by calls)
    if mode == "push":
        for spec in argv[3:]:
            proto, vid = spec.split(":")
            be_proto = socket.htons(int(proto, 16))  # helper wants __be16
            prog += mov64_reg(1, 6) + mov64_imm(2, be_proto) + mov64_imm(3, int(vid)) + call(FN_skb_vlan_push)
        where = BPF_TCX_EGRESS
    elif mode == "pop":
        for _ in range(int(argv[3])):
            prog += mov64_reg(1, 6) + call(FN_skb_vlan_pop)
        where = BPF_TCX_INGRESS
    else:
        sys.exit(__doc__)
    prog += mov64_imm(0, 0) + EXIT               # TCX_PASS / TC_ACT_OK
    fd = load(prog, b"wsfx_vlan_" + mode.encode())
    attach(ifindex, fd, where)
    print("attached %s %s on %s (ifindex %d)" % (mode, " ".join(argv[3:]), ifname, ifindex))


if __name__ == "__main__":
    main(sys.argv)
