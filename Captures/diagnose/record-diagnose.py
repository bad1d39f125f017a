#!/usr/bin/python3
"""Record the captures behind `wirestate diagnose`'s findings (real Linux TCP
stacks in private network namespaces) together with their truth.

    sudo /usr/bin/python3 Captures/diagnose/record-diagnose.py [SCENARIO ...]

With no argument every scenario is recorded into this folder (or into
``--outdir``): ``NAME.pcap`` + ``NAME.truth.json``.  Exit status 1 if any
scenario failed.

The scene machinery (namespaces, relay, captures, truth files) is
record-hard.py's ``Scene``, loaded from the parent folder, so these captures
are made and described exactly like the others; only the namespace prefix
differs (``wsd-``), so a run never touches another recording's namespaces.
Each scenario holds a symptom past `diagnose`'s default threshold
(``--stuck-after 2``) and takes ``ss`` inside the namespaces while every
socket is still open, so the truth shows the kernel's own view of the
symptom (CLOSE-WAIT sockets, SYN-SENT sockets, a full accept queue, the
TIME-WAIT sockets and the connect() that failed).

Scenarios (server ports 47201-47212):

* ``close-wait-stuck``: clients send a request, read the response and
  close(); the server application reads to EOF and never closes: CLOSE_WAIT
  sockets (their clients in FIN_WAIT_2), three of them held for more than
  2.5 s before a fourth request (leaked too) ends the capture.
* ``syn-unanswered``: client -> relay -> server; the relay drops every
  client -> server SYN (a filter on the path): the client retransmits its
  SYN (1 s, 3 s) and stays in SYN_SENT.
* ``listen-queue-overflow``: a listener with backlog 1 whose application
  never calls accept(); six clients connect at once.  Linux completes two
  handshakes (the accept queue holds backlog + 1), then drops the SYNs of
  the others, which retransmit them: a listener that answers some and not
  others.  ``ss -ltn`` at the end shows the full queue.
* ``handshake-stalled``: client -> relay -> server; the relay lets only the
  client's SYN through: the server answers with a SYN+ACK, the client's
  ACKs (and its retransmitted ones) never arrive, so the server sits in
  SYN_RECEIVED retransmitting its SYN+ACK.  Captured on the server side.
* ``zero-window-stall``: a receiver (SO_RCVBUF 4096) whose application stops
  reading for 6 s while the client has data queued: window 0, the client
  probes with backoff; then the server drains and both close.
* ``syn-flood``: client -> relay -> server; 60 source addresses on the
  client side each open a connection at once, and the relay lets only their
  SYNs through: 60 handshakes from 60 sources held half-open at the
  listener (SYN_RECEIVED), as a flood of spoofed SYNs leaves them.
* ``retransmission-heavy``: client -> relay (10 ms each way) -> server; the
  relay drops the first copy of every 4th client -> server data segment:
  the client retransmits about a quarter of its segments.  Captured on the
  client side, before the drops.
* ``slow-handshake``: six clients in turn connect to one listener through a
  relay that drops the first SYN of the 3rd and 5th: those two connect()s
  take about 1 s (the SYN retransmission), the others well under 1 ms.
* ``peer-vanished``: client and server namespaces joined by a bridge in a
  third one; after a request/response the client's link is deleted, its
  socket closed (the RST goes nowhere) and its namespace deleted; the server
  then sends and retransmits to a peer that no longer exists.  Captured on
  the bridge port facing the server.
* ``time-wait-pileup``: one namespace with its ephemeral port range cut to
  40000-40199 and ``tcp_tw_reuse=0``; a client loops connect/close
  (client closes first) to one listener until connect() fails with
  EADDRNOTAVAIL: every port of the range is held in TIME_WAIT.
* ``idle-reset``: two connections to one listener on lo, both ended by
  the server's RST (SO_LINGER {1, 0} then close()): the first in the
  middle of a transfer (the client has 64 KB queued, the server has read
  16 KB), the second after a request/response and 6 s of silence, as an
  application's or a middlebox's idle timeout ends a connection.
  ``ss -tanoi`` is taken just before each reset.
* ``keepalive-unanswered``: the peer-vanished topology; the server sets
  SO_KEEPALIVE with TCP_KEEPIDLE 1, TCP_KEEPINTVL 1, TCP_KEEPCNT 3; after a
  request/response the client's link and namespace are deleted.  The idle
  server's kernel sends three keep-alive probes a second apart into the
  void, then gives up with a RST.  ``ss -tanoi`` during the probes shows
  the keepalive timer and the unanswered probe count.

``--ns-prefix`` names the namespaces (default ``wsd-``), so two people can
record at once on one machine.
"""

