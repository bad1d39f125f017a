#!/usr/bin/python3
"""Record the hard WireState captures (real Linux TCP stacks, private network
namespaces, a user-space delaying/dropping relay, and a scripted TUN peer)
together with their truth.

    sudo /usr/bin/python3 Captures/record-hard.py [SCENARIO ...]

With no argument every scenario is recorded.  Each scenario writes one or
more ``NAME.pcap`` + ``NAME.truth.json`` pairs next to this script (or into
``--outdir``).  The exit status is 1 if any scenario failed.

Everything runs inside network namespaces this script creates (named
``wshard-*``) and deletes again in ``finally`` blocks, so no traffic touches
the host's interfaces, no host sysctl is changed, and no TIME_WAIT of an
earlier run can get in the way (each run starts from empty namespaces).
Three kinds of set-up are used (see tools/netlab.py):

* one namespace, traffic on its own ``lo`` (TFO, keep-alive, zero window,
  port reuse, midstream);
* ``client ns --veth-- relay ns --veth-- server ns``: a Python AF_PACKET
  relay forwards Ethernet frames between the two veths after a chosen
  delay, or drops chosen frames (ip_forward = 0 in the relay namespace, so
  only the relay moves packets).  Captures are taken with tcpdump on a
  relay-namespace veth, i.e. on the wire between the hosts;
* a TUN device: the kernel owns 10.202.0.1, the peer 10.202.0.2 is routed
  into the TUN and is played by tools/tunpeer.py (scapy), so a scripted,
  misbehaving peer talks to a real kernel socket.  Captured on the TUN
  (LINKTYPE_RAW).

Truth: for kernel endpoints, the state ``ss`` reports inside the
namespace(s) while every socket is still open (after 0.3 s of settle time,
before the capture stops), like tools/recorder.Recording.  For the scripted
peer, the state its own script implies (marked ``"scripted": "client"`` or
``"server"`` on the connection).  ``expected_anomalies`` lists what the
script did on purpose.  See README.md, "Hard scenarios".

Each scenario is a function registered with ``@scenario(name, expect=...)``
that gets a :class:`Scene` (namespaces, captures, sockets, relay and TUN fds,
all cleaned up afterwards) and states only what is particular to it: its
set-up, its steps, its description and its expected anomalies.
"""

import errno
import os
import select
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True          # keep tools/ free of __pycache__
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "tools"))
import recorder as rec  # noqa: E402
import netlab as nl     # noqa: E402
from recorder import exchange, end_client_close, end_server_close  # noqa: E402

socket.setdefaulttimeout(rec.DEFAULT_TIMEOUT)

ADDR_A, ADDR_B = "10.201.0.1", "10.201.0.2"           # relay set-up
MAC_A, MAC_B = "02:00:00:00:0a:01", "02:00:00:00:0b:01"
TUN_KERNEL, TUN_PEER = "10.202.0.1", "10.202.0.2"     # TUN set-up
LO = "127.0.0.1"
TUN_IF = "wshtun0"
SETTLE = 0.3

VERBOSE = True


def log(name, msg):
    if VERBOSE:
        print("[%s] %s" % (name, msg), flush=True)


def anomaly(code, endpoint, note):
    return {"code": code, "endpoint": endpoint, "note": note}


def conn(client, server, cst, sst, **extra):
    d = {"client": rec.fmt_endpoint(client), "server": rec.fmt_endpoint(server),
         "client_state": cst, "server_state": sst}
    d.update(extra)
    return d


def states(ss_lines, client, server):
    return rec.endpoint_states([rec.parse_ss_line(l) for l in ss_lines],
                               client, server)


def bound_socket(ns, host, port, reuse=True):
    with ns.entered():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if reuse:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    return s


def wait_connected(s, timeout=5.0):
    _, w, _ = select.select([], [s], [], timeout)
    if not w:
        raise TimeoutError("connect did not complete")
    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if err:
        raise OSError(err, "connect: " + os.strerror(err))
    s.settimeout(rec.DEFAULT_TIMEOUT)


def first_syn_sport(path):
    """Source port of the first SYN (without ACK) in a capture."""
    out = subprocess.run(
        ["tshark", "-r", path, "-Y", "tcp.flags.syn == 1 && tcp.flags.ack == 0",
         "-T", "fields", "-e", "tcp.srcport"],
        capture_output=True, text=True, timeout=30, check=True).stdout.split()
    if not out:
        raise AssertionError("no SYN in %s" % path)
    return int(out[0])


def find_frame(path, port, seq, plen):
    """1-based number of the frame carrying client->server data at absolute
    seq ``seq`` with ``plen`` bytes (exactly one expected)."""
    out = subprocess.run(
        ["tshark", "-r", path, "-o", "tcp.relative_sequence_numbers:FALSE",
         "-Y", "tcp.dstport == %d && tcp.seq == %d && tcp.len == %d"
         % (port, seq, plen), "-T", "fields", "-e", "frame.number"],
        capture_output=True, text=True, timeout=30, check=True).stdout.split()
    if len(out) != 1:
        raise AssertionError("expected one frame with seq %d, got %r" % (seq, out))
    return int(out[0])


# ---------------------------------------------------------------------------
# Scene: namespaces, captures, sockets, relay, TUN fd - all cleaned up
# ---------------------------------------------------------------------------

