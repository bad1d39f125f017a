#!/usr/bin/python3
"""Traffic generators for the decoder fixtures.  Each subcommand is run inside
a network namespace by make-fixtures.sh (`ip netns exec NS fx_traffic.py ...`).
Every socket operation has a timeout and every loop is bounded.

  server     kernel TCP server: accept N connections, reply once, close on EOF
  client     kernel TCP client (optional UDP probe, IP options, IPv6 ext hdrs,
             MSG_OOB urgent byte, TCP Fast Open)
  txcsum-off disable TX checksum offload on an interface (ethtool -K IF tx off)
  sackpeer   raw-socket (scapy-built) TCP client that sends segments out of
             order, CE-marks one and sets CWR on another, so the *kernel*
             server answers with SACK blocks and ECE
"""
import argparse
import os
import select
import socket
import struct
import sys
import time

TCP_FASTOPEN = 23
MSG_FASTOPEN = 0x20000000
IPV6_HOPOPTS = 54
IPV6_RTHDRDSTOPTS = 55
IPV6_RTHDR = 57
IPV6_DSTOPTS = 59


def log(*a):
    print("[%s]" % sys.argv[1], *a, file=sys.stderr, flush=True)


def fam(v):
    return socket.AF_INET6 if str(v) == "6" else socket.AF_INET