import errno
import importlib.util
import os
import socket
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
CAPTURES = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(CAPTURES, "tools"))
import recorder as rec  # noqa: E402
import netlab as nl     # noqa: E402

nl.PREFIX = "wsd-"      # our namespaces only (cleanup_stale too)

_spec = importlib.util.spec_from_file_location(
    "record_hard", os.path.join(CAPTURES, "record-hard.py"))
hard = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hard)
hard.SCENARIOS.clear()  # only ours are registered below
scenario, anomaly, Scene = hard.scenario, hard.anomaly, hard.Scene
LO, ADDR_A, ADDR_B = hard.LO, hard.ADDR_A, hard.ADDR_B


def nonblocking_connect(ns, host, port, track):
    with ns.entered():
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    track(c)
    c.setblocking(False)
    err = c.connect_ex((host, port))
    if err not in (0, errno.EINPROGRESS):
        raise OSError(err, "connect: " + os.strerror(err))
    return c


@scenario("close-wait-stuck", expect=[("FIN_WAIT_2", "CLOSE_WAIT")] * 4)
def sc_close_wait_stuck(sc):
    port = 47201
    n = sc.ns("cw")
    sc.capture(n, "lo", port)
    ls = sc.listen(n, LO, port)
    ceps = []

    def leaky_request():
        with n.entered():
            c, cep, err = rec.connect(LO, port)
        sc.track(c)
        if err:
            raise OSError(err, "connect")
        s = sc.accept(ls)
        c.sendall(rec.REQ)
        if rec.recv_exact(s, len(rec.REQ)) != rec.REQ:
            raise AssertionError("server did not read the request")
        s.sendall(rec.RESP)
        if rec.recv_exact(c, len(rec.RESP)) != rec.RESP:
            raise AssertionError("client did not read the response")
        c.close()                              # client is done: FIN
        if rec.recv_until_eof(s) != b"":       # the server reads EOF ...
            raise AssertionError("data after the request")
        ceps.append(cep)                       # ... and never closes s

    for i in range(3):
        leaky_request()
        time.sleep(0.2)
    time.sleep(2.5)
    leaky_request()                            # the listener still serves, and leaks again
    sc.end([n], port)
    sc.write("Four clients connect to 127.0.0.1:%d in turn, send a request, "
             "read the response and close(); the server application reads "
             "each request, replies, reads EOF (recv() returns 0) and never "
             "closes its socket. Its kernel acknowledges each FIN (CLOSE_WAIT) "
             "and the clients sit in FIN_WAIT_2. The first three are 0.2 s "
             "apart; the fourth comes 2.5 s later, so the capture holds the "
             "first three in CLOSE_WAIT for more than 2.5 s (a file records "
             "no time after its last frame). ss is taken with every server fd "
             "still open." % port,
             [sc.conn(cep, (LO, port)) for cep in ceps], [])


@scenario("syn-unanswered", expect=[("SYN_SENT", "CLOSED")])
def sc_syn_unanswered(sc):
    port = 47202

    def drop(direction, frame, p):
        return (direction == "a>b" and p is not None and bool(p["flags"] & 0x02)
                and not p["flags"] & 0x10)

    a, r, b = sc.relay_topology("su", drop=drop)
    sc.capture(r, "ra", port)
    sc.listen(b, ADDR_B, port)
    c = nonblocking_connect(a, ADDR_B, port, sc.track)
    cep = c.getsockname()
    time.sleep(3.6)                            # SYN, then retransmits at ~1 s and ~3 s
    sc.end([a, b], port)
    dropped = sum(1 for _, d, act, p in sc.relay.log if act == "drop")
    sc.write("Client %s connects (non-blocking) to %s:%d, where a listener "
             "is open, through a relay namespace that drops every "
             "client->server SYN (%d dropped): a filter on the path. The "
             "client's kernel retransmits the SYN after about 1 s and 3 s and "
             "stays in SYN_SENT; captured on the relay's veth facing the "
             "client for 3.6 s." % (ADDR_A, ADDR_B, port, dropped),
             [sc.conn(cep, (ADDR_B, port))],
             [anomaly("syn-retransmission", "client",
                      "the SYN retransmitted about 1 s and 3 s after the first")])