class Scene:
    """One scenario run.  Every capture, socket, relay, TUN fd and namespace
    it creates is released by :meth:`cleanup`; tracked sockets are closed
    abortively only then, after the captures have stopped.

    The usual course: set up (:meth:`ns`, :meth:`relay_topology`,
    :class:`Tun`), :meth:`capture`, sockets (:meth:`listen`,
    :meth:`connected`, ...), the scenario's steps, :meth:`end` (settle, ss,
    stop the captures), then :meth:`write` with connections from
    :meth:`conn`, whose states default to what the final ss says."""

    def __init__(self, name, outdir):
        self.name = name
        self.outdir = outdir
        self.lab = nl.Lab()
        self.captures = {}              # file stem -> rec.Capture
        self.sockets = []
        self.relay = None
        self.fds = []
        self.ss = None                  # final ss lines (end())
        self.written = []               # truth docs written

    def log(self, msg):
        log(self.name, msg)

    def path(self, stem=None):
        return os.path.join(self.outdir, (stem or self.name) + ".pcap")

    # -- set-ups -----------------------------------------------------------
    def ns(self, short):
        return self.lab.netns(short)

    def relay_topology(self, prefix, delay_ab=0.0, delay_ba=0.0, drop=None):
        """client ns (a0, ADDR_A) - relay ns (ra | rb) - server ns (b0,
        ADDR_B); static neighbours so no ARP is needed; relay started."""
        a = self.ns(prefix + "-a")
        r = self.ns(prefix + "-r")
        b = self.ns(prefix + "-b")
        r.sysctl_set("net.ipv4.ip_forward", "0")
        nl.veth(a, "a0", r, "ra", mac1=MAC_A, addr1=ADDR_A + "/24")
        nl.veth(b, "b0", r, "rb", mac1=MAC_B, addr1=ADDR_B + "/24")
        a.ip("neigh", "add", ADDR_B, "lladdr", MAC_B, "dev", "a0", "nud", "permanent")
        b.ip("neigh", "add", ADDR_A, "lladdr", MAC_A, "dev", "b0", "nud", "permanent")
        self.relay = nl.Relay(r, "ra", "rb", delay_ab=delay_ab,
                              delay_ba=delay_ba, drop=drop).start()
        return a, r, b

    def capture(self, netns, iface, port, stem=None):
        """Start tcpdump on ``iface`` in ``netns`` for ``tcp port PORT`` into
        STEM.pcap (default stem: the scenario name)."""
        stem = stem or self.name
        cap = rec.Capture(self.path(stem), "tcp port %d" % port,
                          iface=iface, netns=netns.name)
        self.captures[stem] = cap
        cap.start()
        self.log("capturing: " + cap.command)
        return cap

    # -- sockets (tracked: kept open until after the capture) --------------
    def track(self, s):
        self.sockets.append(s)
        return s

    def socket(self, ns):
        with ns.entered():
            return self.track(socket.socket(socket.AF_INET, socket.SOCK_STREAM))

    def listen(self, ns, host, port):
        with ns.entered():
            return self.track(rec.listen(host, port))

    def accept(self, ls):
        s, _ = rec.accept(ls)
        return self.track(s)

    def connected(self, client_ns, server_ns, host, port):
        """Listener on host:port in ``server_ns``, connect from
        ``client_ns``, accept.  Returns (client, server, client endpoint)."""
        ls = self.listen(server_ns, host, port)
        with client_ns.entered():
            c, cep, err = rec.connect(host, port)
        self.track(c)
        if err:
            raise OSError(err, "connect")
        return c, self.accept(ls), cep

    # -- ending ------------------------------------------------------------
    def end(self, namespaces, port, settle=SETTLE):
        """Settle, take the ss lines of every namespace (concatenated, kept
        as the truth's ``ss``), stop the captures.  Returns the ss lines."""
        time.sleep(settle)
        lines = []
        for ns in namespaces:
            lines += ns.ss(port)
        self.stop_captures()
        self.ss = lines
        return lines

    def stop_captures(self):
        if self.relay is not None and self.relay.errors:
            raise RuntimeError("relay errors: %r" % self.relay.errors[:5])
        for stem, cap in self.captures.items():
            cap.stop()
            if cap.dropped:
                raise rec.CaptureError("%s: tcpdump dropped %d packets"
                                       % (stem, cap.dropped))
            rec._match_owner(cap.path, self.outdir)

    def conn(self, client, server, client_state=None, server_state=None,
             **extra):
        """A truth connection; a state not given is what the final ss
        reports for that endpoint."""
        if client_state is None or server_state is None:
            kc, ks = states(self.ss, client, server)
            client_state = kc if client_state is None else client_state
            server_state = ks if server_state is None else server_state
        return conn(client, server, client_state, server_state, **extra)

    def write(self, description, connections, expected, stem=None,
              recorded_with=None, **extra):
        """Write STEM.truth.json (default stem: the scenario name) with the
        final ss lines; check the capture is not empty and not too big."""
        stem = stem or self.name
        cap = self.captures.get(stem)
        cmd = recorded_with or cap.command
        path = os.path.join(self.outdir, stem + ".truth.json")
        doc = rec.write_truth(path, stem, description, cmd, connections,
                              self.ss, expected_anomalies=expected, **extra)
        pcap = self.path(stem)
        n = rec.count_packets(pcap)
        size = os.path.getsize(pcap)
        self.log("%d packets, %d bytes -> %s" % (n, size, stem + ".pcap"))
        if n == 0:
            raise rec.CaptureError("%s: empty capture" % stem)
        if size > 200 * 1024:
            raise rec.CaptureError("%s: capture too big (%d bytes)" % (stem, size))
        for c in connections:
            self.log("  %s -> %s : client %s, server %s%s"
                     % (c["client"], c["server"], c["client_state"],
                        c["server_state"],
                        "" if "incarnation" not in c
                        else " (incarnation %d)" % c["incarnation"]))
        self.written.append(doc)
        return doc

    def close_sockets(self):
        for s in self.sockets:
            try:
                if s.fileno() != -1:
                    rec.abort_close(s)
            except OSError:
                pass
        self.sockets = []

    def cleanup(self):
        for cap in self.captures.values():
            try:
                cap.stop()
            except Exception as e:
                self.log("stopping capture: %s" % e)
        if self.relay is not None:
            self.relay.stop()
            if self.relay.errors:
                self.log("relay errors: %r" % self.relay.errors[:5])
        self.close_sockets()
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds = []
        self.lab.close()


# ---------------------------------------------------------------------------
# Scenario registry
# ---------------------------------------------------------------------------

SCENARIOS = {}          # name -> dict(fn, expect, outputs, tun), in order


def scenario(name, expect, outputs=None, tun=False):
    """Register the decorated ``fn(scene)`` as scenario ``name``.
    ``expect``: the (client_state, server_state) we expect per connection
    (the summary compares the truth with it); ``outputs``: the file stems
    it writes (default ``[name]``); ``tun``: needs scapy."""
    def register(fn):
        SCENARIOS[name] = dict(fn=fn, expect=[tuple(e) for e in expect],
                               outputs=outputs or [name], tun=tun)
        return fn
    return register


# ===========================================================================
# Kernel-truth scenarios
# ===========================================================================

@scenario("simultaneous-open", expect=[("ESTABLISHED", "ESTABLISHED")])
def sc_simultaneous_open(sc):
    """Two bound sockets connect() to each other while the relay delays
    every frame by 100 ms, so the SYNs cross on the wire."""
    pa, pb = 47101, 47102
    a, r, b = sc.relay_topology("so", delay_ab=0.1, delay_ba=0.1)
    sc.capture(r, "ra", pa)
    sa = sc.track(bound_socket(a, ADDR_A, pa))
    sb = sc.track(bound_socket(b, ADDR_B, pb))
    sa.setblocking(False)
    sb.setblocking(False)
    e1 = sa.connect_ex((ADDR_B, pb))          # A's SYN first ...
    e2 = sb.connect_ex((ADDR_A, pa))          # ... B's microseconds later
    if e1 != errno.EINPROGRESS or e2 != errno.EINPROGRESS:
        raise AssertionError("connect_ex: %d %d" % (e1, e2))
    wait_connected(sa)
    wait_connected(sb)
    syns = [p for _, d, act, p in sc.relay.log
            if p and p["flags"] & 0x12 == 0x02]
    if len({(p["sport"]) for p in syns}) != 2:
        raise AssertionError("SYNs did not cross: %r" % syns)
    exchange(sa, sb, b"ping\n", b"pong\n")
    time.sleep(0.5)                           # last ACK through the relay
    sc.end([a, b], pa)
    if first_syn_sport(sc.path()) != pa:
        raise AssertionError("expected %s's SYN first in the file" % ADDR_A)
    sc.write("Simultaneous open through a relay namespace that delays every "
             "frame by 100 ms each way: %s:%d and %s:%d are both bound "
             "(SO_REUSEADDR) and connect() to each other within microseconds, "
             "so each SYN reaches a socket in SYN_SENT; both answer SYN+ACK, "
             "then 'ping'/'pong' is exchanged and both sockets stay open. "
             "Captured on the relay's veth facing %s (the 'client', whose "
             "SYN is seen first)." % (ADDR_A, pa, ADDR_B, pb, ADDR_A),
             [sc.conn((ADDR_A, pa), (ADDR_B, pb))],
             [anomaly("simultaneous-open", "client",
                      "client's SYN crossed the server's SYN; the client "
                      "received a SYN while in SYN_SENT"),
              anomaly("simultaneous-open", "server",
                      "the server also received a SYN while in SYN_SENT")])


