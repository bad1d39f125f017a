"""tunpeer.py - a scripted TCP peer that talks to a real kernel socket
through a TUN device (see netlab.open_tun).

The peer's address is routed into the TUN device, so the kernel never owns
it and never answers for it: every segment with the peer's source address is
written by this script (with scapy), and every segment the kernel sends to
the peer is read back from the fd.  Nothing is sent that the scenario does
not ask for.

``TunPeer(fd, peer_ip, kernel_ip, peer_port, kernel_port)``
    ``send(flags, seq=, ack=, data=, window=, options=)``  write one segment
        (``seq``/``ack`` default to the peer's current ``snd_nxt`` /
        ``rcv_nxt``; ``advance`` moves ``snd_nxt`` by data + SYN + FIN).
    ``recv(timeout, want=None)``  next TCP segment from the kernel for this
        4-tuple matching ``want`` (a predicate), or None at the timeout.
        Segments that do not match are kept in ``self.seen`` as well.
    ``connect()``, ``send_data()``, ``read_data()``, ``send_fin()`` and
        ``close_first()`` for the usual exchanges, each with a bounded wait
        and an assertion on what the kernel answered.

Requires scapy (Debian: python3-scapy).
"""

from __future__ import annotations

import os
import random
import select
import time
from typing import Callable, List, Optional

from scapy.layers.inet import IP, TCP  # type: ignore
from scapy.packet import Raw  # type: ignore

FIN, SYN, RST, PSH, ACK, URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20


def flags_of(pkt) -> int:
    return int(pkt[TCP].flags)


def payload_of(pkt) -> bytes:
    return bytes(pkt[TCP].payload)


class PeerError(AssertionError):
    pass