@scenario("listen-queue-overflow",
          expect=[("ESTABLISHED", "ESTABLISHED")] * 2 + [("SYN_SENT", "CLOSED")] * 4)
def sc_listen_queue_overflow(sc):
    port = 47203
    n = sc.ns("lq")
    sc.capture(n, "lo", port)
    ls = sc.socket(n)
    ls.bind((LO, port))
    ls.listen(1)                               # never accept()ed
    clients = []
    for i in range(6):
        c = nonblocking_connect(n, LO, port, sc.track)
        clients.append(c.getsockname())
        time.sleep(0.05)
    time.sleep(3.6)                            # SYN retransmits at ~1 s and ~3 s
    lines = sc.end([n], port)
    listen = n.exec(["ss", "-ltnH", "( sport = :%d )" % port]).stdout.split("\n")
    listen = [" ".join(l.split()) for l in listen if l.strip()]
    nstat = n.exec(["nstat", "-az", "TcpExtListenOverflows", "TcpExtListenDrops"],
                   check=False).stdout.split("\n")
    nstat = [" ".join(l.split()) for l in nstat if l.strip() and not l.startswith("#")]
    sc.write("A listener on 127.0.0.1:%d with backlog 1 whose application "
             "never calls accept(); six clients connect (non-blocking) 50 ms "
             "apart. Linux completes the first two handshakes (the accept "
             "queue holds backlog + 1) and then drops the SYNs of the other "
             "four (ListenOverflows/ListenDrops), which retransmit them after "
             "about 1 s and 3 s and stay in SYN_SENT. ss_listen shows the "
             "listener's Recv-Q (queued) and Send-Q (backlog); nstat the "
             "namespace's counters at the end." % port,
             [sc.conn(cep, (LO, port)) for cep in clients],
             [anomaly("syn-retransmission", "client",
                      "connections 3-6: SYNs dropped by the full accept queue")],
             ss_listen=listen, nstat=nstat)
    del lines


@scenario("handshake-stalled", expect=[("ESTABLISHED", "SYN_RECEIVED")])
def sc_handshake_stalled(sc):
    port = 47205

    def drop(direction, frame, p):
        syn_only = p is not None and p["flags"] & 0x12 == 0x02
        return direction == "a>b" and not syn_only

    a, r, b = sc.relay_topology("hs", drop=drop)
    sc.capture(r, "rb", port)
    sc.listen(b, ADDR_B, port)
    c = nonblocking_connect(a, ADDR_B, port, sc.track)
    cep = c.getsockname()
    time.sleep(3.6)                            # SYN+ACK retransmits at ~1 s and ~3 s
    sc.end([a, b], port)
    dropped = sum(1 for _, d, act, p in sc.relay.log if act == "drop")
    sc.write("Client %s connects (non-blocking) to a listener on %s:%d "
             "through a relay namespace that forwards only the client's SYN "
             "and drops every other client->server frame (%d dropped). The "
             "server answers with a SYN+ACK; the client, ESTABLISHED, "
             "acknowledges it and every retransmission of it, but none of "
             "those ACKs arrive: the server stays in SYN_RECEIVED and "
             "retransmits its SYN+ACK after about 1 s and 3 s. Captured on "
             "the relay's veth facing the server for 3.6 s."
             % (ADDR_A, ADDR_B, port, dropped),
             [sc.conn(cep, (ADDR_B, port))],
             [anomaly("synack-retransmission", "server",
                      "the SYN+ACK retransmitted about 1 s and 3 s after the first")])