@scenario("simultaneous-open-lo", expect=[("ESTABLISHED", "ESTABLISHED")])
def sc_simultaneous_open_lo(sc):
    """The loopback version: on lo a SYN is processed before connect()
    returns, so the two connect() calls must overlap within microseconds.
    Two processes pinned to different CPUs spin until the same instant and
    then connect(); a try either gives a simultaneous open or (mostly) two
    refused connects.  Each try gets its own capture; failed tries' files
    are overwritten.  At most MAX_TRIES tries."""
    MAX_TRIES = 40
    pa, pb = 47131, 47132
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        raise RuntimeError("needs 2 CPUs to make the connect() calls overlap")
    n = sc.ns("sl")
    saved_affinity = os.sched_getaffinity(0)
    tries, done = 0, None
    try:
        for tries in range(1, MAX_TRIES + 1):
            cap = sc.capture(n, "lo", pa)
            sa = bound_socket(n, LO, pa)
            sb = bound_socket(n, LO, pb)
            sa.setblocking(False)
            sb.setblocking(False)
            start = time.monotonic_ns() + 20000000          # +20 ms
            skew = (tries % 10) * 1000                       # 0..9 us
            pid = os.fork()
            if pid == 0:                                     # child: B
                try:
                    os.sched_setaffinity(0, {cpus[1]})
                    while time.monotonic_ns() < start:       # bounded: 20 ms
                        pass
                    sb.connect_ex((LO, pa))
                finally:
                    os._exit(0)
            os.sched_setaffinity(0, {cpus[0]})
            while time.monotonic_ns() < start + skew:        # bounded
                pass
            sa.connect_ex((LO, pb))
            os.sched_setaffinity(0, saved_affinity)
            os.waitpid(pid, 0)
            errs = []
            for s in (sa, sb):
                select.select([], [s], [], 2.0)
                errs.append(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
            if errs == [0, 0]:
                sc.track(sa)
                sc.track(sb)
                done = (sa, sb)
                break
            cap.stop()                     # failed try: drop its capture
            rec.abort_close(sa)
            rec.abort_close(sb)
    finally:
        os.sched_setaffinity(0, saved_affinity)
    if done is None:
        raise RuntimeError("no simultaneous open in %d tries" % MAX_TRIES)
    sc.log("simultaneous open on try %d" % tries)
    sa, sb = done
    sa.settimeout(rec.DEFAULT_TIMEOUT)
    sb.settimeout(rec.DEFAULT_TIMEOUT)
    exchange(sa, sb, b"ping\n", b"pong\n")
    sc.end([n], pa)
    # 'client' = the endpoint whose SYN is first in the file
    first = first_syn_sport(sc.path())
    ca, cb = ((LO, pa), (LO, pb)) if first == pa else ((LO, pb), (LO, pa))
    sc.write("Simultaneous open on 127.0.0.1 (inside a private namespace): "
             "sockets bound to ports %d and %d (SO_REUSEADDR) connect() to "
             "each other from two processes pinned to different CPUs that "
             "spin until the same monotonic instant (the one on port %d "
             "starts 0-9 us later). Most tries end with both refused (a SYN "
             "reaches a socket that is not yet in SYN_SENT); this file is "
             "try %d, where both SYNs met sockets in SYN_SENT. Then "
             "'ping'/'pong'; both sockets stay open. Which SYN comes first "
             "is a matter of timing: the 'client' is the endpoint whose SYN "
             "is first in the file (this time port %d)."
             % (pa, pb, pa, tries, ca[1]),
             [sc.conn(ca, cb)],
             [anomaly("simultaneous-open", "client",
                      "the client received a SYN while in SYN_SENT"),
              anomaly("simultaneous-open", "server",
                      "the server received a SYN while in SYN_SENT")],
             tries=tries)


@scenario("simultaneous-close", expect=[("TIME_WAIT", "TIME_WAIT")])
def sc_simultaneous_close(sc):
    port = 47103
    a, r, b = sc.relay_topology("sc", delay_ab=0.1, delay_ba=0.1)
    sc.capture(r, "ra", port)
    c, s, cep = sc.connected(a, b, ADDR_B, port)
    sep = (ADDR_B, port)
    exchange(c, s)
    time.sleep(0.6)                           # every ACK delivered
    c.shutdown(socket.SHUT_WR)                # both FINs leave at once
    s.shutdown(socket.SHUT_WR)
    t0 = time.monotonic()
    timeline, last = [], None
    for _ in range(60):                       # <= ~1.2 s
        sa = states(a.ss(port), cep, sep)[0]
        sb = states(b.ss(port), cep, sep)[1]
        if (sa, sb) != last:
            timeline.append({"t": round(time.monotonic() - t0, 3),
                             "client": sa, "server": sb})
            last = (sa, sb)
        if sa == sb == "TIME_WAIT":
            break
        time.sleep(0.02)
    sc.log("timeline: %r" % timeline)
    sc.end([a, b], port)
    seen_closing = any(t["client"] == "CLOSING" for t in timeline) and \
        any(t["server"] == "CLOSING" for t in timeline)
    sc.write("Client %s connects through a relay namespace that delays every "
             "frame by 100 ms each way, request/response, 0.6 s pause, then "
             "client and server call shutdown(SHUT_WR) back to back, so the "
             "two FINs cross in the relay. Captured on the relay's veth "
             "facing the client (client packets appear when sent, server "
             "packets 100 ms after they were sent). ss was polled every "
             "~20 ms after the shutdowns (ss_timeline, seconds after the "
             "shutdowns): both sockets went FIN_WAIT_1 -> CLOSING -> "
             "TIME_WAIT%s. Fds stay open; the truth is the final ss."
             % (ADDR_A, "" if seen_closing else " (CLOSING not observed this run)"),
             [sc.conn(cep, sep)],
             [anomaly("simultaneous-close", "client",
                      "client's FIN crossed the server's FIN"),
              anomaly("simultaneous-close", "server",
                      "server's FIN crossed the client's FIN")],
             ss_timeline=timeline)


# -- two incarnations of one 4-tuple on a namespace's lo ----------------------

def bound_connect(sc, n, ls, cep, sep):
    """A tracked client socket bound to ``cep`` (SO_REUSEADDR) connects to
    ``sep``; returns it and the accepted server socket."""
    c = sc.track(bound_socket(n, *cep))
    c.connect(sep)
    return c, sc.accept(ls)


def first_incarnation(sc, n, cep, sep, end_first, want, what):
    """tcpdump on ``n``'s lo and a listener on ``sep``; incarnation 1 from a
    client bound to ``cep``: request/response, then ``end_first(c, s)``.
    0.2 s later ss must show ``want`` (``what``) for it, then 0.8 s more
    pause.  Returns the listener and those ss lines (ss_before_reuse)."""
    port = sep[1]
    sc.capture(n, "lo", port)
    ls = sc.listen(n, *sep)
    c1, s1 = bound_connect(sc, n, ls, cep, sep)
    exchange(c1, s1)
    end_first(c1, s1)
    time.sleep(0.2)
    before = n.ss(port)
    sc.log("before reuse: %r" % before)
    if states(before, cep, sep) != want:
        raise AssertionError("expected %s: %r" % (what, before))
    time.sleep(0.8)
    return ls, before


def incarnations(sc, cep, sep):
    """Truth connections: incarnation 1 (replaced, so CLOSED/CLOSED) and
    incarnation 2 (as ss reports it)."""
    return [sc.conn(cep, sep, "CLOSED", "CLOSED", incarnation=1),
            sc.conn(cep, sep, incarnation=2)]


@scenario("port-reuse",
          expect=[("CLOSED", "CLOSED"), ("TIME_WAIT", "CLOSED")])
def sc_port_reuse(sc):
    """Server closes first (server TIME_WAIT); the client reconnects from the
    same port; the server's TIME_WAIT socket accepts the new SYN."""
    port, cport = 47104, 47194
    cep, sep = (LO, cport), (LO, port)
    n = sc.ns("pr")
    ls, before = first_incarnation(sc, n, cep, sep, end_server_close,
                                   ("CLOSED", "TIME_WAIT"), "server TIME_WAIT")
    # incarnation 2: same 4-tuple; the SYN lands on the server's TIME_WAIT
    c2, s2 = bound_connect(sc, n, ls, cep, sep)
    exchange(c2, s2)
    end_client_close(c2, s2)
    sc.end([n], port)
    sc.write("Client binds 127.0.0.1:%d (SO_REUSEADDR) and connects to "
             "127.0.0.1:%d; request/response; the SERVER closes first, the "
             "client reads EOF and closes, leaving the server socket in "
             "TIME_WAIT (ss_before_reuse). 1 s later a new client socket "
             "binds the same port and connects again: the server's "
             "TIME_WAIT socket accepts the SYN (its ISN and timestamp are "
             "higher) and a second incarnation of the same 4-tuple runs a "
             "request/response and closes client-first." % (cport, port),
             incarnations(sc, cep, sep),
             [anomaly("port-reuse", "client",
                      "incarnation 2: the client reuses its port 47194 for "
                      "a new SYN to the same server port"),
              anomaly("reuse-in-time-wait", "client",
                      "incarnation 2 starts while the SERVER endpoint of "
                      "incarnation 1 is still in TIME_WAIT (Linux accepts "
                      "the SYN on the TIME_WAIT socket)")],
             ss_before_reuse=before)


@scenario("port-reuse-client-tw",
          expect=[("CLOSED", "CLOSED"), ("CLOSED", "TIME_WAIT")])
def sc_port_reuse_client_tw(sc):
    """Client closes first (client TIME_WAIT); a new client socket binds the
    same port and connects to the same server: Linux takes over the
    client's own TIME_WAIT.  For an explicitly bound port the connect path
    checks the TIME_WAIT without the tcp_tw_reuse policy (twp == NULL in
    __inet_check_established) and accepts it whenever it has timestamps, so
    neither tcp_tw_reuse nor SO_LINGER is needed (a retry loop covers the
    EADDRNOTAVAIL case anyway)."""
    port, cport = 47105, 47195
    cep, sep = (LO, cport), (LO, port)
    n = sc.ns("pt")
    tw_reuse = n.sysctl_get("net.ipv4.tcp_tw_reuse")
    ls, before = first_incarnation(sc, n, cep, sep, end_client_close,
                                   ("TIME_WAIT", "CLOSED"), "client TIME_WAIT")
    # incarnation 2: the client's connect() recycles its own TIME_WAIT
    t0 = time.monotonic()
    attempts, c2 = 0, None
    for _ in range(24):                        # <= ~6 s
        attempts += 1
        c = bound_socket(n, *cep)
        err = c.connect_ex(sep)
        if err == 0:
            c2 = sc.track(c)
            break
        c.close()
        if err != errno.EADDRNOTAVAIL:
            raise OSError(err, "reconnect: " + os.strerror(err))
        time.sleep(0.25)
    if c2 is None:
        raise AssertionError("client TIME_WAIT was never reused")
    waited = time.monotonic() - t0
    sc.log("reconnected after %d attempts, %.2f s" % (attempts, waited))
    s2 = sc.accept(ls)
    exchange(c2, s2)
    end_server_close(c2, s2)
    sc.end([n], port)
    sc.write("Client binds 127.0.0.1:%d (SO_REUSEADDR), connects to "
             "127.0.0.1:%d, request/response, the CLIENT closes first and "
             "is left in TIME_WAIT (ss_before_reuse). 1 s later a new socket "
             "binds the same port (allowed: both have SO_REUSEADDR) and "
             "connect()s to the same server: the kernel takes over its own "
             "TIME_WAIT and sends a new SYN (connect attempts: %d, %.2f s "
             "of retrying; an EADDRNOTAVAIL attempt would send nothing). "
             "Linux allows this for an explicitly bound port whenever the "
             "TIME_WAIT has TCP timestamps, independent of "
             "net.ipv4.tcp_tw_reuse (=%s here, the default). No sysctl was "
             "changed and no SO_LINGER abort was used. Incarnation 2 runs a "
             "request/response; the server closes first."
             % (cport, port, attempts, waited, tw_reuse),
             incarnations(sc, cep, sep),
             [anomaly("port-reuse", "client",
                      "incarnation 2: the client reuses port 47195 towards "
                      "the same server port"),
              anomaly("reuse-in-time-wait", "client",
                      "incarnation 2 starts while the CLIENT endpoint of "
                      "incarnation 1 is in TIME_WAIT (the kernel recycles "
                      "it)")],
             ss_before_reuse=before)


@scenario("tfo", expect=[("TIME_WAIT", "CLOSED")] * 2)
def sc_tfo(sc):
    port = 47106
    n = sc.ns("fo")
    old = n.sysctl_set("net.ipv4.tcp_fastopen", "3")
    sc.capture(n, "lo", port)
    ls = sc.listen(n, LO, port)
    ls.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 16)
    conns, notes = [], []
    for i in range(2):
        data = b"GET /tfo/%d HTTP/1.0\r\n\r\n" % (i + 1)
        c = sc.socket(n)
        c.setblocking(False)
        try:
            sent = c.sendto(data, socket.MSG_FASTOPEN, (LO, port))
        except BlockingIOError:               # no cookie yet: plain SYN
            sent = 0
            wait_connected(c)
        c.settimeout(rec.DEFAULT_TIMEOUT)
        cep = c.getsockname()
        notes.append(sent)
        if sent == 0:
            c.sendall(data)
        elif sent != len(data):
            raise AssertionError("partial TFO send %d" % sent)
        s = sc.accept(ls)
        assert rec.recv_exact(s, len(data)) == data
        s.sendall(rec.RESP)
        assert rec.recv_exact(c, len(rec.RESP)) == rec.RESP
        end_client_close(c, s)
        conns.append(cep)
    if notes != [0, len(data)]:
        raise AssertionError("TFO did not behave: bytes on SYN %r" % notes)
    sc.end([n], port)
    sc.write("TCP Fast Open on 127.0.0.1 (net.ipv4.tcp_fastopen=3 inside the "
             "namespace, was %s; listener setsockopt TCP_FASTOPEN 16). "
             "Connection 1: sendto(MSG_FASTOPEN) without a cookie sends a "
             "SYN with an empty TFO cookie option; the SYN+ACK carries the "
             "cookie; the request follows the handshake. Connection 2: "
             "sendto(MSG_FASTOPEN) sends the cookie and the %d-byte request "
             "on the SYN; the SYN+ACK acknowledges ISN+1+%d. Each: server "
             "replies, client closes first, server closes." % (old, len(data), len(data)),
             [sc.conn(cep, (LO, port)) for cep in conns],
             [anomaly("syn-with-data", "client",
                      "connection 2: %d bytes of data on the SYN (TFO cookie "
                      "from connection 1)" % len(data))])


