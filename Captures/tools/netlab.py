"""netlab.py - private network namespaces, veth links, a user-space frame
relay (delay / drop) and TUN devices, for recording the hard WireState
captures (see ../record-hard.py).

Stdlib only (ctypes for setns(2), fcntl for the ethtool and TUN ioctls).
Must run as root.  Nothing here touches the host's own network namespace
except running ``ip netns add/del`` for namespaces whose names start with
:data:`PREFIX`.

Pieces
------
``Netns(name)``        one namespace: ``create()`` (lo up, IPv6 off),
                       ``delete()`` (restores every sysctl it changed, then
                       ``ip netns del``), ``entered()`` (context manager that
                       moves *the calling thread* into the namespace, so any
                       socket / TUN fd opened inside belongs to it), ``ip()``,
                       ``sysctl_set()``, ``ss()``.
``Lab``                owns a set of namespaces; ``close()`` deletes them all
                       (use in ``try/finally`` or as a context manager).
``veth(lab, ns1, if1, ns2, if2, ...)`` a veth pair between two namespaces,
                       optional addresses/MACs, offloads switched off so
                       that every frame is an MTU-sized, fully checksummed
                       Ethernet frame (what a real NIC would put on a wire).
``Relay``              a thread in a middle namespace that forwards frames
                       between two interfaces via AF_PACKET after a per-
                       direction delay, dropping the frames a predicate
                       chooses.  The middle namespace has ip_forward = 0 and
                       no addresses, so only the relay moves packets.
``open_tun(ns, name)`` a TUN device (IFF_TUN | IFF_NO_PI) inside ``ns``;
                       returns the fd (raw IPv4 packets in and out).
``parse_frame()``      minimal Ethernet/IPv4/TCP header parser used by the
                       relay's drop predicates.

Every wait is bounded; every subprocess has a timeout.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import heapq
import os
import select
import socket
import struct
import subprocess
import threading
import time
from contextlib import contextmanager
from typing import Callable, Dict, List, Optional, Tuple

PREFIX = "wshard-"          # every namespace this module creates
CLONE_NEWNET = 0x40000000
CMD_TIMEOUT = 10.0

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6",
                    use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: " + os.strerror(e))


def run(argv: List[str], check: bool = True, timeout: float = CMD_TIMEOUT
        ) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True,
                          timeout=timeout, check=check)


# --------------------------------------------------------------------------
# Namespaces
# --------------------------------------------------------------------------

class Netns:
    """A network namespace named ``name`` (must start with PREFIX)."""

    def __init__(self, name: str):
        if not name.startswith(PREFIX):
            raise ValueError("namespace names must start with %r" % PREFIX)
        self.name = name
        self.created = False
        self._saved_sysctls: List[Tuple[str, str]] = []

    # -- lifecycle ---------------------------------------------------------
    def create(self) -> "Netns":
        if os.path.exists("/run/netns/" + self.name):
            # left over by an interrupted run of this tool (our prefix)
            run(["ip", "netns", "del", self.name], check=False)
        run(["ip", "netns", "add", self.name])
        self.created = True
        self.ip("link", "set", "lo", "up")
        # no IPv6: keeps router/neighbour solicitations out of the captures
        self.sysctl_set("net.ipv6.conf.all.disable_ipv6", "1")
        self.sysctl_set("net.ipv6.conf.default.disable_ipv6", "1")
        return self

    def delete(self) -> None:
        if not self.created:
            return
        for key, old in reversed(self._saved_sysctls):
            self.exec(["sysctl", "-qw", "%s=%s" % (key, old)], check=False)
        self._saved_sysctls = []
        run(["ip", "netns", "del", self.name], check=False)
        self.created = False

    # -- commands ------------------------------------------------------------
    def exec_argv(self, argv: List[str]) -> List[str]:
        return ["ip", "netns", "exec", self.name] + list(argv)

    def exec(self, argv: List[str], check: bool = True,
             timeout: float = CMD_TIMEOUT) -> subprocess.CompletedProcess:
        return run(self.exec_argv(argv), check=check, timeout=timeout)

    def ip(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run(["ip", "-n", self.name] + list(args), check=check)

    def sysctl_get(self, key: str) -> str:
        return self.exec(["sysctl", "-n", key]).stdout.strip()

    def sysctl_set(self, key: str, value: str) -> str:
        """Set a sysctl inside the namespace; the old value is restored by
        :meth:`delete`.  Returns the old value."""
        old = self.sysctl_get(key)
        self._saved_sysctls.append((key, old))
        self.exec(["sysctl", "-qw", "%s=%s" % (key, value)])
        return old

    def ss(self, port: int) -> List[str]:
        """``ss -tanH state all '( sport = :P or dport = :P )'`` inside."""
        out = self.exec(["ss", "-tanH", "state", "all",
                         "( sport = :%d or dport = :%d )" % (port, port)]).stdout
        return [" ".join(l.split()) for l in out.splitlines() if l.strip()]

    @contextmanager
    def entered(self):
        """Move the calling thread into this namespace for the block.
        Sockets and TUN fds created inside stay in it afterwards."""
        back = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open("/run/netns/" + self.name, os.O_RDONLY)
        try:
            _setns(target)
            try:
                yield self
            finally:
                _setns(back)
        finally:
            os.close(target)
            os.close(back)

    def socket(self, *args, **kw) -> socket.socket:
        with self.entered():
            return socket.socket(*args, **kw)


class Lab:
    """A set of namespaces deleted together (context manager)."""

    def __init__(self):
        self.namespaces: List[Netns] = []

    def netns(self, short: str) -> Netns:
        ns = Netns(PREFIX + short).create()
        self.namespaces.append(ns)
        return ns

    def close(self) -> None:
        for ns in reversed(self.namespaces):
            try:
                ns.delete()
            except Exception as e:           # keep deleting the others
                print("netlab: deleting %s: %s" % (ns.name, e))
        self.namespaces = []

    def __enter__(self) -> "Lab":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def cleanup_stale() -> List[str]:
    """Delete namespaces with our prefix left by an interrupted run."""
    gone = []
    try:
        names = os.listdir("/run/netns")
    except FileNotFoundError:
        return gone
    for n in names:
        if n.startswith(PREFIX):
            run(["ip", "netns", "del", n], check=False)
            gone.append(n)
    return gone


# --------------------------------------------------------------------------
# veth + offloads
# --------------------------------------------------------------------------

SIOCETHTOOL = 0x8946
ETHTOOL_SRXCSUM = 0x15
ETHTOOL_STXCSUM = 0x17
ETHTOOL_SSG = 0x19
ETHTOOL_STSO = 0x1f
ETHTOOL_SGSO = 0x24
ETHTOOL_SGRO = 0x2c


class _EthtoolValue(ctypes.Structure):
    _fields_ = [("cmd", ctypes.c_uint32), ("data", ctypes.c_uint32)]


class _IfreqPtr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 16), ("data", ctypes.c_void_p),
                ("pad", ctypes.c_char * 16)]


def disable_offloads(ns: Netns, ifname: str) -> None:
    """Switch off TSO/GSO/GRO/SG and checksum offload on ``ifname`` (what
    ``ethtool -K IF tso off gso off gro off sg off tx off rx off`` does),
    using the legacy SIOCETHTOOL set commands."""
    with ns.entered():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for cmd in (ETHTOOL_STSO, ETHTOOL_SGSO, ETHTOOL_SGRO, ETHTOOL_SSG,
                    ETHTOOL_STXCSUM, ETHTOOL_SRXCSUM):
            val = _EthtoolValue(cmd, 0)
            ifr = _IfreqPtr(ifname.encode(), ctypes.addressof(val), b"")
            fcntl.ioctl(s.fileno(), SIOCETHTOOL, ifr)
    finally:
        s.close()


def veth(ns1: Netns, if1: str, ns2: Netns, if2: str, *,
         mac1: Optional[str] = None, mac2: Optional[str] = None,
         addr1: Optional[str] = None, addr2: Optional[str] = None,
         mtu: int = 1500, offloads: bool = False) -> None:
    """Create veth ``if1``@ns1 <-> ``if2``@ns2, set MACs/addresses, bring
    both up.  The pair vanishes with either namespace."""
    run(["ip", "link", "add", if1, "netns", ns1.name, "type", "veth",
         "peer", "name", if2, "netns", ns2.name])
    for ns, ifn, mac, addr in ((ns1, if1, mac1, addr1), (ns2, if2, mac2, addr2)):
        if mac:
            ns.ip("link", "set", ifn, "address", mac)
        ns.ip("link", "set", ifn, "mtu", str(mtu))
        if not offloads:
            disable_offloads(ns, ifn)
        if addr:
            ns.ip("addr", "add", addr, "dev", ifn)
        ns.ip("link", "set", ifn, "up")


# --------------------------------------------------------------------------
# Frame parsing (Ethernet / IPv4 / TCP)
# --------------------------------------------------------------------------

TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def parse_frame(frame: bytes) -> Optional[Dict]:
    """Ethernet II + IPv4 + TCP -> dict(src, dst, sport, dport, flags, seq,
    ack, win, plen); None for anything else."""
    if len(frame) < 14 + 20 or frame[12:14] != b"\x08\x00":
        return None
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    if ip[0] >> 4 != 4 or ip[9] != 6 or len(ip) < ihl + 20:
        return None
    total = struct.unpack("!H", ip[2:4])[0]
    tcp = ip[ihl:]
    sport, dport, seq, ack, off_flags, win = struct.unpack("!HHIIHH", tcp[:16])
    doff = (off_flags >> 12) * 4
    return dict(src=socket.inet_ntoa(ip[12:16]), dst=socket.inet_ntoa(ip[16:20]),
                sport=sport, dport=dport, flags=off_flags & 0x1FF, seq=seq,
                ack=ack, win=win, plen=max(0, total - ihl - doff))


# --------------------------------------------------------------------------
# User-space relay
# --------------------------------------------------------------------------

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4

#: drop predicate: (direction "a>b" | "b>a", frame, parsed-or-None) -> bool
DropFn = Callable[[str, bytes, Optional[Dict]], bool]


class Relay:
    """Forward every frame between ``if_a`` and ``if_b`` (both in ``ns``)
    after ``delay_ab`` / ``delay_ba`` seconds, unless ``drop`` returns True.

    Runs in one daemon thread; ``start()`` / ``stop()`` (bounded join).
    ``log`` records (time, direction, action, parsed) for every TCP frame.
    Frames the relay itself transmitted come back on its own socket as
    PACKET_OUTGOING and are ignored."""

    def __init__(self, ns: Netns, if_a: str, if_b: str, *,
                 delay_ab: float = 0.0, delay_ba: float = 0.0,
                 drop: Optional[DropFn] = None):
        self.ns, self.if_a, self.if_b = ns, if_a, if_b
        self.delay = {"a>b": delay_ab, "b>a": delay_ba}
        self.drop = drop
        self.log: List[Tuple[float, str, str, Optional[Dict]]] = []
        self.forwarded = 0
        self.dropped = 0
        self.errors: List[str] = []
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()
        self.sa = self.sb = None

    def _open(self, ifname: str) -> socket.socket:
        with self.ns.entered():
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                              socket.htons(ETH_P_ALL))
        s.bind((ifname, ETH_P_ALL))
        s.setblocking(False)
        return s

    def start(self) -> "Relay":
        self.sa = self._open(self.if_a)
        self.sb = self._open(self.if_b)
        self._thread = threading.Thread(target=self._run, name="relay",
                                        daemon=True)
        self._thread.start()
        return self

    def set_drop(self, drop: Optional[DropFn]) -> None:
        with self._lock:
            self.drop = drop

    def _run(self) -> None:
        out = {id(self.sa): (self.sb, "a>b"), id(self.sb): (self.sa, "b>a")}
        pending: List[Tuple[float, int, int, bytes]] = []   # (due, n, sockid, frame)
        socks = {id(self.sa): self.sa, id(self.sb): self.sb}
        n = 0
        while not self._stop.is_set():
            now = time.monotonic()
            timeout = 0.05
            if pending:
                timeout = max(0.0, min(timeout, pending[0][0] - now))
            try:
                r, _, _ = select.select([self.sa, self.sb], [], [], timeout)
            except (OSError, ValueError) as e:
                self.errors.append("select: %s" % e)
                return
            for s in r:
                for _ in range(256):                  # bounded burst
                    try:
                        frame, addr = s.recvfrom(65536)
                    except BlockingIOError:
                        break
                    except OSError as e:
                        self.errors.append("recv: %s" % e)
                        break
                    if addr[2] == PACKET_OUTGOING:
                        continue
                    dst, direction = out[id(s)]
                    parsed = parse_frame(frame)
                    t = time.monotonic()
                    with self._lock:
                        drop = self.drop
                    if drop is not None and drop(direction, frame, parsed):
                        self.dropped += 1
                        self.log.append((t, direction, "drop", parsed))
                        continue
                    if parsed is not None:
                        self.log.append((t, direction, "fwd", parsed))
                    n += 1
                    heapq.heappush(pending, (t + self.delay[direction], n,
                                             id(dst), frame))
            now = time.monotonic()
            while pending and pending[0][0] <= now:
                _, _, sid, frame = heapq.heappop(pending)
                try:
                    socks[sid].send(frame)
                    self.forwarded += 1
                except OSError as e:
                    self.errors.append("send: %s" % e)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        for s in (self.sa, self.sb):
            if s is not None:
                s.close()
        self.sa = self.sb = None


# --------------------------------------------------------------------------
# TUN
# --------------------------------------------------------------------------

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def open_tun(ns: Netns, name: str, addr: str, mtu: int = 1500) -> int:
    """Create TUN device ``name`` in ``ns`` with ``addr`` (e.g.
    "10.202.0.1/24": the kernel owns .1, the /24 is routed into the TUN
    so the peer addresses belong to whoever reads the fd).  Returns the
    fd (non-persistent device: it disappears when the fd is closed)."""
    with ns.entered():
        fd = os.open("/dev/net/tun", os.O_RDWR)
        try:
            ifr = struct.pack("16sH22x", name.encode(), IFF_TUN | IFF_NO_PI)
            fcntl.ioctl(fd, TUNSETIFF, ifr)
        except Exception:
            os.close(fd)
            raise
    try:
        ns.ip("link", "set", name, "mtu", str(mtu))
        ns.ip("addr", "add", addr, "dev", name)
        ns.ip("link", "set", name, "up")
    except Exception:
        os.close(fd)
        raise
    return fd