@scenario("zero-window-stall", expect=[("TIME_WAIT", "CLOSED")])
def sc_zero_window_stall(sc):
    port = 47206
    n = sc.ns("zw")
    sc.capture(n, "lo", port)
    ls = sc.socket(n)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)   # before listen
    ls.bind((LO, port))
    ls.listen(4)
    c = sc.socket(n)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
    c.connect((LO, port))
    cep = c.getsockname()
    s = sc.accept(ls)
    c.setblocking(False)
    total, chunk = 0, b"z" * 1000
    for _ in range(200):                       # fill until EAGAIN twice
        try:
            total += c.send(chunk)
        except BlockingIOError:
            time.sleep(0.05)
            try:
                total += c.send(chunk)
            except BlockingIOError:
                break
    time.sleep(6.0)                            # the application does not read
    mid = n.ss(port)
    got = 0
    for _ in range(1000):                      # drain
        if got >= total:
            break
        got += len(s.recv(65536))
    if got != total:
        raise AssertionError("drained %d of %d" % (got, total))
    c.settimeout(rec.DEFAULT_TIMEOUT)
    hard.end_client_close(c, s)
    sc.end([n], port)
    sc.write("Server socket with SO_RCVBUF 4096 (set on the listener before "
             "listen()); its application stops reading. The client "
             "(SO_SNDBUF 8192) writes non-blocking until EAGAIN (%d bytes "
             "queued); the server's window closes to 0 and the client kernel "
             "probes it with exponential backoff for 6 s "
             "(ss_during_zero_window: Recv-Q of the server, Send-Q of the "
             "client). Then the server drains, the window reopens, the client "
             "closes first and the server closes." % total,
             [sc.conn(cep, (LO, port))],
             [anomaly("zero-window", "server", "the receiver advertises window 0 "
                      "while its application does not read"),
              anomaly("zero-window-probe", "client", "probes 0.2, 0.6, 1.4, 3.0 s "
                      "after the window closed, until it reopens")],
             ss_during_zero_window=mid)


@scenario("syn-flood", expect=[("ESTABLISHED", "SYN_RECEIVED")] * 60)
def sc_syn_flood(sc):
    port = 47207
    sources = ["10.201.0.%d" % (101 + i) for i in range(60)]

    def drop(direction, frame, p):
        syn_only = p is not None and p["flags"] & 0x12 == 0x02
        return direction == "a>b" and p is not None and not syn_only

    a, r, b = sc.relay_topology("sf", drop=drop)
    for s in sources:
        a.ip("addr", "add", s + "/24", "dev", "a0")
        b.ip("neigh", "add", s, "lladdr", hard.MAC_A, "dev", "b0", "nud", "permanent")
    sc.capture(r, "rb", port)
    with b.entered():
        ls = sc.track(rec.listen(ADDR_B, port, backlog=128))
    ceps = []
    for s in sources:
        with a.entered():
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sc.track(c)
        c.bind((s, 0))
        c.setblocking(False)
        err = c.connect_ex((ADDR_B, port))
        if err not in (0, errno.EINPROGRESS):
            raise OSError(err, "connect: " + os.strerror(err))
        ceps.append(c.getsockname())
    time.sleep(2.5)                            # one SYN+ACK retransmission each (~1 s)
    lines = sc.end([a, b], port)
    recv = sum(1 for l in lines if l.startswith("SYN-RECV"))
    nstat = b.exec(["nstat", "-az", "TcpExtSyncookiesSent", "TcpExtListenDrops", "TcpExtTCPReqQFullDrop"],
                   check=False).stdout.split("\n")
    nstat = [" ".join(l.split()) for l in nstat if l.strip() and not l.startswith("#")]
    del ls
    sc.write("60 source addresses (10.201.0.101-160 on the client namespace's veth) each connect "
             "(non-blocking) at once to a listener on %s:%d (backlog 128) through a relay "
             "namespace that forwards only SYNs from the client side, as a flood of spoofed "
             "SYNs would reach a server: every handshake stays half-open at the listener, which "
             "retransmits its SYN+ACKs. ss shows %d SYN-RECV sockets on the server; captured "
             "on the relay's veth facing the server for 2.5 s." % (ADDR_B, port, recv),
             [sc.conn(cep, (ADDR_B, port)) for cep in ceps],
             [anomaly("synack-retransmission", "server", "each SYN+ACK retransmitted after about 1 s")],
             nstat=nstat)