@scenario("keepalive", expect=[("TIME_WAIT", "CLOSED")])
def sc_keepalive(sc):
    port = 47107
    n = sc.ns("ka")
    sc.capture(n, "lo", port)
    ls = sc.listen(n, LO, port)
    c = sc.socket(n)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 5)
    c.connect((LO, port))
    cep = c.getsockname()
    s = sc.accept(ls)
    exchange(c, s)
    time.sleep(3.5)
    end_client_close(c, s)
    sc.end([n], port)
    sc.write("Client sets SO_KEEPALIVE with TCP_KEEPIDLE=1, TCP_KEEPINTVL=1, "
             "TCP_KEEPCNT=5, connects to 127.0.0.1:%d, request/response, "
             "then the connection idles 3.5 s: the client kernel sends a "
             "keep-alive (seq = snd_nxt - 1, no data) about every second and "
             "the server answers each with an ACK. Then the client closes "
             "first and the server closes." % port,
             [sc.conn(cep, (LO, port))],
             [anomaly("keep-alive", "client",
                      "about 3 keep-alive probes, 1 s apart, each ACKed "
                      "by the server (the ACKs repeat the same ack number)")])


@scenario("zero-window", expect=[("TIME_WAIT", "CLOSED")])
def sc_zero_window(sc):
    port = 47108
    n = sc.ns("zw")
    sc.capture(n, "lo", port)
    ls = sc.socket(n)
    c = sc.socket(n)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)   # before listen
    ls.bind((LO, port))
    ls.listen(4)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
    c.connect((LO, port))
    cep = c.getsockname()
    s = sc.accept(ls)
    rcvbuf = s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
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
    sc.log("sent %d bytes into the closed window" % total)
    time.sleep(3.0)                             # zero-window probes
    mid = n.ss(port)
    got = 0
    for _ in range(1000):                       # drain
        if got >= total:
            break
        got += len(s.recv(65536))
    if got != total:
        raise AssertionError("drained %d of %d" % (got, total))
    c.settimeout(rec.DEFAULT_TIMEOUT)
    end_client_close(c, s)
    sc.end([n], port)
    sc.write("Server socket with SO_RCVBUF 4096 (set on the listener before "
             "listen(); kernel reports %d), so it offers a 4096-byte "
             "unscaled window; its application does not read. The client "
             "(SO_SNDBUF 8192) writes non-blocking until EAGAIN (%d bytes "
             "queued), the server's window closes to 0 and the client kernel "
             "sends zero-window probes (Linux style: seq = snd_una - 1, no "
             "data) with exponential backoff for 3 s (ss_during_zero_window). "
             "Then the server drains everything, the window reopens, the "
             "rest flows, the client closes first and the server closes. "
             "Not scripted but usual: just before the window closes a "
             "tail-loss probe retransmits the tail of the last segment, and "
             "not every probe is answered (Linux sends at most one ACK per "
             "500 ms to out-of-window segments)." % (rcvbuf, total),
             [sc.conn(cep, (LO, port))],
             [anomaly("zero-window", "server",
                      "the receiver advertises window 0 while its "
                      "application does not read"),
              anomaly("zero-window-probe", "client",
                      "the sender probes the zero window (0-byte segments "
                      "at snd_una - 1) until the window reopens")],
             ss_during_zero_window=mid)


