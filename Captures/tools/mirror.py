"""mirror.py - a relay that also copies every frame it forwards to a third
interface, the way a switch's mirror (SPAN) port or an IPS does, and can hold
chosen frames back on that copy only.

Why: real captures made on a mirror port, or merged from two interfaces,
often hold an ACK a few microseconds *before* the data it acknowledges,
because the two directions reach the capture through different buffers.  The
endpoints see nothing unusual; only the copy is reordered.  netlab.Relay
cannot make that, because whatever it delays it also delays for the
endpoints.

``MirrorRelay(ns, if_a, if_b, if_mirror, hold=PRED, hold_for=S)`` forwards
every frame between ``if_a`` and ``if_b`` at once (no delay, no drop), and
sends a copy of it out of ``if_mirror``.  A frame for which ``hold(direction,
parsed)`` is true is copied ``hold_for`` seconds late; the copies of one
direction stay in order (a later frame of that direction waits behind a held
one), the other direction's copies are not held.  tcpdump on the far end of
``if_mirror`` then records the TCP conversation with that one segment later
than what it caused.

Runs in one daemon thread; ``start()`` / ``stop()``; ``log`` records (time,
direction, "fwd"|"held", parsed) for every TCP frame.  Bounded: the select
timeout is 50 ms and every burst read is capped.
"""

from __future__ import annotations

import heapq
import select
import socket
import threading
import time
from typing import Callable, Dict, List, Optional, Tuple

import netlab as nl

HoldFn = Callable[[str, Optional[Dict]], bool]


class MirrorRelay:
    def __init__(self, ns: "nl.Netns", if_a: str, if_b: str, if_mirror: str, *,
                 hold: Optional[HoldFn] = None, hold_for: float = 0.002):
        self.ns = ns
        self.ifs = (if_a, if_b, if_mirror)
        self.hold, self.hold_for = hold, hold_for
        self.log: List[Tuple[float, str, str, Optional[Dict]]] = []
        self.errors: List[str] = []
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.sa = self.sb = self.sm = None

    def _open(self, ifname: str) -> socket.socket:
        with self.ns.entered():
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                              socket.htons(nl.ETH_P_ALL))
        s.bind((ifname, nl.ETH_P_ALL))
        s.setblocking(False)
        return s

    def start(self) -> "MirrorRelay":
        self.sa, self.sb, self.sm = (self._open(i) for i in self.ifs)
        self._thread = threading.Thread(target=self._run, name="mirror",
                                        daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        out = {id(self.sa): (self.sb, "a>b"), id(self.sb): (self.sa, "b>a")}
        copies: List[Tuple[float, int, bytes]] = []     # (due, n, frame)
        last_due = {"a>b": 0.0, "b>a": 0.0}
        n = 0
        while not self._stop.is_set():
            timeout = 0.05
            if copies:
                timeout = max(0.0, min(timeout, copies[0][0] - time.monotonic()))
            try:
                r, _, _ = select.select([self.sa, self.sb], [], [], timeout)
            except (OSError, ValueError) as e:
                self.errors.append("select: %s" % e)
                return
            for s in r:
                for _ in range(256):                      # bounded burst
                    try:
                        frame, addr = s.recvfrom(65536)
                    except BlockingIOError:
                        break
                    except OSError as e:
                        self.errors.append("recv: %s" % e)
                        break
                    if addr[2] == nl.PACKET_OUTGOING:
                        continue
                    dst, direction = out[id(s)]
                    try:
                        dst.send(frame)                   # the endpoints: at once
                    except OSError as e:
                        self.errors.append("send: %s" % e)
                    t = time.monotonic()
                    parsed = nl.parse_frame(frame)
                    held = self.hold is not None and self.hold(direction, parsed)
                    due = max(t + (self.hold_for if held else 0.0),
                              last_due[direction])
                    last_due[direction] = due
                    if parsed is not None:
                        self.log.append((t, direction, "held" if held else "fwd",
                                         parsed))
                    n += 1
                    heapq.heappush(copies, (due, n, frame))
            now = time.monotonic()
            while copies and copies[0][0] <= now:
                _, _, frame = heapq.heappop(copies)
                try:
                    self.sm.send(frame)
                except OSError as e:
                    self.errors.append("mirror: %s" % e)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        for s in (self.sa, self.sb, self.sm):
            if s is not None:
                s.close()
        self.sa = self.sb = self.sm = None