@scenario("retransmission-heavy", expect=[("TIME_WAIT", "CLOSED")])
def sc_retransmission_heavy(sc):
    port = 47208
    state = {"n": 0, "seen": set(), "dropped": 0}

    def drop(direction, frame, p):
        if direction != "a>b" or p is None or p["plen"] == 0 or p["seq"] in state["seen"]:
            return False
        state["seen"].add(p["seq"])            # only first copies are dropped
        state["n"] += 1
        if state["n"] % 4 == 0:
            state["dropped"] += 1
            return True
        return False

    a, r, b = sc.relay_topology("rh", delay_ab=0.01, delay_ba=0.01, drop=drop)
    sc.capture(r, "ra", port)
    c, s, cep = sc.connected(a, b, ADDR_B, port)
    payload = bytes((i * 13) & 0xFF for i in range(40000))
    c.sendall(payload)
    assert rec.recv_exact(s, len(payload)) == payload
    s.sendall(b"got 40000 bytes\n")
    assert rec.recv_exact(c, 16) == b"got 40000 bytes\n"
    hard.end_client_close(c, s)
    sc.end([a, b], port)
    sc.write("Client %s sends 40000 bytes to %s:%d through a relay namespace "
             "(10 ms each way) that drops the first copy of every 4th "
             "client->server data segment (%d dropped); SACK is on. The "
             "server reads everything and replies, the client closes first. "
             "Captured on the relay's veth facing the client: every original "
             "and every retransmission is in the file."
             % (ADDR_A, ADDR_B, port, state["dropped"]),
             [sc.conn(cep, (ADDR_B, port))],
             [anomaly("retransmission", "client", "about one segment in four, resent")])


@scenario("slow-handshake", expect=[("TIME_WAIT", "CLOSED")] * 6)
def sc_slow_handshake(sc):
    port = 47209
    state = {"ports": [], "dropped": []}

    def drop(direction, frame, p):
        if direction != "a>b" or p is None or p["flags"] & 0x12 != 0x02 or p["sport"] in state["ports"]:
            return False                       # only a connection's first SYN
        state["ports"].append(p["sport"])
        if len(state["ports"]) in (3, 5):
            state["dropped"].append(p["sport"])
            return True
        return False

    a, r, b = sc.relay_topology("sh", drop=drop)
    sc.capture(r, "ra", port)
    ls = sc.listen(b, ADDR_B, port)
    ceps, took = [], []
    for i in range(6):
        with a.entered():
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sc.track(c)
        t0 = time.monotonic()
        c.connect((ADDR_B, port))
        took.append(round(time.monotonic() - t0, 4))
        ceps.append(c.getsockname())
        s = sc.accept(ls)
        hard.exchange(c, s)
        hard.end_client_close(c, s)
        time.sleep(0.1)
    sc.end([a, b], port)
    sc.write("Six clients from %s connect in turn to %s:%d through a relay namespace that drops "
             "the first SYN of the 3rd and 5th connection attempts (source ports %s); each then "
             "exchanges a request and response and closes first. connect() took %r seconds: the "
             "two whose first SYN was lost waited for the SYN retransmission (about 1 s)."
             % (ADDR_A, ADDR_B, port, state["dropped"], took),
             [sc.conn(cep, (ADDR_B, port)) for cep in ceps],
             [anomaly("syn-retransmission", "client", "connections 3 and 5: the first SYN was dropped")],
             connect_seconds=took)


@scenario("peer-vanished", expect=[("CLOSED", "ESTABLISHED")])
def sc_peer_vanished(sc):
    port = 47210
    a, sw, b = sc.ns("pv-a"), sc.ns("pv-s"), sc.ns("pv-b")
    nl.veth(a, "a0", sw, "pa", mac1=hard.MAC_A, addr1=ADDR_A + "/24")
    nl.veth(b, "b0", sw, "pb", mac1=hard.MAC_B, addr1=ADDR_B + "/24")
    sw.ip("link", "add", "br0", "type", "bridge")
    for port_if in ("pa", "pb"):
        sw.ip("link", "set", port_if, "master", "br0")
    sw.ip("link", "set", "br0", "up")
    a.ip("neigh", "add", ADDR_B, "lladdr", hard.MAC_B, "dev", "a0", "nud", "permanent")
    b.ip("neigh", "add", ADDR_A, "lladdr", hard.MAC_A, "dev", "b0", "nud", "permanent")
    sc.capture(sw, "pb", port)
    c, s, cep = sc.connected(a, b, ADDR_B, port)
    hard.exchange(c, s)
    time.sleep(0.2)
    a.ip("link", "del", "a0")                  # the client's host loses its network ...
    rec.abort_close(c)                         # ... its process dies (the RST has no way out) ...
    a.delete()                                 # ... and the host is gone
    time.sleep(0.2)
    s.sendall(b"are you still there?\n")       # retransmitted into the void
    time.sleep(3.3)
    sc.end([b], port)
    sc.write("Client %s and server %s:%d in two namespaces joined by a bridge in a third. "
             "After a request/response the client's veth is deleted, its socket closed "
             "abortively (the RST has no interface to leave by) and its namespace deleted: "
             "the peer vanishes without a trace on the wire. The server, still ESTABLISHED, "
             "sends 21 bytes and retransmits them with exponential backoff for 3.3 s. "
             "Captured on the bridge port facing the server; ss taken in the server's "
             "namespace (the client's no longer exists)." % (ADDR_A, ADDR_B, port),
             [sc.conn(cep, (ADDR_B, port))],
             [anomaly("retransmission", "server", "the 21 bytes, resent to a peer that is gone"),
              anomaly("peer-unresponsive", "client", "presumed gone after 3 unanswered retransmissions")])