LOSS_FILES = ["loss-retransmission", "loss-receiver-side", "loss-capture-gap"]


@scenario("loss", expect=[("TIME_WAIT", "CLOSED")], outputs=LOSS_FILES)
def sc_loss(sc):
    """Drop the 3rd client->server data segment once in the relay."""
    port = 47109
    state = {"n": 0, "dropped": None}

    def drop(direction, frame, p):
        if direction != "a>b" or p is None or p["plen"] == 0 or state["dropped"]:
            return False
        state["n"] += 1
        if state["n"] == 3:
            state["dropped"] = p
            return True
        return False

    a, r, b = sc.relay_topology("lo", drop=drop)
    sender, receiver, gap = LOSS_FILES
    sc.capture(r, "ra", port, stem=sender)
    sc.capture(r, "rb", port, stem=receiver)
    c, s, cep = sc.connected(a, b, ADDR_B, port)
    payload = bytes((i * 7) & 0xFF for i in range(12000))
    c.sendall(payload)
    assert rec.recv_exact(s, len(payload)) == payload
    s.sendall(b"got 12000 bytes\n")
    assert rec.recv_exact(c, 16) == b"got 12000 bytes\n"
    end_client_close(c, s)
    sc.end([a, b], port)
    d = state["dropped"]
    if d is None:
        raise AssertionError("nothing was dropped")
    sc.log("dropped seq=%d len=%d" % (d["seq"], d["plen"]))
    conns = [sc.conn(cep, (ADDR_B, port))]
    dropped = {"direction": "client->server", "seq": d["seq"], "len": d["plen"]}
    common = ("Client %s sends 12000 bytes to %s:%d through a relay "
              "namespace (no delay) that drops the 3rd client->server data "
              "segment once (absolute seq %d, %d bytes); SACK is on. The "
              "server reads everything and replies, the client closes first, "
              "the server closes. " % (ADDR_A, ADDR_B, port, d["seq"], d["plen"]))
    sc.write(common +
             "Captured on the relay's veth facing the CLIENT (before the "
             "drop): the dropped segment is in the file, then the server's "
             "duplicate ACKs with SACK blocks, then the client's "
             "retransmission of the same bytes.",
             conns,
             [anomaly("duplicate-ack", "server",
                      "the server repeats its ACK (with SACK) for every "
                      "segment after the hole"),
              anomaly("retransmission", "client",
                      "the client retransmits the dropped segment (seq %d)"
                      % d["seq"])],
             stem=sender,
             dropped_segment=dict(dropped, captured_here=True))
    sc.write(common +
             "Captured on the relay's veth facing the SERVER (after the "
             "drop): the original segment is missing; later segments, the "
             "server's duplicate ACKs with SACK, then the retransmission "
             "(the only copy of those bytes in the file) fills the hole.",
             conns,
             [anomaly("previous-segment-not-captured", "client",
                      "the segment after the hole is seen first (the "
                      "original never passed this capture point)"),
              anomaly("duplicate-ack", "server",
                      "duplicate ACKs with SACK for the hole"),
              anomaly("retransmission", "client",
                      "the client's retransmission (seq %d) arrives after "
                      "higher sequence numbers; it is the only copy in "
                      "this file" % d["seq"])],
             stem=receiver,
             dropped_segment=dict(dropped, captured_here=False))
    # capture gap: remove the only copy (the retransmission) from the
    # receiver-side file, so later ACKs cover bytes never seen.
    frame = find_frame(sc.path(receiver), port, d["seq"], d["plen"])
    cmd = ["editcap", "-F", "pcap", receiver + ".pcap", gap + ".pcap", str(frame)]
    subprocess.run(cmd, cwd=sc.outdir, check=True, capture_output=True,
                   timeout=30)
    rec._match_owner(sc.path(gap), sc.outdir)
    sc.write(common +
             "Derived from loss-receiver-side.pcap by deleting frame %d, the "
             "retransmission, which was the only copy of bytes %d..%d there: "
             "the file now never shows those bytes while the server's ACKs "
             "cover them (a capture gap, not a network loss)."
             % (frame, d["seq"], d["seq"] + d["plen"]),
             conns,
             [anomaly("previous-segment-not-captured", "client",
                      "bytes at seq %d never appear in the file" % d["seq"]),
              anomaly("ack-of-unseen-data", "server",
                      "the server's cumulative ACK jumps over the bytes "
                      "that are missing from the file"),
              anomaly("duplicate-ack", "server",
                      "duplicate ACKs with SACK for the hole")],
             stem=gap,
             recorded_with=" ".join(cmd) + "  # derived from: "
             + sc.captures[receiver].command,
             dropped_segment=dict(dropped, captured_here=False,
                                  deleted_frame=frame))


