"""recorder.py - record real loopback TCP captures together with the kernel's
own view of every socket involved ("truth").

Stdlib only.  Must run as root (packet capture on ``lo``).  All traffic is
expected to stay on 127.0.0.1 / ::1.

Typical use (see ../record-basic.py for complete scenarios)::

    import recorder as rec

    with rec.Recording(outdir, "client-close", port=47001,
                       description="Client connects, ...") as r:
        ls = r.track(rec.listen("127.0.0.1", 47001))
        c, client_ep, err = rec.connect("127.0.0.1", 47001)
        r.track(c)
        r.connection(client_ep, ("127.0.0.1", 47001))
        s, _ = rec.accept(ls); r.track(s)
        ...                              # drive the scenario
        truth = r.finish()               # settle, ss snapshot, stop capture,
                                         # write NAME.truth.json, close fds

Order of operations inside ``Recording.finish()`` (important for the truth to
describe exactly the end of the capture):

1. sleep ``settle`` seconds (default 0.3) so the last packets have flowed,
2. take the ``ss`` snapshot while every socket the scenario did not close
   itself is still open,
3. stop the capture (SIGINT, wait for exit),
4. write ``NAME.truth.json``,
5. close every tracked socket *abortively* (SO_LINGER {1, 0} -> RST), so the
   clean-up leaves no TIME_WAIT behind.  This happens after the capture has
   stopped, so the clean-up traffic is not in the file.

Lower-level pieces (``Capture``, ``ss_snapshot``, ``parse_ss_line``,
``endpoint_states``, ``write_truth``, socket helpers) are usable on their own.

Shared by ../record-basic.py and ../record-hard.py: the request/response
building blocks (``REQ``, ``RESP``, ``exchange``, ``end_client_close``,
``end_server_close``) and the command line (``scenario_parser``,
``chosen_scenarios``, ``run_scenarios``: SCENARIO arguments, ``--outdir``,
the root check, the loop that records each scenario and the summary).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import queue
import select
import shlex
import signal
import socket
import struct
import subprocess
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple, Union

__all__ = [
    "SS_TO_RFC", "rfc_state", "fmt_endpoint", "parse_endpoint",
    "Capture", "CaptureError",
    "SsSocket", "ss_snapshot", "parse_ss_line", "endpoint_states",
    "wait_port_quiet", "write_truth", "count_packets", "ss_command",
    "listen", "accept", "connect", "recv_exact", "recv_until_eof", "abort_close",
    "REQ", "RESP", "exchange", "end_client_close", "end_server_close",
    "Recording",
    "scenario_parser", "chosen_scenarios", "run_scenarios",
]

DEFAULT_TIMEOUT = 5.0      # seconds, used for every socket operation

# --------------------------------------------------------------------------
# State names
# --------------------------------------------------------------------------

#: ss(8) state name -> RFC 9293 state name.
SS_TO_RFC = {
    "ESTAB": "ESTABLISHED",
    "SYN-SENT": "SYN_SENT",
    "SYN-RECV": "SYN_RECEIVED",
    "FIN-WAIT-1": "FIN_WAIT_1",
    "FIN-WAIT-2": "FIN_WAIT_2",
    "TIME-WAIT": "TIME_WAIT",
    "CLOSE-WAIT": "CLOSE_WAIT",
    "LAST-ACK": "LAST_ACK",
    "CLOSING": "CLOSING",
    "LISTEN": "LISTEN",
    "UNCONN": "CLOSED",
    "CLOSE": "CLOSED",
}


def rfc_state(ss_state: str) -> str:
    """Map an ss state name (e.g. ``"FIN-WAIT-2"``) to its RFC name
    (``"FIN_WAIT_2"``).  Unknown names are returned unchanged with a ``?``
    prefix so they stand out instead of being silently mis-mapped."""
    return SS_TO_RFC.get(ss_state, "?" + ss_state)


# --------------------------------------------------------------------------
# Endpoints
# --------------------------------------------------------------------------

Endpoint = Union[str, Tuple]


def fmt_endpoint(ep: Endpoint) -> str:
    """Format an endpoint as ss prints it with ``-n``:
    ``("127.0.0.1", 8080)`` -> ``"127.0.0.1:8080"``,
    ``("::1", 8080, 0, 0)`` -> ``"[::1]:8080"``.  Strings pass through."""
    if isinstance(ep, str):
        return ep
    host, port = ep[0], int(ep[1])
    if ":" in host:
        return "[%s]:%d" % (host, port)
    return "%s:%d" % (host, port)


def parse_endpoint(text: str) -> Tuple[str, int]:
    """Inverse of :func:`fmt_endpoint` (``"[::1]:80"`` -> ``("::1", 80)``).
    Port ``*`` is returned as 0."""
    host, _, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, (0 if port == "*" else int(port))


# --------------------------------------------------------------------------
# Packet capture
# --------------------------------------------------------------------------

class CaptureError(RuntimeError):
    pass


class Capture:
    """One tcpdump (pcap) or dumpcap (pcapng) process capturing on ``iface``.

    ``path``   output file; the process runs with cwd = its directory and is
               given the bare file name, so :attr:`command` is exactly what was
               run and is portable.
    ``bpf``    capture filter, e.g. ``"tcp port 47001"``.
    ``tool``   ``"tcpdump"`` (writes pcap) or ``"dumpcap"`` (writes pcapng).
    ``nano``   tcpdump only: ``--time-stamp-precision=nano`` (nanosecond pcap).
    ``netns``  optional network namespace name: the tool is run as
               ``ip netns exec NETNS tcpdump ...`` (``ip`` execs the tool, so
               the pid and SIGINT handling are unchanged).

    tcpdump is run with ``--immediate-mode`` (``immediate=True``): without
    it libpcap's TPACKET_V3 ring hands packets to tcpdump only when a block
    fills or its 1 s timeout expires, and a SIGINT before that silently loses
    them (a capture stopped 0.3 s after the last packet came out empty).
    Immediate mode uses a TPACKET_V2 ring with one snaplen-sized (256 KiB)
    slot per packet, so the default 2 MiB buffer holds only ~8 packets and
    bursts get "dropped by kernel"; hence ``-B buffer_kib`` (default 32768
    KiB = ~128 slots).  dumpcap has no immediate mode (its block timeout is
    250 ms), so ``stop()`` first waits ``drain`` seconds (default 0.6 for
    dumpcap, 0 for tcpdump).  After ``stop()``, :attr:`dropped` is the
    number of packets the tool reports as dropped (must be 0 for a usable
    capture; :class:`Recording` raises otherwise).

    ``start()`` returns only once the tool has reported that it is listening
    or raises :class:`CaptureError` after ``start_timeout`` seconds.  The
    marker is "listening on" for tcpdump (printed after pcap_activate) and
    "File:" for dumpcap (its "Capturing on" line is printed *before* the
    device is opened; "File:" comes after input and output are open).
    ``stop()`` sends SIGINT and waits (bounded) for exit; it escalates to
    SIGTERM/SIGKILL of this one process only if needed.  Usable as a context
    manager.
    """

    READY_MARKER = {"tcpdump": "listening on", "dumpcap": "File:"}

    def __init__(self, path: str, bpf: str, *, tool: str = "tcpdump",
                 nano: bool = False, iface: str = "lo",
                 start_timeout: float = 10.0, stop_timeout: float = 10.0,
                 ready_grace: float = 0.2, drain: Optional[float] = None,
                 immediate: bool = True, buffer_kib: Optional[int] = 32768,
                 netns: Optional[str] = None):
        if tool not in ("tcpdump", "dumpcap"):
            raise ValueError("tool must be 'tcpdump' or 'dumpcap'")
        if nano and tool != "tcpdump":
            raise ValueError("nano timestamps are only supported with tcpdump")
        self.path = os.path.abspath(path)
        self.bpf = bpf
        self.tool = tool
        self.nano = nano
        self.iface = iface
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.ready_grace = ready_grace
        self.drain = (0.6 if tool == "dumpcap" else 0.0) if drain is None else drain
        name = os.path.basename(self.path)
        if tool == "tcpdump":
            argv = ["tcpdump", "-i", iface, "-U"]
            if immediate:
                argv.append("--immediate-mode")
            if buffer_kib:
                argv += ["-B", str(buffer_kib)]
            if nano:
                argv.append("--time-stamp-precision=nano")
            argv += ["-w", name, bpf]
        else:
            argv = ["dumpcap", "-i", iface, "-f", bpf, "-w", name]
        if netns:                       # capture inside a network namespace
            argv = ["ip", "netns", "exec", netns] + argv
        self.netns = netns
        self.argv: List[str] = argv
        self.proc: Optional[subprocess.Popen] = None
        self.stderr_lines: List[str] = []
        self._lines: "queue.Queue[Optional[str]]" = queue.Queue()
        self._reader: Optional[threading.Thread] = None

    @property
    def command(self) -> str:
        """The exact command line, shell-quoted (as run from the file's dir)."""
        return shlex.join(self.argv)

    def _read_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for raw in self.proc.stderr:          # ends at EOF (process exit)
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.stderr_lines.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def start(self) -> "Capture":
        if self.proc is not None:
            raise CaptureError("capture already started")
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        self.proc = subprocess.Popen(
            self.argv, cwd=os.path.dirname(self.path),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + self.start_timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self._kill()
                raise CaptureError("%s did not report ready within %.1fs: %r"
                                   % (self.tool, self.start_timeout,
                                      self.stderr_lines))
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                self.proc.wait(timeout=self.stop_timeout)
                raise CaptureError("%s exited early (rc=%s): %r"
                                   % (self.tool, self.proc.returncode,
                                      self.stderr_lines))
            if self.READY_MARKER[self.tool] in line:
                break
        # Belt and braces: a short grace period after the marker.
        time.sleep(self.ready_grace)
        return self

    def _kill(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
            try:
                self.proc.send_signal(sig)
                self.proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def stop(self) -> str:
        """SIGINT the capture, wait for it to flush and exit; return stderr."""
        if self.proc is None:
            return ""
        if self.proc.poll() is None:
            if self.drain > 0:
                time.sleep(self.drain)
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self._kill()
        if self._reader is not None:
            self._reader.join(timeout=self.stop_timeout)
        return "\n".join(self.stderr_lines)

    @property
    def packets(self) -> Optional[int]:
        """Packets captured, as reported by the tool on exit (None if unknown)."""
        for line in self.stderr_lines:
            line = line.strip()
            parts = line.split()
            if line.endswith("packets captured") and parts[0].isdigit():
                return int(parts[0])              # tcpdump
            if line.startswith("Packets captured:"):
                return int(parts[-1])             # dumpcap
            if line.startswith("Packets:") and len(parts) > 1 and parts[1].isdigit():
                return int(parts[1])
        return None

    @property
    def dropped(self) -> Optional[int]:
        """Packets dropped, as reported by the tool on exit (None if unknown).
        tcpdump: "N packets dropped by kernel" (+ "by interface" if shown);
        dumpcap: "Packets received/dropped on interface '...': R/D"."""
        total, seen = 0, False
        for line in self.stderr_lines:
            line = line.strip()
            parts = line.split()
            if "packets dropped by" in line and parts[0].isdigit():
                total += int(parts[0]); seen = True
            elif line.startswith("Packets received/dropped"):
                rd = line.split("':", 1)[-1].split()[0]       # "R/D"
                total += int(rd.split("/")[1]); seen = True
        return total if seen else None

    def __enter__(self) -> "Capture":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# --------------------------------------------------------------------------
# Kernel view (ss)
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class SsSocket:
    ss_state: str   # as printed by ss, e.g. "FIN-WAIT-2"
    state: str      # RFC name, e.g. "FIN_WAIT_2"
    local: str      # "127.0.0.1:47001" / "[::1]:47001"
    peer: str       # "127.0.0.1:52044" / "*:*" / "[::]:*"
    raw: str        # the ss line, whitespace-normalised


def ss_command(port: int, netns: Optional[str] = None) -> List[str]:
    """argv of the ss query used by :func:`ss_snapshot` (prefixed with
    ``ip netns exec NETNS`` when ``netns`` is given)."""
    argv = ["ss", "-tanH", "state", "all",
            "( sport = :%d or dport = :%d )" % (port, port)]
    return (["ip", "netns", "exec", netns] + argv) if netns else argv


def ss_snapshot(port: int, timeout: float = 5.0,
                netns: Optional[str] = None) -> List[str]:
    """Raw ``ss -tanH state all '( sport = :P or dport = :P )'`` lines
    (whitespace-normalised, empty lines dropped), taken inside ``netns``
    if given."""
    out = subprocess.run(ss_command(port, netns), capture_output=True, text=True,
                         timeout=timeout, check=True).stdout
    return [" ".join(l.split()) for l in out.splitlines() if l.strip()]


def parse_ss_line(line: str) -> SsSocket:
    """Parse one ``ss -tanH state all`` line:
    ``State Recv-Q Send-Q Local:Port Peer:Port [extra...]``."""
    f = line.split()
    if len(f) < 5:
        raise ValueError("unexpected ss line: %r" % line)
    return SsSocket(ss_state=f[0], state=rfc_state(f[0]), local=f[3],
                    peer=f[4], raw=" ".join(f))


def endpoint_states(sockets: Iterable[SsSocket], client: Endpoint,
                    server: Endpoint) -> Tuple[str, str]:
    """Kernel truth for one connection -> ``(client_state, server_state)``.

    client_state: state of the socket whose *local* address is the client
    endpoint (the client never listens, so local alone identifies it).
    server_state: state of the socket whose local is the server endpoint AND
    whose peer is the client endpoint; the LISTEN socket (peer ``*:*``) is
    not the server side of the connection.  Absent socket -> ``"CLOSED"``.
    """
    c, s = fmt_endpoint(client), fmt_endpoint(server)
    socks = list(sockets)
    cs = [x.state for x in socks if x.local == c]
    ss_ = [x.state for x in socks if x.local == s and x.peer == c]
    if len(cs) > 1 or len(ss_) > 1:
        raise ValueError("ambiguous ss entries for %s <-> %s: %r"
                         % (c, s, [x.raw for x in socks]))
    return (cs[0] if cs else "CLOSED", ss_[0] if ss_ else "CLOSED")


def wait_port_quiet(port: int, timeout: float = 75.0,
                    poll: float = 0.5, netns: Optional[str] = None) -> List[str]:
    """Wait (bounded) until ss shows no socket at all on ``port`` (e.g. a
    TIME_WAIT left by a previous run, which lasts 60 s on Linux).  Returns
    the lines still present at the deadline (empty list = quiet)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = ss_snapshot(port, netns=netns)
        if not lines or time.monotonic() >= deadline:
            return lines
        time.sleep(poll)


def write_truth(path: str, scenario: str, description: str,
                recorded_with: str, connections: Sequence[dict],
                ss: Sequence[str], **extra) -> dict:
    """Write the truth JSON (format documented in ../README.md).  Optional
    keys (e.g. ``expected_anomalies``) are given as keyword arguments and
    written after ``ss`` in the order given; None values are left out."""
    doc = {
        "scenario": scenario,
        "description": description,
        "recorded_with": recorded_with,
        "connections": list(connections),
        "ss": list(ss),
    }
    for key, value in extra.items():
        if value is not None:
            doc[key] = value
    with open(path, "w") as fh:
        json.dump(doc, fh, indent=2)
        fh.write("\n")
    return doc


# --------------------------------------------------------------------------
# Socket helpers (every operation has a timeout)
# --------------------------------------------------------------------------

def _family(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def listen(host: str, port: int, backlog: int = 16,
           timeout: float = DEFAULT_TIMEOUT) -> socket.socket:
    """Listening TCP socket on host:port (SO_REUSEADDR, accept timeout)."""
    s = socket.socket(_family(host), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if _family(host) == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((host, port))
    s.listen(backlog)
    s.settimeout(timeout)
    return s


def accept(ls: socket.socket, timeout: float = DEFAULT_TIMEOUT
           ) -> Tuple[socket.socket, Tuple]:
    """accept() on a :func:`listen` socket; the new socket gets ``timeout``
    (Python would otherwise make it fully blocking)."""
    s, peer = ls.accept()
    s.settimeout(timeout)
    return s, peer


def connect(host: str, port: int, timeout: float = DEFAULT_TIMEOUT
            ) -> Tuple[socket.socket, Tuple, int]:
    """Connect to host:port and return ``(sock, local_endpoint, errno)``.

    The connect is issued non-blocking and the local address is read right
    after the SYN is sent, so it is known even when the connection is refused
    (the kernel releases the port of a failed connect).  ``errno`` is 0 on
    success (e.g. ``errno.ECONNREFUSED`` otherwise).  The returned socket is
    in blocking mode with ``timeout`` set."""
    s = socket.socket(_family(host), socket.SOCK_STREAM)
    s.setblocking(False)
    err = s.connect_ex((host, port))
    local = s.getsockname()
    if err not in (0, errno.EINPROGRESS):
        s.settimeout(timeout)
        return s, local, err
    _, w, _ = select.select([], [s], [], timeout)
    if not w:
        s.close()
        raise TimeoutError("connect to %s timed out" % fmt_endpoint((host, port)))
    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    s.settimeout(timeout)
    return s, local, err


def recv_exact(s: socket.socket, n: int) -> bytes:
    """Receive exactly n bytes (socket timeout applies to each recv)."""
    buf = b""
    while len(buf) < n:                    # bounded: each pass consumes >=1 B
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("EOF after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def recv_until_eof(s: socket.socket, limit: int = 1 << 20) -> bytes:
    """Receive until EOF (orderly FIN); raises if more than ``limit`` bytes."""
    buf = b""
    while True:                            # bounded by limit and timeout
        chunk = s.recv(65536)
        if not chunk:
            return buf
        buf += chunk
        if len(buf) > limit:
            raise ValueError("more than %d bytes before EOF" % limit)


def abort_close(s: socket.socket) -> None:
    """close() with SO_LINGER {on, 0}: the kernel sends RST (if the
    connection is synchronized) and the socket goes straight to CLOSED."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
    except OSError:
        pass
    s.close()


# --------------------------------------------------------------------------
# Scenario building blocks (each returns after its last packet-producing step)
# --------------------------------------------------------------------------

REQ = b"GET /wirestate HTTP/1.0\r\n\r\n"
RESP = b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello"


def exchange(c: socket.socket, s: socket.socket, req: bytes = REQ,
             resp: bytes = RESP) -> None:
    """Request client->server, response server->client."""
    c.sendall(req)
    assert recv_exact(s, len(req)) == req
    s.sendall(resp)
    assert recv_exact(c, len(resp)) == resp


def _orderly_close(first: socket.socket, second: socket.socket) -> None:
    first.close()
    assert recv_until_eof(second) == b""
    second.close()


def end_client_close(c: socket.socket, s: socket.socket) -> None:
    """Client closes first; server reads EOF, then closes."""
    _orderly_close(c, s)


def end_server_close(c: socket.socket, s: socket.socket) -> None:
    """Server closes first; client reads EOF, then closes."""
    _orderly_close(s, c)


# --------------------------------------------------------------------------
# One recorded scenario
# --------------------------------------------------------------------------

class Recording:
    """Capture + truth for one scenario: ``OUTDIR/NAME.pcap[ng]`` and
    ``OUTDIR/NAME.truth.json``.

    ``port``        the scenario's server port (BPF ``tcp port P`` and the ss
                    filter use it).
    ``description`` one sentence, stored in the truth file.
    ``tool``/``nano`` see :class:`Capture`; dumpcap writes ``NAME.pcapng``.
    ``settle``      delay before the ss snapshot (s).
    ``quiet_timeout`` on enter, wait up to this long for leftovers of a
                    previous run on ``port`` to disappear (0 = don't wait).

    ``netns``       optional network namespace: capture and ss run inside it
                    (the scenario creates its sockets there itself).
    ``truth_extra`` (attribute) optional top-level truth keys, e.g.
                    ``r.truth_extra["expected_anomalies"] = [...]``.

    Inside the ``with`` block the scenario registers its sockets with
    :meth:`track` (they are closed by :meth:`finish` only after the snapshot
    and the end of the capture) and its connections, in the order the SYNs
    were sent, with :meth:`connection`.  Sockets the scenario closes itself
    must simply be closed by the scenario (closing a tracked socket twice is
    harmless).  If the block raises, the capture is stopped, sockets are
    closed and no truth file is written.
    """

    def __init__(self, outdir: str, name: str, port: int, description: str,
                 *, tool: str = "tcpdump", nano: bool = False,
                 bpf: Optional[str] = None, settle: float = 0.3,
                 quiet_timeout: float = 75.0, verbose: bool = True,
                 netns: Optional[str] = None):
        self.outdir = os.path.abspath(outdir)
        self.name = name
        self.port = port
        self.description = description
        self.settle = settle
        self.quiet_timeout = quiet_timeout
        self.verbose = verbose
        ext = ".pcapng" if tool == "dumpcap" else ".pcap"
        self.capture_path = os.path.join(self.outdir, name + ext)
        self.truth_path = os.path.join(self.outdir, name + ".truth.json")
        self.capture = Capture(self.capture_path, bpf or "tcp port %d" % port,
                               tool=tool, nano=nano, netns=netns)
        self.netns = netns
        self.connections: List[Tuple[str, str]] = []
        self.connection_extra: List[dict] = []
        self.truth_extra: dict = {}
        self.sockets: List[socket.socket] = []
        self.truth: Optional[dict] = None
        self.packets: Optional[int] = None

    def log(self, msg: str) -> None:
        if self.verbose:
            print("[%s] %s" % (self.name, msg), flush=True)

    def track(self, s: socket.socket) -> socket.socket:
        """Keep ``s`` open until after the snapshot; returns ``s``."""
        self.sockets.append(s)
        return s

    def connection(self, client: Endpoint, server: Endpoint, **extra) -> None:
        """Declare a connection (call in the order the SYNs were sent).
        Keyword arguments are extra keys for its truth entry (e.g.
        ``incarnation=2``); ``client_state=`` / ``server_state=`` given here
        override what ss says (for an earlier incarnation of a 4-tuple)."""
        self.connections.append((fmt_endpoint(client), fmt_endpoint(server)))
        self.connection_extra.append(dict(extra))

    def __enter__(self) -> "Recording":
        if self.quiet_timeout > 0:
            left = ss_snapshot(self.port, netns=self.netns)
            if left:
                self.log("waiting (<= %.0fs) for leftover sockets on port %d: %s"
                         % (self.quiet_timeout, self.port, left))
                left = wait_port_quiet(self.port, self.quiet_timeout,
                                       netns=self.netns)
                if left:
                    raise CaptureError("port %d still busy: %r" % (self.port, left))
        self.capture.start()
        self.log("capturing: " + self.capture.command)
        return self

    def _close_all(self) -> None:
        for s in self.sockets:
            if s.fileno() != -1:
                abort_close(s)
        self.sockets = []

    def finish(self) -> dict:
        """Settle, snapshot ss, stop capture, write the truth file, close
        the tracked sockets.  Returns the truth document."""
        time.sleep(self.settle)
        lines = ss_snapshot(self.port, netns=self.netns)
        self.capture.stop()
        if self.capture.dropped:
            raise CaptureError("%s dropped %d packets: %r"
                               % (self.capture.tool, self.capture.dropped,
                                  self.capture.stderr_lines))
        parsed = [parse_ss_line(l) for l in lines]
        conns = []
        for (client, server), extra in zip(self.connections,
                                           self.connection_extra):
            extra = dict(extra)
            cst = extra.pop("client_state", None)
            sst = extra.pop("server_state", None)
            if cst is None or sst is None:
                kc, ks = endpoint_states(parsed, client, server)
                cst = kc if cst is None else cst
                sst = ks if sst is None else sst
            entry = {"client": client, "server": server,
                     "client_state": cst, "server_state": sst}
            entry.update(extra)
            conns.append(entry)
        self.truth = write_truth(self.truth_path, self.name, self.description,
                                 self.capture.command, conns, lines,
                                 **self.truth_extra)
        self._close_all()
        _match_owner(self.capture_path, self.outdir)
        self.packets = count_packets(self.capture_path)
        self.log("%d packets -> %s" % (self.packets,
                                       os.path.basename(self.capture_path)))
        for c in conns:
            self.log("  %s -> %s : client %s, server %s"
                     % (c["client"], c["server"], c["client_state"],
                        c["server_state"]))
        return self.truth

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.truth is None:
            self.capture.stop()
            self._close_all()
            if exc_type is None:
                raise CaptureError("Recording %s left without finish()" % self.name)


def _match_owner(path: str, ref_dir: str) -> None:
    """tcpdump drops privileges and leaves its file owned by user 'tcpdump';
    give it the owner of the output directory instead (best effort)."""
    try:
        st = os.stat(ref_dir)
        os.chown(path, st.st_uid, st.st_gid)
        os.chmod(path, 0o644)          # dumpcap creates its file 0600
    except OSError:
        pass


def count_packets(path: str) -> int:
    """Number of packet records in a pcap (any magic/endianness) or pcapng
    file (EPB/SPB/PB blocks).  Stdlib-only sanity check."""
    with open(path, "rb") as fh:
        data = fh.read()
    if len(data) < 24:
        raise ValueError("%s: too short for a capture file" % path)
    magic = data[:4]
    if magic == b"\x0a\x0d\x0d\x0a":                      # pcapng
        n, off, end = 0, 0, "<"
        while off + 12 <= len(data):                  # bounded by file size
            if data[off:off + 4] == b"\x0a\x0d\x0d\x0a":   # SHB: byte order
                end = "<" if data[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            btype, blen = struct.unpack(end + "II", data[off:off + 8])
            if blen < 12:
                raise ValueError("%s: bad pcapng block at %d" % (path, off))
            if btype in (2, 3, 6):
                n += 1
            off += blen
        return n
    for end in ("<", ">"):
        if struct.unpack(end + "I", magic)[0] in (0xA1B2C3D4, 0xA1B23C4D):
            break
    else:
        raise ValueError("%s: not a pcap/pcapng file" % path)
    n, off = 0, 24
    while off + 16 <= len(data):                      # bounded by file size
        incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        off += 16 + incl
        n += 1
    return n


# --------------------------------------------------------------------------
# Command line shared by the record-*.py scripts
# --------------------------------------------------------------------------

def scenario_parser(doc: str, names: Iterable[str], outdir: str
                    ) -> argparse.ArgumentParser:
    """Parser with the optional SCENARIO list and ``--outdir`` (default
    ``outdir``); the description is the first paragraph of ``doc``."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                    help="scenarios to record (default: all): "
                         + ", ".join(names))
    ap.add_argument("--outdir", default=outdir,
                    help="output directory (default: %(default)s)")
    return ap


def chosen_scenarios(ap: argparse.ArgumentParser, args: argparse.Namespace,
                     names: Iterable[str], root_for: str) -> List[str]:
    """The scenarios named on the command line (default: all of ``names``,
    in that order).  Exits through ``ap.error`` on an unknown name or when
    not running as root (``root_for`` says why root is needed)."""
    names = list(names)
    chosen = args.scenarios or names
    bad = [n for n in chosen if n not in names]
    if bad:
        ap.error("unknown scenario(s): %s" % ", ".join(bad))
    if os.geteuid() != 0:
        ap.error("must run as root (%s)" % root_for)
    return chosen


def run_scenarios(names: Sequence[str], run_one, *, truth: str = "truth",
                  tracebacks: bool = False) -> int:
    """Record each scenario with ``run_one(name) -> (got, want)`` (lists of
    (client_state, server_state)); a failure is reported and the others
    still run.  Prints the summary; returns the exit status (1 if any
    scenario failed).  ``truth`` names the truth in the summary."""
    failed, differs = [], []
    for name in names:
        try:
            got, want = run_one(name)
        except Exception as e:          # report and continue with the others
            print("[%s] FAILED: %s: %s" % (name, type(e).__name__, e))
            if tracebacks:
                traceback.print_exc()
            failed.append(name)
            continue
        if got != want:
            differs.append((name, got, want))
    print("\nsummary: %d recorded, %d failed" % (len(names) - len(failed),
                                                len(failed)))
    for name, got, want in differs:
        print("  %s: %s %s differs from expected %s (truth kept)"
              % (name, truth, got, want))
    if failed:
        print("  failed: " + ", ".join(failed))
    return 1 if failed else 0