class TunPeer:
    def __init__(self, fd: int, peer_ip: str, kernel_ip: str,
                 peer_port: int, kernel_port: int, *, isn: Optional[int] = None,
                 window: int = 65535, log: Callable[[str], None] = print):
        self.fd = fd
        self.peer_ip, self.kernel_ip = peer_ip, kernel_ip
        self.peer_port, self.kernel_port = peer_port, kernel_port
        self.isn = random.randrange(1 << 32) if isn is None else isn
        self.snd_nxt = self.isn
        self.rcv_nxt = 0
        self.kernel_isn: Optional[int] = None
        self.window = window
        self.seen: List = []          # every kernel segment read, in order
        self.log = log

    # -- raw I/O -----------------------------------------------------------
    def send(self, flags: int, *, seq: Optional[int] = None,
             ack: Optional[int] = None, data: bytes = b"",
             window: Optional[int] = None, options=None,
             advance: bool = True, sport: Optional[int] = None) -> None:
        seq = self.snd_nxt if seq is None else seq
        if ack is None:
            ack = self.rcv_nxt if flags & ACK else 0
        tcp = TCP(sport=sport or self.peer_port, dport=self.kernel_port,
                  flags=flags, seq=seq & 0xFFFFFFFF, ack=ack & 0xFFFFFFFF,
                  window=self.window if window is None else window,
                  options=options or [])
        pkt = IP(src=self.peer_ip, dst=self.kernel_ip, ttl=64, id=0,
                 flags="DF") / tcp
        if data:
            pkt = pkt / Raw(load=data)
        os.write(self.fd, bytes(pkt))
        if advance:
            self.snd_nxt = (seq + len(data) + (1 if flags & SYN else 0)
                            + (1 if flags & FIN else 0)) & 0xFFFFFFFF
        self.log("  peer -> %s seq=%d ack=%d len=%d"
                 % (self._fl(flags), seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                    len(data)))

    @staticmethod
    def _fl(flags: int) -> str:
        names = [(SYN, "S"), (FIN, "F"), (RST, "R"), (PSH, "P"), (ACK, "A"),
                 (URG, "U")]
        return "".join(n for b, n in names if flags & b) or "-"

    def recv(self, timeout: float, want: Optional[Callable] = None):
        """Next kernel segment for our 4-tuple matching ``want`` (or any),
        None after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:                               # bounded by deadline
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.fd], [], [], left)
            if not r:
                return None
            raw = os.read(self.fd, 65536)
            if not raw or raw[0] >> 4 != 4:
                continue
            pkt = IP(raw)
            if TCP not in pkt or pkt[IP].src != self.kernel_ip:
                continue
            t = pkt[TCP]
            if t.sport != self.kernel_port:
                continue
            self.seen.append(pkt)
            self.log("  kernel -> %s seq=%d ack=%d len=%d"
                     % (self._fl(int(t.flags)), t.seq, t.ack,
                        len(payload_of(pkt))))
            if want is None or want(pkt):
                return pkt

    def expect(self, timeout: float, want: Callable, what: str):
        pkt = self.recv(timeout, want)
        if pkt is None:
            raise PeerError("kernel did not send %s within %.1fs" % (what, timeout))
        return pkt

    def quiet(self, timeout: float) -> List:
        """Collect whatever the kernel sends in ``timeout`` seconds."""
        got = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return got
            p = self.recv(left)
            if p is None:
                return got
            got.append(p)

    # -- common exchanges ----------------------------------------------------
    def note_data(self, pkt) -> None:
        """Advance rcv_nxt over the kernel segment ``pkt``."""
        t = pkt[TCP]
        end = (t.seq + len(payload_of(pkt)) + (1 if int(t.flags) & SYN else 0)
               + (1 if int(t.flags) & FIN else 0)) & 0xFFFFFFFF
        self.rcv_nxt = end

    def connect(self, timeout: float = 3.0, mss: int = 1460):
        """Peer as client: SYN -> kernel SYN+ACK -> ACK.  No window
        scaling, SACK or timestamps are offered, so the kernel uses none."""
        self.send(SYN, options=[("MSS", mss)])
        sa = self.expect(timeout, lambda p: flags_of(p) & (SYN | ACK) == SYN | ACK,
                         "SYN+ACK")
        if sa[TCP].ack != self.snd_nxt:
            raise PeerError("SYN+ACK acks %d, expected %d" % (sa[TCP].ack, self.snd_nxt))
        self.kernel_isn = sa[TCP].seq
        self.rcv_nxt = (sa[TCP].seq + 1) & 0xFFFFFFFF
        self.send(ACK)
        return sa

    def send_data(self, data: bytes, timeout: float = 3.0, flags: int = PSH | ACK):
        """Send data and wait for the kernel's ACK covering it."""
        self.send(flags, data=data)
        want_ack = self.snd_nxt
        return self.expect(timeout, lambda p: flags_of(p) & ACK
                           and p[TCP].ack == want_ack, "ACK of %d" % want_ack)

    def read_data(self, n: int, timeout: float = 3.0, ack: bool = True) -> bytes:
        """Read ``n`` bytes of kernel data (in order), ACK each segment."""
        buf = b""
        deadline = time.monotonic() + timeout
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise PeerError("got %d of %d data bytes" % (len(buf), n))
            p = self.recv(left, lambda p: len(payload_of(p)) > 0)
            if p is None:
                raise PeerError("got %d of %d data bytes" % (len(buf), n))
            if p[TCP].seq != self.rcv_nxt:
                continue                      # retransmission of old data
            buf += payload_of(p)
            self.note_data(p)
            if ack:
                self.send(ACK)
        return buf

    def send_fin(self, timeout: float = 3.0):
        """Send FIN+ACK and wait for the kernel's ACK of the FIN."""
        self.send(FIN | ACK)
        fin_end = self.snd_nxt
        return self.expect(timeout, lambda p: flags_of(p) & ACK
                           and p[TCP].ack == fin_end, "ACK of the peer's FIN")

    def close_first(self, kernel_sock, timeout: float = 3.0) -> None:
        """Peer FIN -> kernel ACK (CLOSE_WAIT); kernel app close() -> FIN
        (LAST_ACK); peer ACK -> kernel CLOSED, peer TIME_WAIT."""
        self.send_fin(timeout)
        kernel_sock.close()
        fin = self.expect(timeout, lambda p: flags_of(p) & FIN, "kernel FIN")
        self.note_data(fin)
        self.send(ACK)