@scenario("midstream", expect=[("TIME_WAIT", "CLOSED")])
def sc_midstream(sc):
    port = 47110
    n = sc.ns("ms")
    c, s, cep = sc.connected(n, n, LO, port)
    for i in range(3):
        exchange(c, s)
    time.sleep(0.2)
    sc.capture(n, "lo", port)                  # starts only now
    for i in range(2):
        exchange(c, s)
    end_client_close(c, s)
    sc.end([n], port)
    sc.write("Client connects to 127.0.0.1:%d and does 3 request/response "
             "exchanges BEFORE tcpdump starts; the capture then sees 2 more "
             "exchanges, the client closing first and the server closing. "
             "The 'client' is the side that connected (it also sends the "
             "first captured segment)." % port,
             [sc.conn(cep, (LO, port))],
             [anomaly("midstream-pickup", "client",
                      "no handshake in the file: the first captured segment "
                      "is the client's 4th request")])


HALF_OPEN_FILES = ["half-open", "half-open-client-side"]


@scenario("half-open", expect=[("CLOSED", "ESTABLISHED")],
          outputs=HALF_OPEN_FILES)
def sc_half_open(sc):
    """Client aborts (RST) but the relay drops every client->server RST:
    the server keeps a half-open connection and retransmits its data."""
    port = 47111

    def drop(direction, frame, p):
        return direction == "a>b" and p is not None and bool(p["flags"] & 0x04)

    a, r, b = sc.relay_topology("ho", drop=drop)
    srv, cli = HALF_OPEN_FILES
    sc.capture(r, "rb", port, stem=srv)
    sc.capture(r, "ra", port, stem=cli)
    c, s, cep = sc.connected(a, b, ADDR_B, port)
    exchange(c, s)
    time.sleep(0.1)
    rec.abort_close(c)                         # RST, dropped by the relay
    time.sleep(0.2)
    s.sendall(b"are you still there?\n")        # answered by RSTs, dropped
    time.sleep(3.3)                             # RTO backoff: ~4 retransmits
    sc.end([a, b], port)
    rsts = sum(1 for _, d, act, p in sc.relay.log if act == "drop")
    conns = [sc.conn(cep, (ADDR_B, port))]
    common = ("Client %s connects to %s:%d through a relay namespace that "
              "drops every client->server RST; request/response; the client "
              "closes with SO_LINGER {1,0} (RST, dropped); the server, still "
              "ESTABLISHED, sends 21 bytes; the client's kernel has no "
              "socket and answers every copy with a RST (dropped too: %d RSTs "
              "dropped in all); the server retransmits with exponential "
              "backoff for 3.3 s. Server fd still open at the ss snapshot. "
              % (ADDR_A, ADDR_B, port, rsts))
    sc.write(common +
             "Captured on the relay's veth facing the SERVER: no RST at all "
             "is in the file.",
             conns,
             [anomaly("retransmission", "server",
                      "the server retransmits its unacknowledged 21 bytes "
                      "(RTO backoff)")],
             stem=srv)
    sc.write(common +
             "Captured on the relay's veth facing the CLIENT: the client's "
             "abort RST and its RST replies to every (re)transmission are "
             "in the file (the server never got them).",
             conns,
             [anomaly("traffic-after-peer-reset", "server",
                      "the server keeps sending after the client's RST"),
              anomaly("retransmission", "server",
                      "the server retransmits its unacknowledged 21 bytes")],
             stem=cli)


# ===========================================================================
# Scripted TUN peer scenarios
# ===========================================================================

TUN_COMMON = ("The kernel owns %s; the peer %s is routed into a TUN device "
              "and played by a script (tools/tunpeer.py) that offers no "
              "window scaling, SACK or timestamps. Captured on the TUN "
              "(LINKTYPE_RAW). " % (TUN_KERNEL, TUN_PEER))


def unread(s):
    """What the application could read from ``s`` right now, without
    waiting (b"" if nothing): proof that the kernel delivered, or dropped,
    a segment."""
    s.setblocking(False)
    try:
        return s.recv(100)
    except BlockingIOError:
        return b""
    finally:
        s.settimeout(rec.DEFAULT_TIMEOUT)


class Tun:
    """TUN set-up: namespace wshard-PREFIX-t where the kernel owns
    TUN_KERNEL on TUN_IF and ``p`` (a tunpeer.TunPeer) plays TUN_PEER, the
    ``scripted`` endpoint ("client" or "server").  tcpdump on the TUN
    filters on the server port, as does the ss snapshot."""

    def __init__(self, sc, prefix, server_port, client_port, scripted="client"):
        import tunpeer
        self.sc, self.port, self.scripted = sc, server_port, scripted
        self.t = sc.ns(prefix + "-t")
        fd = nl.open_tun(self.t, TUN_IF, TUN_KERNEL + "/24")
        sc.fds.append(fd)
        sc.capture(self.t, TUN_IF, server_port)
        if scripted == "client":
            peer_port, kernel_port = client_port, server_port
            self.cep, self.sep = (TUN_PEER, client_port), (TUN_KERNEL, server_port)
        else:
            peer_port, kernel_port = server_port, client_port
            self.cep, self.sep = (TUN_KERNEL, client_port), (TUN_PEER, server_port)
        self.p = tunpeer.TunPeer(fd, TUN_PEER, TUN_KERNEL, peer_port,
                                 kernel_port, log=sc.log)

    def listen(self):
        """A kernel listener on TUN_KERNEL:server_port."""
        return self.sc.listen(self.t, TUN_KERNEL, self.port)

    def accept_peer(self, hello=None):
        """Kernel listener; the peer connects to it (MSS only); returns the
        kernel's accepted socket.  ``hello="peer"``: then the peer sends
        b"hello\n" (ACKed, read by the application); ``hello="kernel"``:
        the application sends it (read and ACKed by the peer)."""
        ls = self.listen()
        self.p.connect()
        s = self.sc.accept(ls)
        if hello == "peer":
            self.p.send_data(b"hello\n")
            assert rec.recv_exact(s, 6) == b"hello\n"
        elif hello == "kernel":
            s.sendall(b"hello\n")
            assert self.p.read_data(6) == b"hello\n"
        return s

    def ss(self):
        return self.t.ss(self.port)

    def still_here_and_close(self, s):
        """The kernel application sends 11 bytes on ``s`` (read and ACKed
        by the peer), then a normal close, peer first: peer FIN, kernel
        ACK, kernel close() -> FIN, peer ACK (peer TIME_WAIT)."""
        s.sendall(b"still here\n")
        assert self.p.read_data(11) == b"still here\n"
        self.p.close_first(s)

    def write(self, scripted_state, description, expected, **extra):
        """End the scene and write the truth: the scripted endpoint in
        ``scripted_state`` (what its own segments imply), the kernel
        endpoint as ss reports it."""
        self.sc.end([self.t], self.port)
        c = self.sc.conn(self.cep, self.sep, scripted=self.scripted,
                         **{self.scripted + "_state": scripted_state})
        self.sc.write(TUN_COMMON + description, [c], expected, **extra)