def payload(n, tag=b"wirestate-fixture "):
    return (tag * (n // len(tag) + 1))[:n]


# --------------------------------------------------------------------------- server
def cmd_server(a):
    deadline = time.monotonic() + a.timeout
    s = socket.socket(fam(a.family), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if a.tfo:
        s.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN, 16)
    s.bind((a.addr, a.port))
    s.listen(8)
    s.settimeout(1.0)
    if a.ready:
        with open(a.ready, "w") as f:
            f.write("ready\n")
    done = 0
    while done < a.conns and time.monotonic() < deadline:
        try:
            c, peer = s.accept()
        except socket.timeout:
            continue
        log("accepted", peer)
        c.settimeout(max(0.5, min(5.0, deadline - time.monotonic())))
        replied = False
        got = 0
        for _ in range(10000):                       # bounded read loop
            try:
                d = c.recv(65536)
            except socket.timeout:
                log("recv timeout")
                break
            except ConnectionResetError:
                break
            if not d:
                break
            got += len(d)
            if not replied and a.reply and got >= a.reply_after:
                c.sendall(payload(a.reply, b"server-reply "))
                replied = True
        log("conn done, received", got)
        c.close()
        done += 1
    s.close()


# --------------------------------------------------------------------------- client
def v6_ext_options(dst):
    # Hop-by-hop: experimental option type 0x1e (action bits 00 = skip if unknown),
    # 2 data bytes, then PadN(0) -> 8 bytes.  Next-header byte is filled by kernel.
    hbh = bytes([0, 0, 0x1E, 2, 0xAB, 0xCD, 1, 0])
    # Destination options before the routing header: PadN(4) -> 8 bytes.
    rtdst = bytes([0, 0, 1, 4, 0, 0, 0, 0])
    # Segment Routing Header (routing type 4), segments_left 0, last_entry 0,
    # one segment = the final destination -> 24 bytes (hdrlen 2).
    srh = bytes([0, 2, 4, 0, 0, 0, 0, 0]) + socket.inet_pton(socket.AF_INET6, dst)
    # Destination options after the routing header: PadN(4) -> 8 bytes.
    dst_opts = bytes([0, 0, 1, 4, 0, 0, 0, 0])
    return [(IPV6_HOPOPTS, hbh), (IPV6_RTHDRDSTOPTS, rtdst), (IPV6_RTHDR, srh), (IPV6_DSTOPTS, dst_opts)]


def recv_exact(sock, n, deadline):
    got = 0
    for _ in range(10000):
        if got >= n or time.monotonic() > deadline:
            break
        try:
            d = sock.recv(65536)
        except socket.timeout:
            break
        if not d:
            break
        got += len(d)
    return got


def cmd_client(a):
    deadline = time.monotonic() + a.timeout
    f = fam(a.family)
    if a.udp_probe:
        # A datagram to a closed port: the peer kernel answers ICMP(v6) port unreachable.
        u = socket.socket(f, socket.SOCK_DGRAM)
        u.sendto(b"udp-probe", (a.addr, a.udp_probe))
        u.close()
        time.sleep(0.2)
    chunks = [int(x) for x in a.chunks.split(",")] if a.chunks else []
    for conn in range(a.repeat):
        s = socket.socket(f, socket.SOCK_STREAM)
        s.settimeout(3.0)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if a.nodelay:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if a.ipopts:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, bytes.fromhex(a.ipopts))
        if a.v6ext:
            for opt, val in v6_ext_options(a.addr):
                s.setsockopt(socket.IPPROTO_IPV6, opt, val)
        if a.bind_port:
            s.bind((a.bind_addr or ("::" if f == socket.AF_INET6 else "0.0.0.0"), a.bind_port + conn))
        first = chunks[0] if chunks else 0
        rest = chunks[1:]
        if a.tfo:
            # sendto(MSG_FASTOPEN) performs connect + send; with a cached cookie
            # the data rides on the SYN, otherwise the SYN carries a cookie request.
            # (a Python socket timeout makes the fd non-blocking -> EINPROGRESS)
            s.settimeout(None)
            s.sendto(payload(first, b"tfo-data-%d " % conn), MSG_FASTOPEN, (a.addr, a.port))
            s.settimeout(3.0)
        else:
            s.connect((a.addr, a.port))
            if first:
                s.sendall(payload(first))
        for i, n in enumerate(rest):
            time.sleep(a.gap)
            if a.oob and i == 0:
                s.send(b"!", socket.MSG_OOB)     # urgent byte -> URG flag + urgent pointer
                time.sleep(a.gap)
            s.sendall(payload(n))
        if a.expect:
            got = recv_exact(s, a.expect, deadline)
            log("conn", conn, "got reply bytes", got)
        time.sleep(a.gap)
        s.close()
        time.sleep(a.close_wait)


# --------------------------------------------------------------------------- sackpeer
def cmd_sackpeer(a):
    from scapy.all import Ether, IP, TCP, Raw  # noqa: imported lazily (slow)
    ETH_P_ALL = 3
    PACKET_OUTGOING = 4
    rs = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    rs.bind((a.iface, 0))
    deadline = time.monotonic() + a.timeout
    eth = Ether(src=a.src_mac, dst=a.dst_mac)
    iss = 0x10000000
    base = int(time.monotonic() * 1000)
    state = {"peer_tsval": 0, "peer_isn": None, "log": []}

    def tsopt():
        return ("Timestamp", ((int(time.monotonic() * 1000) - base + 1000) & 0xFFFFFFFF, state["peer_tsval"]))

    def send(ip, tcp, data=b""):
        pkt = eth / ip / tcp
        if data:
            pkt = pkt / Raw(data)
        rs.send(bytes(pkt))

    def wait(pred, t=1.0):
        """Collect packets from the server until pred(tcp) is true or t seconds."""
        end = min(deadline, time.monotonic() + t)
        hit = None
        for _ in range(1000):
            left = end - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([rs], [], [], left)
            if not r:
                break
            data, addr = rs.recvfrom(65535)
            if addr[2] == PACKET_OUTGOING:
                continue
            p = Ether(data)
            if IP not in p or TCP not in p or p[IP].src != a.dst or p[TCP].dport != a.sport:
                continue
            t_ = p[TCP]
            for o in t_.options:
                if o[0] == "Timestamp":
                    state["peer_tsval"] = o[1][0]
            state["log"].append("%s ack=%d" % (t_.sprintf("%TCP.flags%"), t_.ack - iss - 1))
            if pred(t_):
                hit = t_
                break
        return hit

    ip = lambda tos=0: IP(src=a.src, dst=a.dst, tos=tos, flags="DF", id=0)  # noqa: E731

    # SYN requesting ECN (ECE+CWR), with MSS / SACK-permitted / TS / WS like Linux.
    syn = TCP(sport=a.sport, dport=a.dport, flags="SEC", seq=iss, window=64240,
              options=[("MSS", 1460), ("SAckOK", b""), tsopt(), ("NOP", None), ("WScale", 7)])
    send(ip(), syn)
    sa = wait(lambda t: t.flags.S and t.flags.A, 2.0)
    if sa is None:
        sys.exit("sackpeer: no SYN-ACK")
    rcv = sa.seq + 1
    snd = iss + 1
    log("SYN-ACK flags", sa.sprintf("%TCP.flags%"))

    def seg(off, n, flags="A", tos=0x02):      # ECT(0) on data once ECN is negotiated
        send(ip(tos), TCP(sport=a.sport, dport=a.dport, flags=flags, seq=snd + off, ack=rcv,
                          window=502, options=[("NOP", None), ("NOP", None), tsopt()]),
             payload(n, b"sack-peer-data "))

    send(ip(), TCP(sport=a.sport, dport=a.dport, flags="A", seq=snd, ack=rcv, window=502,
                   options=[("NOP", None), ("NOP", None), tsopt()]))
    time.sleep(0.05)
    L = 100
    seg(0 * L, L);                      wait(lambda t: t.ack >= snd + L, 0.5)
    seg(2 * L, L);                      wait(lambda t: True, 0.5)          # hole 100-200 -> SACK 200-300
    seg(4 * L, L);                      wait(lambda t: True, 0.5)          # SACK 400-500, 200-300
    seg(1 * L, L);                      wait(lambda t: t.ack >= snd + 3 * L, 0.5)  # cum ack 300, SACK 400-500
    seg(3 * L, L, tos=0x03);            wait(lambda t: t.ack >= snd + 5 * L, 0.5)  # CE-marked -> ECE
    seg(5 * L, L, flags="PAC");         wait(lambda t: t.ack >= snd + 6 * L, 0.5)  # CWR
    fin_seq = snd + 6 * L
    send(ip(), TCP(sport=a.sport, dport=a.dport, flags="FA", seq=fin_seq, ack=rcv, window=502,
                   options=[("NOP", None), ("NOP", None), tsopt()]))
    fin = wait(lambda t: t.flags.F, 2.0)
    if fin is not None:
        send(ip(), TCP(sport=a.sport, dport=a.dport, flags="A", seq=fin_seq + 1, ack=fin.seq + 1,
                       window=502, options=[("NOP", None), ("NOP", None), tsopt()]))
    else:
        log("no FIN from server")
    time.sleep(0.1)
    log("server packets:", "; ".join(state["log"]))
    rs.close()


# --------------------------------------------------------------------------- txcsum-off
def cmd_txcsum_off(a):
    """`ethtool -K IFACE tx off` via the legacy ETHTOOL_STXCSUM ioctl (ethtool is
    not installed).  Without it, locally generated TCP/UDP packets on veth/lo
    are captured with CHECKSUM_PARTIAL (only the pseudo-header sum filled in)."""
    import ctypes
    import fcntl
    SIOCETHTOOL = 0x8946
    ETHTOOL_GTXCSUM, ETHTOOL_STXCSUM = 0x16, 0x17
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for cmd, val in ((ETHTOOL_STXCSUM, 0), (ETHTOOL_GTXCSUM, 0)):
        ev = ctypes.create_string_buffer(struct.pack("II", cmd, val), 8)
        ifr = struct.pack("16sP16x", a.iface.encode(), ctypes.addressof(ev))
        fcntl.ioctl(s.fileno(), SIOCETHTOOL, ifr)
        res = struct.unpack("II", ev.raw)[1]
    log(a.iface, "tx checksum offload now", "on" if res else "off")
    s.close()


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("server")
    s.add_argument("--family", default="4")
    s.add_argument("--addr", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--conns", type=int, default=1)
    s.add_argument("--reply", type=int, default=0, help="bytes to send back once")
    s.add_argument("--reply-after", type=int, default=1, help="reply once this many bytes arrived")
    s.add_argument("--tfo", action="store_true")
    s.add_argument("--ready")
    s.add_argument("--timeout", type=float, default=20)
    c = sub.add_parser("client")
    c.add_argument("--family", default="4")
    c.add_argument("--addr", required=True)
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--bind-addr")
    c.add_argument("--bind-port", type=int, default=0)
    c.add_argument("--chunks", default="", help="comma list of write sizes")
    c.add_argument("--gap", type=float, default=0.05)
    c.add_argument("--nodelay", action="store_true")
    c.add_argument("--expect", type=int, default=0)
    c.add_argument("--ipopts", help="hex bytes for IP_OPTIONS")
    c.add_argument("--v6ext", action="store_true")
    c.add_argument("--oob", action="store_true")
    c.add_argument("--tfo", action="store_true")
    c.add_argument("--repeat", type=int, default=1)
    c.add_argument("--close-wait", type=float, default=0.2)
    c.add_argument("--udp-probe", type=int, default=0)
    c.add_argument("--timeout", type=float, default=15)
    k = sub.add_parser("sackpeer")
    k.add_argument("--iface", required=True)
    k.add_argument("--src-mac", required=True)
    k.add_argument("--dst-mac", required=True)
    k.add_argument("--src", required=True)
    k.add_argument("--dst", required=True)
    k.add_argument("--sport", type=int, required=True)
    k.add_argument("--dport", type=int, required=True)
    k.add_argument("--timeout", type=float, default=15)
    x = sub.add_parser("txcsum-off")
    x.add_argument("iface")
    a = p.parse_args()
    {"server": cmd_server, "client": cmd_client, "sackpeer": cmd_sackpeer,
     "txcsum-off": cmd_txcsum_off}[a.cmd](a)


if __name__ == "__main__":
    main()