@scenario("time-wait-pileup", expect=[("TIME_WAIT", "CLOSED")] * 200)
def sc_time_wait_pileup(sc):
    port = 47204
    n = sc.ns("tw")
    n.sysctl_set("net.ipv4.ip_local_port_range", "40000 40199")
    n.sysctl_set("net.ipv4.tcp_tw_reuse", "0")
    sc.capture(n, "lo", port)
    ls = sc.listen(n, LO, port)
    ceps, failure = [], None
    for i in range(400):                       # bounded: the range has 200 ports
        with n.entered():
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        err = c.connect_ex((LO, port))
        if err:
            failure = "connect() #%d failed: %s (%s)" % (i + 1, errno.errorcode.get(err, err),
                                                          os.strerror(err))
            c.close()
            break
        ceps.append(c.getsockname())
        s, _ = ls.accept()
        c.close()                              # client first: it keeps TIME_WAIT
        s.recv(16)                             # EOF
        s.close()
        time.sleep(0.005)                      # keep tcpdump's ring from overflowing
    if failure is None:
        raise AssertionError("400 connections and no port exhaustion")
    sc.log(failure)
    time.sleep(0.3)
    lines = sc.end([n], port)
    tw = sum(1 for l in lines if l.startswith("TIME-WAIT"))
    # The truth lists every connection; its final states come from ss.
    conns = [sc.conn(cep, (LO, port)) for cep in ceps]
    sc.write("One namespace with net.ipv4.ip_local_port_range = 40000 40199 "
             "(200 ephemeral ports) and tcp_tw_reuse = 0. A client loops: "
             "connect() to 127.0.0.1:%d, close() first (the client keeps "
             "TIME_WAIT), the server reads EOF and closes; until connect() "
             "fails. %s after %d connections; ss then shows %d TIME-WAIT "
             "sockets." % (port, failure, len(ceps), tw),
             conns, [], connect_failure=failure)


def ss_tanoi(ns, port):
    """``ss -tanoi`` for the port inside ``ns``: states with timers
    (keepalive, on = retransmission) and the TCP info (rtt, retrans, unacked,
    lastsnd/lastrcv), one socket a line."""
    out = ns.exec(["ss", "-tanoiH", "state", "all",
                   "( sport = :%d or dport = :%d )" % (port, port)]).stdout
    lines, cur = [], ""
    for l in out.splitlines():
        if not l.strip():
            continue
        if l[0].isspace():                     # the info line belongs to the socket above
            cur += " " + " ".join(l.split())
        else:
            if cur:
                lines.append(cur)
            cur = " ".join(l.split())
    if cur:
        lines.append(cur)
    return lines


@scenario("idle-reset", expect=[("CLOSED", "CLOSED")] * 2)
def sc_idle_reset(sc):
    port = 47211
    n = sc.ns("ir")
    sc.capture(n, "lo", port)
    ls = sc.listen(n, LO, port)
    # 1: reset in the middle of a transfer (the server closes with unread data, linger 0).
    with n.entered():
        c1, cep1, err = rec.connect(LO, port)
    sc.track(c1)
    if err:
        raise OSError(err, "connect")
    s1 = sc.accept(ls)
    c1.setblocking(False)
    queued = 0
    for _ in range(64):
        try:
            queued += c1.send(b"d" * 1024)
        except BlockingIOError:
            break
    got = 0
    while got < 16384:
        got += len(s1.recv(16384 - got))
    busy = ss_tanoi(n, port)
    rec.abort_close(s1)
    time.sleep(0.3)
    # 2: request/response, then 6 s of silence, then the server resets (an idle timeout).
    with n.entered():
        c2, cep2, err = rec.connect(LO, port)
    sc.track(c2)
    if err:
        raise OSError(err, "connect")
    s2 = sc.accept(ls)
    hard.exchange(c2, s2)
    time.sleep(6.0)
    idle = ss_tanoi(n, port)
    rec.abort_close(s2)
    time.sleep(0.2)
    sc.end([n], port)
    sc.write("Two clients connect in turn to 127.0.0.1:%d. The first queues %d bytes "
             "(non-blocking); the server reads 16384 of them and closes with "
             "SO_LINGER {1, 0} while the rest is unread: a RST in the middle of a "
             "transfer. The second exchanges a request and response; both sides "
             "then stay silent for 6 s and the server closes with SO_LINGER {1, 0}: "
             "a RST after a long idle period, as an idle timeout sends it. "
             "ss_tanoi_busy and ss_tanoi_idle are `ss -tanoi` just before each "
             "reset (lastsnd/lastrcv: ms since the socket last sent/received)."
             % (port, queued),
             [sc.conn(cep1, (LO, port)), sc.conn(cep2, (LO, port))], [],
             ss_tanoi_busy=busy, ss_tanoi_idle=idle)