@scenario("syn-fin", expect=[("SYN_SENT", "CLOSED")], tun=True)
def sc_syn_fin(sc):
    import tunpeer as tp
    tun = Tun(sc, "sf", 47121, 40121)
    tun.listen()
    tun.p.send(tp.SYN | tp.FIN, options=[("MSS", 1460)])
    got = tun.p.quiet(1.0)
    if got:
        raise AssertionError("kernel answered SYN+FIN: %r" % got)
    tun.write("SYN_SENT",
              "A kernel listener on %s:%d; the peer sends one segment with "
              "SYN+FIN (and an MSS option). Linux discards it in LISTEN "
              "without any answer (checked for 1 s). The scripted client "
              "counts as SYN_SENT (it sent a SYN and got nothing back)."
              % tun.sep,
              [anomaly("invalid-flag-combination", "client",
                       "SYN and FIN set in the same segment")])


@scenario("data-after-fin", expect=[("FIN_WAIT_2", "CLOSE_WAIT")], tun=True)
def sc_data_after_fin(sc):
    import tunpeer as tp
    tun = Tun(sc, "df", 47122, 40122)
    p = tun.p
    tun.accept_peer(hello="peer")       # its socket stays open (tracked)
    p.send_fin()
    after_fin = tun.ss()
    p.send(tp.PSH | tp.ACK, data=b"more data after FIN\n")   # seq = FIN + 1
    got = p.quiet(1.0)
    tun.write("FIN_WAIT_2",
              "The peer connects to a kernel listener on %s:%d, sends 6 bytes "
              "(ACKed, read by the application), then FIN (ACKed; kernel "
              "socket CLOSE_WAIT), then 20 more bytes at seq = FIN + 1. "
              "Linux drops data at or beyond rcv_nxt in CLOSE_WAIT silently "
              "(%d segments answered in 1 s); the socket stays CLOSE_WAIT and "
              "the application never sees the bytes. The scripted client is "
              "FIN_WAIT_2 (its FIN was ACKed, no FIN from the kernel)."
              % (tun.sep + (len(got),)),
              [anomaly("data-after-fin", "client",
                       "20 bytes sent after the client's own FIN")],
              ss_after_fin=after_fin)


@scenario("rst-out-of-window", expect=[("TIME_WAIT", "CLOSED")], tun=True)
def sc_rst_out_of_window(sc):
    import tunpeer as tp
    tun = Tun(sc, "rw", 47123, 40123)
    p = tun.p
    s = tun.accept_peer(hello="peer")
    checkpoints = []
    far = (p.snd_nxt + 1000000000) & 0xFFFFFFFF
    p.send(tp.RST, seq=far, advance=False)
    got1 = p.quiet(0.5)
    checkpoints.append({"after": "RST far out of window (seq rcv_nxt+1e9)",
                        "kernel_replies": len(got1), "ss": tun.ss()})
    near = (p.snd_nxt + 100) & 0xFFFFFFFF
    p.send(tp.RST, seq=near, advance=False)
    got2 = p.quiet(0.5)
    checkpoints.append({"after": "RST in window, not at rcv_nxt (seq rcv_nxt+100)",
                        "kernel_replies": len(got2), "ss": tun.ss()})
    if got1 or len(got2) != 1 or not tp.flags_of(got2[0]) == tp.ACK:
        raise AssertionError("unexpected replies: %r / %r" % (got1, got2))
    tun.still_here_and_close(s)
    tun.write("TIME_WAIT",
              "The peer connects to %s:%d and sends 6 bytes. Then a RST with "
              "seq = rcv_nxt + 1e9: Linux ignores it silently (still "
              "ESTABLISHED). Then a RST with seq = rcv_nxt + 100 (inside the "
              "window, not exact): Linux answers with a challenge ACK (RFC "
              "5961) and stays ESTABLISHED (ss_checkpoints). The kernel "
              "application then sends 11 bytes (ACKed) and the connection "
              "closes normally: peer FIN, kernel ACK, kernel close() -> FIN, "
              "peer ACK. The scripted client is TIME_WAIT." % tun.sep,
              [anomaly("rst-out-of-window", "client",
                       "RST at rcv_nxt + 1e9, ignored by the kernel"),
               anomaly("rst-challenged", "client",
                       "RST at rcv_nxt + 100, answered with a challenge ACK")],
              ss_checkpoints=checkpoints)


@scenario("syn-new-isn-in-established", expect=[("TIME_WAIT", "CLOSED")],
          tun=True)
def sc_syn_in_established(sc):
    import tunpeer as tp
    tun = Tun(sc, "si", 47124, 40124)
    p = tun.p
    s = tun.accept_peer(hello="peer")
    new_isn = (p.isn + 0x40000000) & 0xFFFFFFFF
    p.send(tp.SYN, seq=new_isn, advance=False, options=[("MSS", 1460)])
    got = p.quiet(0.5)
    mid = tun.ss()
    if len(got) != 1 or tp.flags_of(got[0]) != tp.ACK:
        raise AssertionError("expected one challenge ACK, got %r" % got)
    tun.still_here_and_close(s)
    tun.write("TIME_WAIT",
              "The peer connects to %s:%d (ISN %d), sends 6 bytes, then a "
              "bare SYN (no ACK flag) on the same 4-tuple with a new ISN %d. "
              "Linux answers with a challenge ACK (RFC 5961 4.2: ack = its "
              "rcv_nxt) and stays ESTABLISHED (ss_after_syn). The kernel "
              "application sends 11 bytes and the connection closes "
              "normally (peer FIN first). The scripted client is TIME_WAIT."
              % (tun.sep + (p.isn, new_isn)),
              [anomaly("syn-in-synchronized-state", "client",
                       "SYN with a different ISN (%d instead of %d) in "
                       "ESTABLISHED; the kernel sends a challenge ACK"
                       % (new_isn, p.isn))],
              ss_after_syn=mid)


@scenario("ack-unsent-data", expect=[("TIME_WAIT", "CLOSED")], tun=True)
def sc_ack_unsent(sc):
    import tunpeer as tp
    tun = Tun(sc, "au", 47125, 40125)
    p = tun.p
    s = tun.accept_peer(hello="kernel")
    bogus = (p.rcv_nxt + 1000) & 0xFFFFFFFF
    p.send(tp.ACK, ack=bogus)
    got = p.quiet(0.5)
    mid = tun.ss()
    tun.still_here_and_close(s)
    tun.write("TIME_WAIT",
              "The peer connects to %s:%d; the kernel application sends 6 "
              "bytes, the peer ACKs them, then the peer sends a pure ACK "
              "acknowledging 1000 bytes the kernel never sent (ack = "
              "snd_nxt + 1000). Linux discards it and answers with %d ACK(s) "
              "restating its own seq/ack; still ESTABLISHED (ss_after_bad_ack). "
              "The kernel sends 11 more bytes (properly ACKed) and the "
              "connection closes normally (peer FIN first). The scripted "
              "client is TIME_WAIT." % (tun.sep + (len(got),)),
              [anomaly("ack-of-unseen-data", "client",
                       "the client ACKs %d, 1000 bytes beyond anything the "
                       "server sent (nothing is missing from the capture: "
                       "the peer lied)" % bogus)],
              ss_after_bad_ack=mid)


@scenario("missing-ack-flag", expect=[("TIME_WAIT", "CLOSED")], tun=True)
def sc_missing_ack(sc):
    import tunpeer as tp
    tun = Tun(sc, "ma", 47126, 40126)
    p = tun.p
    s = tun.accept_peer()
    data = b"no ack flag\n"
    p.send(tp.PSH, data=data, ack=0, advance=False)
    got = p.quiet(0.5)
    early = unread(s)
    if got or early:
        raise AssertionError("kernel accepted the ACK-less segment: %r %r"
                             % (got, early))
    p.send_data(data)                          # same bytes, ACK flag set
    assert rec.recv_exact(s, len(data)) == data
    p.close_first(s)
    tun.write("TIME_WAIT",
              "The peer connects to %s:%d, then sends %d bytes with PSH only "
              "(no ACK flag, ack field 0). Linux drops it silently (no "
              "answer in 0.5 s, the application reads nothing). The peer "
              "sends the same bytes again with PSH+ACK; they are ACKed and "
              "read. Then a normal close (peer FIN first). The scripted "
              "client is TIME_WAIT." % (tun.sep + (len(data),)),
              [anomaly("missing-ack-flag", "client",
                       "data segment without ACK in ESTABLISHED"),
               anomaly("retransmission", "client",
                       "the same bytes resent with ACK (the kernel had "
                       "dropped the first copy)")])


@scenario("synack-wrong-ack", expect=[("TIME_WAIT", "CLOSED")], tun=True)
def sc_synack_wrong_ack(sc):
    import tunpeer as tp
    tun = Tun(sc, "sw", 47127, 40127, scripted="server")
    p = tun.p
    c = sc.track(bound_socket(tun.t, *tun.cep))    # the kernel is the client
    c.setblocking(False)
    err = c.connect_ex(tun.sep)
    if err != errno.EINPROGRESS:
        raise OSError(err, "connect")
    syn = p.expect(3.0, lambda k: tp.flags_of(k) == tp.SYN, "SYN")
    kisn = syn[tp.TCP].seq
    p.rcv_nxt = (kisn + 1) & 0xFFFFFFFF
    bad = (kisn + 1 + 1000) & 0xFFFFFFFF
    p.send(tp.SYN | tp.ACK, ack=bad, options=[("MSS", 1460)])
    rst = p.expect(2.0, lambda k: tp.flags_of(k) & tp.RST, "RST")
    if rst[tp.TCP].seq != bad:
        raise AssertionError("RST seq %d, expected %d" % (rst[tp.TCP].seq, bad))
    mid = tun.ss()
    syn2 = p.expect(4.0, lambda k: tp.flags_of(k) == tp.SYN, "retransmitted SYN")
    if syn2[tp.TCP].seq != kisn:
        raise AssertionError("SYN retransmission changed ISN")
    p.send(tp.SYN | tp.ACK, seq=p.isn, options=[("MSS", 1460)])
    p.expect(3.0, lambda k: tp.flags_of(k) == tp.ACK, "handshake ACK")
    wait_connected(c)
    c.sendall(b"hello\n")
    assert p.read_data(6) == b"hello\n"
    c.close()                                   # kernel client closes first
    fin = p.expect(3.0, lambda k: tp.flags_of(k) & tp.FIN, "client FIN")
    p.note_data(fin)
    p.send_fin()                                # ACK + FIN together
    tun.write("CLOSED",
              "Here the kernel is the CLIENT: a socket bound to %s:%d "
              "connects to the scripted server %s:%d. The peer answers the "
              "SYN with a SYN+ACK whose ack is ISN+1+1000. Linux (SYN_SENT) "
              "answers with a RST whose seq is that bad ack (RFC 9293: "
              "<SEQ=SEG.ACK><CTL=RST>), stays in SYN_SENT (ss_after_rst) and "
              "retransmits its SYN (same ISN) almost at once (~15 ms: Linux "
              "re-arms the SYN timer to TCP_TIMEOUT_MIN after rejecting a "
              "SYN+ACK, in case its RST is lost). The "
              "peer answers that with a correct SYN+ACK (same ISN as "
              "before), the kernel ACKs, sends 6 bytes (ACKed), closes first "
              "(FIN); the peer answers FIN+ACK, the kernel ACKs. The "
              "scripted server is CLOSED (LAST_ACK acknowledged)."
              % (tun.cep + tun.sep),
              [anomaly("synack-bad-ack", "server",
                       "first SYN+ACK acknowledges ISN+1001 instead of ISN+1"),
               anomaly("syn-retransmission", "client",
                       "the kernel retransmits its SYN (same ISN) after "
                       "rejecting the bad SYN+ACK with a RST"),
               anomaly("synack-retransmission", "server",
                       "second SYN+ACK: same server ISN, now with the "
                       "correct ack")],
              ss_after_rst=mid)


# ---------------------------------------------------------------------------

def run(name, outdir):
    """Record scenario ``name``; returns (truth states, expected states)."""
    entry = SCENARIOS[name]
    sc = Scene(name, outdir)
    try:
        entry["fn"](sc)
    finally:
        sc.cleanup()
    stems = [doc["scenario"] for doc in sc.written]
    if stems != entry["outputs"]:
        raise AssertionError("wrote %r, expected %r" % (stems, entry["outputs"]))
    got = [(c["client_state"], c["server_state"])
           for c in sc.written[0]["connections"]]
    return got, entry["expect"]


def main():
    global VERBOSE
    ap = rec.scenario_parser(__doc__, SCENARIOS, HERE)
    ap.add_argument("-q", "--quiet", action="store_true",
                    help="less output (no per-packet log of the TUN peer)")
    args = ap.parse_args()
    VERBOSE = not args.quiet
    names = rec.chosen_scenarios(ap, args, SCENARIOS,
                                 "namespaces, packet capture")
    if any(SCENARIOS[n]["tun"] for n in names):
        try:
            import tunpeer  # noqa: F401
        except ImportError as e:
            ap.error("the TUN scenarios need scapy (python3-scapy): %s" % e)
    stale = nl.cleanup_stale()
    if stale:
        print("removed namespaces left by an interrupted run: %s"
              % ", ".join(stale))
    return rec.run_scenarios(names, lambda name: run(name, args.outdir),
                             tracebacks=VERBOSE)


if __name__ == "__main__":
    sys.exit(main())