@scenario("keepalive-unanswered", expect=[("CLOSED", "CLOSED")])
def sc_keepalive_unanswered(sc):
    port = 47212
    a, sw, b = sc.ns("ku-a"), sc.ns("ku-s"), sc.ns("ku-b")
    nl.veth(a, "a0", sw, "pa", mac1=hard.MAC_A, addr1=ADDR_A + "/24")
    nl.veth(b, "b0", sw, "pb", mac1=hard.MAC_B, addr1=ADDR_B + "/24")
    sw.ip("link", "add", "br0", "type", "bridge")
    for port_if in ("pa", "pb"):
        sw.ip("link", "set", port_if, "master", "br0")
    sw.ip("link", "set", "br0", "up")
    a.ip("neigh", "add", ADDR_B, "lladdr", hard.MAC_B, "dev", "a0", "nud", "permanent")
    b.ip("neigh", "add", ADDR_A, "lladdr", hard.MAC_A, "dev", "b0", "nud", "permanent")
    sc.capture(sw, "pb", port)
    c, s, cep = sc.connected(a, b, ADDR_B, port)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
    hard.exchange(c, s)
    time.sleep(0.2)
    a.ip("link", "del", "a0")                  # the client's host loses its network ...
    rec.abort_close(c)                         # ... its process dies (the RST has no way out) ...
    a.delete()                                 # ... and the host is gone
    time.sleep(2.6)                            # probes at ~1 s and ~2 s after the exchange
    probing = ss_tanoi(b, port)
    time.sleep(2.4)                            # the 3rd probe, then the kernel gives up: RST
    sc.end([b], port)
    sc.write("Client %s and server %s:%d in two namespaces joined by a bridge in a third. "
             "The server sets SO_KEEPALIVE, TCP_KEEPIDLE 1, TCP_KEEPINTVL 1, TCP_KEEPCNT 3. "
             "After a request/response the client's veth is deleted, its socket closed "
             "abortively (the RST has no interface to leave by) and its namespace deleted. "
             "The idle server's kernel probes the vanished client with a keep-alive about "
             "every second; none is answered, and after the third it resets the connection "
             "(ETIMEDOUT for the application). ss_tanoi_probing is `ss -tanoi` in the "
             "server's namespace between the probes (timer:(keepalive,…,N): N probes "
             "unanswered); captured on the bridge port facing the server."
             % (ADDR_A, ADDR_B, port),
             [sc.conn(cep, (ADDR_B, port), client_state="CLOSED")],
             [anomaly("keep-alive", "server", "three probes a second apart, none answered")],
             ss_tanoi_probing=probing)


def main():
    hard.VERBOSE = True
    ap = rec.scenario_parser(__doc__, hard.SCENARIOS, HERE)
    ap.add_argument("--ns-prefix", default="wsd-",
                    help="prefix of the namespaces made (default: %(default)s)")
    args = ap.parse_args()
    nl.PREFIX = args.ns_prefix
    names = rec.chosen_scenarios(ap, args, hard.SCENARIOS, "namespaces, packet capture")
    stale = nl.cleanup_stale()
    if stale:
        print("removed namespaces left by an interrupted run: %s" % ", ".join(stale))
    return rec.run_scenarios(names, lambda name: hard.run(name, args.outdir),
                             tracebacks=True)


if __name__ == "__main__":
    sys.exit(main())
