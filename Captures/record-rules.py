#!/usr/bin/python3
"""Record the captures that prove the rules of issue 8 section 2 (real Linux
TCP stacks in private network namespaces, the user-space relay, a mirror
relay and the scripted TUN peer), each with the kernel's truth.

    sudo /usr/bin/python3 Captures/record-rules.py [SCENARIO ...] [--outdir D]

Built on record-hard.py (its Scene, Tun and set-ups are reused as they are),
with its own namespace prefix ``wsc-`` and TUN device ``wsctun0``, so it
never touches another run's namespaces.  Every file is written to
``--outdir`` (default: Captures/.rules-out, hidden so that `check Captures/`
skips it, and a run never overwrites the
committed files; the committed copies live in Captures/ for rules that
today's tracker already gets right and in Captures/.pending/ for the others,
see Captures/RULES.md).

Truth, as in record-hard.py: the kernel endpoints' states from ``ss`` inside
each namespace while every socket is still open, the scripted endpoint's
state from its own segments.  Beside the usual ``ss`` lines each truth file
also holds ``ss_detail``: ``ss -tanoiH`` (timers, RTO, retransmission
counts, TSval use) of both namespaces, taken at the same moment.
"""

import errno
import importlib.util
import os
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "tools"))
_spec = importlib.util.spec_from_file_location("record_hard",
                                               os.path.join(HERE, "record-hard.py"))
hard = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hard)
import netlab as nl      # noqa: E402  (the same module object record-hard uses)
import recorder as rec   # noqa: E402
from mirror import MirrorRelay  # noqa: E402

nl.PREFIX = "wsc-"              # our namespaces only (cleanup_stale too)
hard.TUN_IF = "wsctun0"
ADDR_A, ADDR_B = hard.ADDR_A, hard.ADDR_B
TUN_KERNEL, TUN_PEER = hard.TUN_KERNEL, hard.TUN_PEER
LO = hard.LO
anomaly = hard.anomaly
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def ss_detail(ns, port):
    """``ss -tanoiH`` for the port inside ``ns`` (whitespace normalised;
    the info lines that ss prints under each socket are kept as lines)."""
    out = ns.exec(["ss", "-tanoiH", "state", "all",
                   "( sport = :%d or dport = :%d )" % (port, port)]).stdout
    return ["%s: %s" % (ns.name, " ".join(l.split()))
            for l in out.splitlines() if l.strip()]


class RuleScene(hard.Scene):
    """A record-hard Scene whose end() also keeps ``ss -tanoi``."""

    def end(self, namespaces, port, settle=hard.SETTLE):
        time.sleep(settle)
        self.detail = []
        lines = []
        for ns in namespaces:
            lines += ns.ss(port)
            self.detail += ss_detail(ns, port)
        self.stop_captures()
        self.ss = lines
        return lines

    def write(self, description, connections, expected, stem=None,
              recorded_with=None, **extra):
        extra.setdefault("ss_detail", self.detail)
        return super().write(description, connections, expected, stem=stem,
                             recorded_with=recorded_with, **extra)


SCENARIOS = {}


def scenario(name, expect, tun=False):
    def register(fn):
        SCENARIOS[name] = dict(fn=fn, expect=[tuple(e) for e in expect],
                               outputs=[name], tun=tun)
        return fn
    return register


def tshark_fields(path, fields, display=None):
    argv = ["tshark", "-r", path, "-o", "tcp.relative_sequence_numbers:FALSE",
            "-T", "fields"]
    for f in fields:
        argv += ["-e", f]
    if display:
        argv += ["-Y", display]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                         check=True).stdout
    return [l.split("\t") for l in out.splitlines() if l.strip()]


def ts_option(pkt):
    """(TSval, TSecr) of a scapy TCP segment, or None."""
    for kind, val in pkt[hard_tp().TCP].options:
        if kind == "Timestamp":
            return val
    return None


def hard_tp():
    import tunpeer
    return tunpeer


# ===========================================================================
# 1. Capture reordering (mirror port)
# ===========================================================================

@scenario("reorder-ack-before-data", expect=[("TIME_WAIT", "CLOSED")])
def sc_reorder(sc):
    """The endpoints talk through a relay that forwards at once; its mirror
    copy of the client's request is 3 ms late, so the mirror capture shows
    the server's ACK (and reply) before the request they acknowledge."""
    port = 47201
    a = sc.ns("ro-a")
    r = sc.ns("ro-r")
    b = sc.ns("ro-b")
    r.sysctl_set("net.ipv4.ip_forward", "0")
    nl.veth(a, "a0", r, "ra", mac1=hard.MAC_A, addr1=ADDR_A + "/24")
    nl.veth(b, "b0", r, "rb", mac1=hard.MAC_B, addr1=ADDR_B + "/24")
    nl.veth(r, "rm", r, "rmx")                 # the mirror port and its far end
    a.ip("neigh", "add", ADDR_B, "lladdr", hard.MAC_B, "dev", "a0", "nud", "permanent")
    b.ip("neigh", "add", ADDR_A, "lladdr", hard.MAC_A, "dev", "b0", "nud", "permanent")
    held = []

    def hold(direction, p):
        if direction == "a>b" and p and p["plen"] > 0 and not held:
            held.append(p)
            return True
        return False

    sc.relay = MirrorRelay(r, "ra", "rb", "rm", hold=hold, hold_for=0.001).start()
    sc.capture(r, "rmx", port)
    c, s, cep = sc.connected(a, b, ADDR_B, port)
    time.sleep(0.05)
    rec.exchange(c, s)
    time.sleep(0.05)
    rec.end_client_close(c, s)
    time.sleep(0.1)
    sc.end([a, b], port)
    rows = tshark_fields(sc.path(), ["frame.number", "tcp.srcport", "tcp.seq",
                                     "tcp.len", "tcp.ack", "frame.time_epoch"])
    req = held[0]
    data_frame = next(int(f) for f, sp, sq, ln, ak, t in rows
                      if int(sp) == cep[1] and int(sq) == req["seq"] and int(ln) > 0)
    ack_frame = next(int(f) for f, sp, sq, ln, ak, t in rows
                     if int(sp) == port and int(ak) == (req["seq"] + req["plen"]) & 0xFFFFFFFF)
    if not ack_frame < data_frame:
        raise AssertionError("mirror did not reorder: ACK frame %d, data frame %d"
                             % (ack_frame, data_frame))
    t_ack = float(rows[ack_frame - 1][5])
    t_data = float(rows[data_frame - 1][5])
    sc.write("Client %s connects to %s:%d through a relay that forwards every "
             "frame at once and copies it to a mirror port (the capture, "
             "tcpdump on the mirror port's far end). The mirror copy of the "
             "client's request is held 1 ms, so the file shows the server's "
             "ACK of the request (frame %d) %.0f us BEFORE the request itself "
             "(frame %d); nothing was late for the endpoints. Request/response, "
             "client closes first." % (ADDR_A, ADDR_B, port, ack_frame,
                                       (t_data - t_ack) * 1e6, data_frame),
             [sc.conn(cep, (ADDR_B, port))], [],
             reordered=dict(data_frame=data_frame, ack_frame=ack_frame,
                            seq=req["seq"], len=req["plen"],
                            ack_before_data_us=round((t_data - t_ack) * 1e6)))


# ===========================================================================
# 2. PAWS (RFC 7323) against a kernel, and bad TSecr in SYN_SENT
# ===========================================================================

@scenario("paws-old-tsval", expect=[("TIME_WAIT", "CLOSED")], tun=True)
def sc_paws(sc):
    tp = hard_tp()
    tun = hard.Tun(sc, "pw", 47202, 40202)
    p = tun.p
    ls = tun.listen()
    ts = 1000000

    def opts(tsval):
        return [("NOP", None), ("NOP", None), ("Timestamp", (tsval, p.kts))]

    p.kts = 0
    p.send(tp.SYN, options=[("MSS", 1460), ("NOP", None), ("NOP", None),
                            ("Timestamp", (ts, 0))])
    sa = p.expect(3.0, lambda k: tp.flags_of(k) & (SYN | ACK) == SYN | ACK, "SYN+ACK")
    if ts_option(sa) is None or ts_option(sa)[1] != ts:
        raise AssertionError("kernel did not echo the timestamp: %r" % sa[tp.TCP].options)
    p.kts = ts_option(sa)[0]
    p.rcv_nxt = (sa[tp.TCP].seq + 1) & 0xFFFFFFFF
    p.send(ACK, options=opts(ts + 10))
    s = sc.accept(ls)
    p.send(PSH | ACK, data=b"hello\n", options=opts(ts + 20))
    k = p.expect(3.0, lambda k: k[tp.TCP].ack == p.snd_nxt, "ACK of hello")
    p.kts = ts_option(k)[0]
    assert rec.recv_exact(s, 6) == b"hello\n"
    stale_seq = p.snd_nxt
    p.send(PSH | ACK, data=b"stale\n", options=opts(ts - 5000), advance=False)
    replies = p.quiet(0.5)
    early = hard.unread(s)
    if early:
        raise AssertionError("the kernel accepted the PAWS-failing segment")
    mid = tun.ss()
    p.send(PSH | ACK, data=b"stale\n", options=opts(ts + 30))
    k = p.expect(3.0, lambda k: k[tp.TCP].ack == p.snd_nxt, "ACK of the resent bytes")
    p.kts = ts_option(k)[0]
    assert rec.recv_exact(s, 6) == b"stale\n"
    p.send(FIN | ACK, options=opts(ts + 40))
    fin_end = p.snd_nxt
    p.expect(3.0, lambda k: tp.flags_of(k) & ACK and k[tp.TCP].ack == fin_end, "ACK of FIN")
    s.shutdown(socket.SHUT_WR)
    fin = p.expect(3.0, lambda k: tp.flags_of(k) & FIN, "kernel FIN")
    p.note_data(fin)
    p.kts = ts_option(fin)[0]
    p.send(ACK, options=opts(ts + 50))
    tun.write("TIME_WAIT",
              "The peer connects to %s:%d offering timestamps (TSval from "
              "%d, echoing the kernel's TSval), sends 'hello\\n' (TSval %d, "
              "ACKed, read). Then 6 bytes at the right seq %d with TSval %d, "
              "older than the last one the kernel accepted: Linux fails them "
              "on PAWS (RFC 7323 5.3), drops them and answers %d duplicate "
              "ACK(s); the application reads nothing (ss_after_paws). The peer "
              "resends the same bytes with TSval %d: ACKed and read. Then peer "
              "FIN (ACKed), kernel shutdown(SHUT_WR) -> FIN, peer ACK. The "
              "scripted client is TIME_WAIT."
              % (tun.sep + (ts, ts + 20, stale_seq, ts - 5000, len(replies), ts + 30)),
              [anomaly("retransmission", "client",
                       "the PAWS-dropped bytes sent again with a fresh TSval")],
              ss_after_paws=mid, paws_segment=dict(seq=stale_seq, tsval=ts - 5000))


@scenario("synsent-bad-tsecr", expect=[("TIME_WAIT", "CLOSED")], tun=True)
def sc_synsent_bad_tsecr(sc):
    tp = hard_tp()
    tun = hard.Tun(sc, "bt", 47203, 40203, scripted="server")
    p = tun.p
    c = sc.track(hard.bound_socket(tun.t, *tun.cep))
    c.setblocking(False)
    if c.connect_ex(tun.sep) != errno.EINPROGRESS:
        raise OSError("connect")
    syn = p.expect(3.0, lambda k: tp.flags_of(k) == SYN, "SYN")
    kisn, (ktsval, _) = syn[tp.TCP].seq, ts_option(syn)
    p.rcv_nxt = (kisn + 1) & 0xFFFFFFFF
    bogus = (ktsval + 5000000) & 0xFFFFFFFF
    mine = 77000

    def opts(tsecr):
        return [("NOP", None), ("NOP", None), ("Timestamp", (mine, tsecr))]

    p.send(RST | ACK, seq=p.isn + 1, options=opts(bogus), advance=False)
    got_rst = p.quiet(0.3)
    after_rst = tun.ss()
    p.send(SYN | ACK, options=[("MSS", 1460)] + opts(bogus))
    rst = p.expect(2.0, lambda k: tp.flags_of(k) & RST, "RST answering the SYN+ACK")
    after_synack = tun.ss()
    syn2 = p.expect(4.0, lambda k: tp.flags_of(k) == SYN, "retransmitted SYN")
    if syn2[tp.TCP].seq != kisn:
        raise AssertionError("SYN retransmission changed ISN")
    k2 = ts_option(syn2)[0]
    p.send(SYN | ACK, seq=p.isn, options=[("MSS", 1460)] + opts(k2))
    k = p.expect(3.0, lambda k: tp.flags_of(k) == ACK, "handshake ACK")
    hard.wait_connected(c)
    c.sendall(b"hello\n")
    d = p.expect(3.0, lambda k: len(tp.payload_of(k)) == 6, "hello")
    p.note_data(d)
    p.send(ACK, options=opts(ts_option(d)[0]))
    c.shutdown(socket.SHUT_WR)
    fin = p.expect(3.0, lambda k: tp.flags_of(k) & FIN, "client FIN")
    p.note_data(fin)
    p.send(FIN | ACK, options=opts(ts_option(fin)[0]))
    p.expect(3.0, lambda k: tp.flags_of(k) == ACK and k[tp.TCP].ack == p.snd_nxt,
             "ACK of the server's FIN")
    tun.write("CLOSED",
              "The kernel is the CLIENT: %s:%d connects (timestamps on, SYN "
              "TSval %d) to the scripted server %s:%d. The peer first sends a "
              "RST+ACK with the right ack but TSecr %d, a TSval the client "
              "never sent: Linux (SYN_SENT) rejects it (PAWSActiveRejected) "
              "without answer (%d replies) and stays SYN_SENT (ss_after_rst). "
              "Then a SYN+ACK with the right ack and the same bogus TSecr: "
              "rejected the same way, answered by a RST with seq = its ack; "
              "still SYN_SENT (ss_after_synack). The kernel retransmits its "
              "SYN (same ISN) after its RTO; the peer answers with a SYN+ACK "
              "echoing that SYN's TSval; the handshake completes, the kernel "
              "sends 6 bytes, shuts down first, the peer answers FIN+ACK, the "
              "kernel ACKs. The scripted server is CLOSED (LAST_ACK acked)."
              % (tun.cep + (ktsval,) + tun.sep + (bogus, len(got_rst))),
              [anomaly("syn-retransmission", "client",
                       "the SYN resent after both forged segments were rejected")],
              ss_after_rst=after_rst, ss_after_synack=after_synack,
              bogus_tsecr=bogus)


# ===========================================================================
# 3. Retransmission proves loss (relay drops after the capture point)
# ===========================================================================

@scenario("synack-ack-lost", expect=[("ESTABLISHED", "SYN_RECEIVED")])
def sc_synack_ack_lost(sc):
    port = 47204

    def drop(direction, frame, p):            # every pure ACK of the client
        return direction == "a>b" and p is not None and p["flags"] == ACK and p["plen"] == 0

    a, r, b = sc.relay_topology("sa", drop=drop)
    sc.capture(r, "ra", port)                 # client side: before the drop
    sc.listen(b, ADDR_B, port)
    with a.entered():
        c, cep, err = rec.connect(ADDR_B, port)
    sc.track(c)
    if err:
        raise OSError(err, "connect")
    time.sleep(3.4)                           # SYN+ACK retransmitted at ~1 s and ~3 s
    sc.end([a, b], port)
    dropped = sum(1 for _, d, act, p in sc.relay.log if act == "drop")
    sc.write("Client %s connects to %s:%d through a relay that drops every "
             "pure ACK from the client, after the capture point (tcpdump on the "
             "relay's veth facing the client). The client's handshake ACK is "
             "in the file but never arrives; the server, still SYN_RECEIVED, "
             "retransmits its SYN+ACK (~1 s, ~3 s), the client answers each "
             "with an ACK (dropped too: %d ACKs dropped). The client sends no "
             "data. The ss snapshot shows the server's request socket in "
             "SYN-RECV." % (ADDR_A, ADDR_B, port, dropped),
             [sc.conn(cep, (ADDR_B, port))],
             [anomaly("synack-retransmission", "server",
                      "SYN+ACK retransmitted after the client's ACK was captured")])


@scenario("fin-ack-lost-fin-wait-1", expect=[("FIN_WAIT_1", "CLOSE_WAIT")])
def sc_fin_ack_lost_fw1(sc):
    port = 47205
    a, r, b = sc.relay_topology("f1")
    sc.capture(r, "rb", port)                 # server side: before the drop
    c, s, cep = sc.connected(a, b, ADDR_B, port)
    rec.exchange(c, s)
    time.sleep(0.1)
    sc.relay.set_drop(lambda d, f, p: d == "b>a")   # the server sends only ACKs now
    c.shutdown(socket.SHUT_WR)
    assert s.recv(10) == b""
    time.sleep(1.5)
    sc.end([a, b], port)
    dropped = sum(1 for _, d, act, p in sc.relay.log if act == "drop")
    sc.write("Client %s connects to %s:%d through the relay; request/response; "
             "then the relay drops everything from the server, after the "
             "capture point (tcpdump on the relay's veth facing the server). "
             "The client shuts down (FIN); the server's ACK of the FIN is in "
             "the file but never arrives, so the client retransmits its FIN "
             "(RTO backoff), each copy ACKed again and dropped (%d dropped). "
             "The server application read EOF and does not close."
             % (ADDR_A, ADDR_B, port, dropped),
             [sc.conn(cep, (ADDR_B, port))],
             [anomaly("fin-retransmission", "client",
                      "FIN retransmitted after the server's ACK of it was captured")])


@scenario("fin-ack-lost-last-ack", expect=[("TIME_WAIT", "LAST_ACK")])
def sc_fin_ack_lost_la(sc):
    port = 47206
    a, r, b = sc.relay_topology("la")
    sc.capture(r, "ra", port)                 # client side: before the drop
    c, s, cep = sc.connected(a, b, ADDR_B, port)
    rec.exchange(c, s)
    c.shutdown(socket.SHUT_WR)
    assert s.recv(10) == b""
    time.sleep(0.1)
    sc.relay.set_drop(lambda d, f, p: d == "a>b")   # the client sends only ACKs now
    s.shutdown(socket.SHUT_WR)
    time.sleep(1.5)
    sc.end([a, b], port)
    dropped = sum(1 for _, d, act, p in sc.relay.log if act == "drop")
    sc.write("Client %s connects to %s:%d through the relay; request/response; "
             "the client shuts down first (FIN, ACKed); then the relay drops "
             "everything from the client, after the capture point (tcpdump on "
             "the relay's veth facing the client). The server shuts down "
             "(FIN): the client's ACK is in the file but never arrives, so "
             "the server, in LAST_ACK, retransmits its FIN, each copy ACKed "
             "again and dropped (%d dropped)." % (ADDR_A, ADDR_B, port, dropped),
             [sc.conn(cep, (ADDR_B, port))],
             [anomaly("fin-retransmission", "server",
                      "FIN retransmitted after the client's ACK of it was captured")])


# ===========================================================================
# 4. The state of the connection, not of the listening socket
# ===========================================================================

@scenario("syn-unanswered", expect=[("SYN_SENT", "CLOSED")])
def sc_syn_unanswered(sc):
    port = 47207

    def drop(direction, frame, p):
        return direction == "a>b" and p is not None and p["flags"] & SYN

    a, r, b = sc.relay_topology("su", drop=drop)
    sc.capture(r, "ra", port)
    sc.listen(b, ADDR_B, port)
    c = sc.socket(a)
    c.setblocking(False)
    if c.connect_ex((ADDR_B, port)) != errno.EINPROGRESS:
        raise OSError("connect")
    time.sleep(3.4)                           # SYN retransmitted at ~1 s and ~3 s
    sc.end([a, b], port)
    cep = c.getsockname()
    sc.write("Client %s:%d connects to %s:%d, where a listener waits, through "
             "a relay that drops every SYN from the client after the capture "
             "point (tcpdump on the relay's veth facing the client). The "
             "responder never receives a SYN and never answers; the client "
             "retransmits its SYN at ~1 s and ~3 s. The server has no socket "
             "for this 4-tuple (ss shows only the listener)."
             % (cep[0], cep[1], ADDR_B, port),
             [sc.conn(cep, (ADDR_B, port))],
             [anomaly("syn-retransmission", "client", "SYN resent, never answered")])


@scenario("rst-in-syn-received", expect=[("CLOSED", "CLOSED")])
def sc_rst_in_syn_received(sc):
    port = 47208
    a, r, b = sc.relay_topology("sr", delay_ba=0.1)
    sc.capture(r, "ra", port)
    sc.listen(b, ADDR_B, port)
    c = sc.socket(a)
    c.setblocking(False)
    if c.connect_ex((ADDR_B, port)) != errno.EINPROGRESS:
        raise OSError("connect")
    cep = c.getsockname()
    time.sleep(0.02)
    c.close()                                 # SYN_SENT -> CLOSED, no segment
    time.sleep(0.5)                           # SYN+ACK arrives, answered by RST
    sc.end([a, b], port)
    sc.write("Client %s:%d connect()s to a listener on %s:%d through a relay "
             "that delays the server's frames by 100 ms, and closes its socket "
             "20 ms later, still in SYN_SENT (Linux sends nothing for that). "
             "The server's SYN+ACK then reaches a client kernel with no socket, "
             "which answers with a RST (seq = the SYN+ACK's ack). The server's "
             "request socket (SYN_RECEIVED) takes the RST and is deleted: the "
             "listener stays, and ss shows no socket for this 4-tuple on "
             "either side. Captured on the relay's veth facing the client."
             % (cep[0], cep[1], ADDR_B, port),
             [sc.conn(cep, (ADDR_B, port))], [])


# ===========================================================================
# 5. SYN after a refusal with the same ISN (Windows' retry)
# ===========================================================================

@scenario("syn-after-refusal-same-isn", expect=[("CLOSED", "CLOSED"), ("TIME_WAIT", "CLOSED")],
          tun=True)
def sc_syn_after_refusal(sc):
    tp = hard_tp()
    tun = hard.Tun(sc, "rf", 47209, 40209)
    p = tun.p
    p.send(SYN, options=[("MSS", 1460)])
    rst = p.expect(2.0, lambda k: tp.flags_of(k) & RST, "RST (no listener)")
    time.sleep(0.5)
    s_ls = tun.listen()
    p.snd_nxt = p.isn                         # the same SYN again, same ISN
    p.connect()
    s = sc.accept(s_ls)
    p.send_data(b"hello\n")
    assert rec.recv_exact(s, 6) == b"hello\n"
    s.sendall(b"world\n")
    assert p.read_data(6) == b"world\n"
    p.close_first(s)
    tun.sc.end([tun.t], tun.port)
    conns = [sc.conn(tun.cep, tun.sep, client_state="CLOSED", server_state="CLOSED",
                     scripted="client", incarnation=1),
             sc.conn(tun.cep, tun.sep, client_state="TIME_WAIT", scripted="client",
                     incarnation=2)]
    sc.write(hard.TUN_COMMON +
             "The peer %s:%d sends a SYN (ISN %d) to %s:%d where nothing "
             "listens: the kernel refuses it (RST+ACK). 0.5 s later, as Windows "
             "retries a refused connect, the peer sends the very same SYN "
             "(same port, same ISN) again; a listener has been started in "
             "between, so this one is answered by a SYN+ACK and the handshake "
             "completes: a new incarnation. 'hello\\n'/'world\\n' are "
             "exchanged, then peer FIN, kernel ACK, kernel close() -> FIN, "
             "peer ACK. Incarnation 1 is CLOSED/CLOSED (refused); incarnation "
             "2 is TIME_WAIT (scripted) / what ss shows."
             % (tun.cep + (p.isn,) + tun.sep), conns,
             [anomaly("refused", "server", "first SYN answered by RST+ACK"),
              anomaly("port-reuse", "client",
                      "the same SYN (same ISN) after the refusal: a new incarnation")])


# ===========================================================================
# 6. The sender of a RST is CLOSED, whatever its sequence number
# ===========================================================================

@scenario("rst-odd-seq", expect=[("CLOSED", "ESTABLISHED")], tun=True)
def sc_rst_odd_seq(sc):
    tun = hard.Tun(sc, "ro", 47210, 40210)
    p = tun.p
    tun.accept_peer(hello="peer")
    odd = (p.snd_nxt + 0x80000000) & 0xFFFFFFFF
    p.send(RST, seq=odd, advance=False)
    got = p.quiet(0.5)
    tun.write("CLOSED",
              "The peer connects to %s:%d, sends 6 bytes (ACKed, read), then "
              "aborts with a RST whose seq is rcv_nxt + 2^31 (as far from the "
              "window as a sequence number can be) and sends nothing more: "
              "the scripted client is CLOSED. Linux ignores the RST (%d "
              "replies) and stays ESTABLISHED." % (tun.sep + (len(got),)),
              [anomaly("rst-out-of-window", "client",
                       "RST at rcv_nxt + 2^31, ignored by the kernel")])


# ===========================================================================
# 7. Who closed first, around a capture gap
# ===========================================================================

@scenario("fin-order-capture-gap", expect=[("TIME_WAIT", "TIME_WAIT")])
def sc_fin_order(sc):
    port = 47211
    first_fin = []

    def drop(direction, frame, p):            # the client's first FIN, once
        if direction == "a>b" and p is not None and p["flags"] & FIN and not first_fin:
            first_fin.append(time.monotonic())
            return True
        return False

    a, r, b = sc.relay_topology("fo")
    sc.capture(r, "rb", port)                 # server side: after the drop
    c, s, cep = sc.connected(a, b, ADDR_B, port)
    rec.exchange(c, s)
    time.sleep(0.1)
    sc.relay.set_drop(drop)
    c.shutdown(socket.SHUT_WR)                # FIN 1: dropped, never in the file
    time.sleep(0.05)
    s.shutdown(socket.SHUT_WR)                # FIN 2: the first FIN in the file
    time.sleep(1.5)
    sc.end([a, b], port)
    fins = [(t, d) for t, d, act, p in sc.relay.log if p and p["flags"] & FIN]
    order = [("client" if d == "a>b" else "server") for t, d in fins]
    sc.write("Client %s connects to %s:%d through the relay; request/response; "
             "the client shuts down first, and the relay drops that FIN before "
             "the capture point (tcpdump on the relay's veth facing the server), "
             "so the file never holds it. 50 ms later the server shuts down "
             "too: its FIN is the first in the file. The client, in FIN_WAIT_1, "
             "takes it (CLOSING) and ACKs it with a seq past its own unseen FIN; "
             "then it retransmits its FIN, which the server (FIN_WAIT_2) ACKs. "
             "FINs as the relay saw them, in order: %s. The client closed first."
             % (ADDR_A, ADDR_B, port, ", ".join(order)),
             [sc.conn(cep, (ADDR_B, port))],
             [anomaly("previous-segment-not-captured", "client",
                      "the client's first FIN is missing from the file")],
             closed_first="client", fins_at_relay=order)


# ===========================================================================
# 8. A capture gap hides a window update
# ===========================================================================

@scenario("window-update-gap", expect=[("TIME_WAIT", "CLOSED")])
def sc_window_update_gap(sc):
    port = 47212
    n = sc.ns("wg")
    full = "window-update-full"
    sc.capture(n, "lo", port, stem=full)
    with n.entered():
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sc.track(ls)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    ls.bind((LO, port))
    ls.listen(4)
    with n.entered():
        c, cep, err = rec.connect(LO, port)
    sc.track(c)
    s = sc.accept(ls)
    total = 24000
    t = threading.Thread(target=lambda: c.sendall(b"x" * total), daemon=True)
    t.start()
    got = 0
    deadline = time.monotonic() + 10
    while got < total and time.monotonic() < deadline:
        time.sleep(0.05)                      # a slow reader: the window opens in steps
        got += len(s.recv(2048))
    t.join(5)
    if got != total:
        raise AssertionError("read %d of %d" % (got, total))
    rec.end_client_close(c, s)
    sc.end([n], port)
    full_path = sc.path(full)
    rows = tshark_fields(full_path, ["frame.number", "tcp.srcport", "tcp.seq", "tcp.len",
                                     "tcp.ack", "tcp.window_size", "tcp.flags"])
    # Window updates: server pure ACKs that move the right edge (ack + win)
    # past every edge seen before.  For each, j = the first client segment
    # after it that ends past the old edge.  Delete the update and the frames
    # after it up to j (not j): j is then data past the last edge the file
    # shows.  Prefer a cut that also removes client data (on lo that is in
    # practice a tail-loss-probe copy, so no sequence jump appears).
    edge, candidates = None, []
    for i, (f, sp, sq, ln, ak, win, fl) in enumerate(rows):
        f, sp, sq, ln, ak, win = int(f), int(sp), int(sq), int(ln), int(ak), int(win)
        if sp == port and int(fl, 16) & ACK and ln == 0:
            right = ak + win
            if edge is not None and right > edge and i > 3:
                j = i + 1
                while j < len(rows) and not (int(rows[j][1]) == cep[1] and int(rows[j][3]) > 0
                                             and int(rows[j][2]) + int(rows[j][3]) > edge):
                    j += 1
                if j < len(rows) - 1:
                    between = [r for r in rows[i + 1:j] if int(r[1]) == cep[1] and int(r[3]) > 0]
                    candidates.append((bool(between), f, int(rows[j - 1][0]), edge, int(rows[j][0])))
            edge = right if edge is None else max(edge, right)
    cut = None
    if candidates:
        best = [c for c in candidates if c[0]] or candidates
        cut = best[0][1:]
    if cut is None:
        raise AssertionError("no window update followed by data past the old edge")
    gap = sc.path()
    cmd = ["editcap", full_path, gap, "%d-%d" % (cut[0], cut[1])]
    subprocess.run(cmd, check=True, timeout=30, capture_output=True)
    os.remove(full_path)
    sc.captures[sc.name] = sc.captures.pop(full)
    sc.write("On one namespace's lo, a listener with SO_RCVBUF 4096 on %s:%d "
             "(small unscaled window) and a client that writes 24000 bytes at "
             "once; the server reads 2048 bytes every 50 ms, so its window "
             "opens in steps. Then client-first close. The file is the full "
             "capture with frames %d-%d deleted by editcap: the server's window "
             "update (frame %d) and what followed it up to, not including, the "
             "first client segment ending past the last window edge seen "
             "before (%d; that segment was frame %d of the full capture). So "
             "the file shows data past the last seen window edge, and the "
             "server then acknowledges it."
             % (LO, port, cut[0], cut[1], cut[0], cut[2], cut[3]),
             [sc.conn(cep, (LO, port))],
             [],                       # the file holds nothing the endpoints did wrong
             recorded_with=" ".join(cmd[:1] + [os.path.basename(x) for x in cmd[1:3]] + cmd[3:])
             + "  # derived from: " + sc.captures[sc.name].command,
             deleted_frames=[cut[0], cut[1]], last_seen_edge_before_gap=cut[2])


# ===========================================================================
# 9. FIN sent in SYN_SENT
# ===========================================================================

@scenario("fin-in-syn-sent", expect=[("SYN_SENT", "SYN_RECEIVED")], tun=True)
def sc_fin_in_syn_sent(sc):
    tp = hard_tp()
    tun = hard.Tun(sc, "fs", 47213, 40213)
    p = tun.p
    tun.listen()
    p.send(SYN, options=[("MSS", 1460)])
    p.expect(3.0, lambda k: tp.flags_of(k) & (SYN | ACK) == SYN | ACK, "SYN+ACK")
    p.send(FIN, ack=0)                        # FIN without ACK: the peer never took the SYN+ACK
    got = p.quiet(0.5)
    tun.write("SYN_SENT",
              "A kernel listener on %s:%d; the peer sends a SYN, the kernel "
              "answers SYN+ACK, and the peer, as if it had never received it, "
              "sends a FIN without ACK (seq = ISN+1, ack field 0): a FIN sent "
              "in SYN_SENT. Linux drops it in SYN_RECEIVED (no ACK flag; %d "
              "replies in 0.5 s); its request socket stays SYN-RECV. The "
              "scripted client's own segments leave it in SYN_SENT (no "
              "SYN+ACK accepted)." % (tun.sep + (len(got),)),
              [anomaly("fin-before-established", "client",
                       "FIN sent before the handshake completed")])


# ===========================================================================
# 10. Midstream pickup during a half-close
# ===========================================================================

@scenario("midstream-half-close", expect=[("TIME_WAIT", "CLOSED")])
def sc_midstream_half_close(sc):
    port = 30214               # below the ephemeral range: the port guess picks the right client
    n = sc.ns("mh")
    c, s, cep = sc.connected(n, n, LO, port)
    rec.exchange(c, s)
    c.shutdown(socket.SHUT_WR)                # the client's FIN, before the capture
    assert s.recv(10) == b""
    time.sleep(0.2)                           # its ACK too
    before = n.ss(port)
    sc.capture(n, "lo", port)
    s.sendall(b"late reply\n")
    assert rec.recv_exact(c, 11) == b"late reply\n"
    time.sleep(0.1)
    s.shutdown(socket.SHUT_WR)
    assert c.recv(10) == b""
    sc.end([n], port)
    sc.write("On one namespace's lo, client %s:%d and server %s:%d do a "
             "request/response; the client shuts down (FIN, ACKed) BEFORE "
             "tcpdump starts (ss_before_capture: FIN-WAIT-2 / CLOSE-WAIT). The "
             "file then shows only the server sending 11 bytes (ACKed), the "
             "server's FIN and the client's ACK of it: nothing in it shows "
             "that the client had closed first." % (cep + (LO, port)),
             [sc.conn(cep, (LO, port))],
             [anomaly("midstream-pickup", "client", "no handshake in the file")],
             ss_before_capture=before)


# ---------------------------------------------------------------------------

# ===========================================================================
# 10. ACK acceptability (RFC 9293 3.10.7.4 fifth, RFC 5961 5): an ACK too old
# ===========================================================================

@scenario("ack-too-old", expect=[("TIME_WAIT", "CLOSED")], tun=True)
def sc_ack_too_old(sc):
    tp = hard_tp()
    tun = hard.Tun(sc, "ao", 47214, 40214)
    p = tun.p
    p.window = 4000                         # the kernel's max_window: 4000 (SYN included)
    s = tun.accept_peer(hello="peer")
    bulk = 12000
    writer = threading.Thread(target=s.sendall, args=(b"x" * bulk,))
    writer.start()                          # the peer reads while the application writes
    assert p.read_data(bulk, timeout=20.0) == b"x" * bulk
    writer.join()
    una = p.rcv_nxt
    old = (una - 10000) & 0xFFFFFFFF       # below snd_una - max_window (4000)
    # Another window value than the last: header prediction must not take it.
    p.send(PSH | ACK, data=b"old ack\n", ack=old, window=3000, advance=False)
    replies = p.quiet(0.5)
    early = hard.unread(s)
    if early:
        raise AssertionError("the kernel accepted data carrying a too-old ACK")
    mid = tun.ss()
    p.send_data(b"old ack\n")
    assert rec.recv_exact(s, 8) == b"old ack\n"
    p.close_first(s)
    tun.write("TIME_WAIT",
              "The peer connects to %s:%d (window 4000, no scaling), sends "
              "'hello\\n' (read); the application sends %d bytes, which the "
              "peer reads and ACKs. Then 8 bytes at the right seq whose ACK is "
              "%d, 10000 below the kernel's snd_una %d and so below snd_una - "
              "max_window: Linux drops the segment (tcp_ack: "
              "TCP_TOO_OLD_ACK) and answers %d segment(s); the application "
              "reads nothing (ss_after_old_ack). The same bytes with the right "
              "ACK are read; then the peer closes first. The scripted client "
              "is TIME_WAIT."
              % (tun.sep + (bulk, old, una, len(replies))),
              [anomaly("ack-too-old", "client",
                       "ACK 10000 below snd_una, more than a window (4000)")],
              ss_after_old_ack=mid, old_ack=dict(ack=old, snd_una=una))


@scenario("synack-from-answered-client", expect=[("TIME_WAIT", "CLOSED")], tun=True)
def sc_synack_from_answered_client(sc):
    tp = hard_tp()
    tun = hard.Tun(sc, "sw", 47215, 40215)
    p = tun.p
    s = tun.accept_peer(hello="peer")
    # The client's SYN was answered by the kernel's SYN+ACK; now the client sends a SYN+ACK of
    # its own (its ISN, acknowledging the kernel's data position): it answers no SYN.
    p.send(SYN | ACK, seq=p.isn, options=[("MSS", 1460)], advance=False)
    replies = p.quiet(0.5)
    mid = tun.ss()
    p.send_data(b"after\n")
    assert rec.recv_exact(s, 6) == b"after\n"
    p.close_first(s)
    tun.write("TIME_WAIT",
              "The scripted client connects to %s:%d and sends 'hello\\n' "
              "(read). Its SYN was answered by the kernel's SYN+ACK; it then "
              "sends a SYN+ACK of its own (seq = its ISN, ack = the kernel's "
              "snd_nxt): the kernel (ESTABLISHED) answers %d segment(s) (a "
              "challenge ACK, RFC 5961 section 4) and stays ESTABLISHED "
              "(ss_after_synack). Then 6 bytes are read and the client closes "
              "first. The scripted client is TIME_WAIT."
              % (tun.sep + (len(replies),)),
              [anomaly("synack-wrong-direction", "client",
                       "a SYN+ACK from the endpoint whose SYN was answered")],
              ss_after_synack=mid, replies=len(replies))


# ===========================================================================
# 13. Van Rooij bound II (conntrack's lower bound): data too old
# ===========================================================================

@scenario("data-too-old", expect=[("TIME_WAIT", "CLOSED")], tun=True)
def sc_data_too_old(sc):
    tp = hard_tp()
    tun = hard.Tun(sc, "do", 47216, 40216)
    p = tun.p
    ls = tun.listen()
    # A small receive buffer on the listener (inherited by the connection, autotuning off): the
    # kernel's window stays a few KB, so a few times that much data puts old data below the bound.
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    p.connect()
    s = sc.accept(ls)
    bulk, chunk = 12000, 500
    got = []
    reader = threading.Thread(target=lambda: got.append(rec.recv_exact(s, bulk)))
    reader.start()                          # the application reads while the peer sends
    first_seq = p.snd_nxt
    for i in range(bulk // chunk):
        p.send_data(bytes([0x61 + i % 26]) * chunk)
    reader.join(timeout=20.0)
    assert got and len(got[0]) == bulk, "the application did not read the %d bytes" % bulk
    max_win = max(pkt[tp.TCP].window for pkt in p.seen)
    nxt = p.snd_nxt
    if not (first_seq + chunk) - (nxt - max_win) < 0:
        raise AssertionError("the kernel's window (%d) is too large for the bound" % max_win)
    # The first chunk again: it ends more than the largest window below SND.NXT.
    p.send(PSH | ACK, seq=first_seq, data=bytes([0x61]) * chunk, advance=False)
    replies = p.quiet(0.5)
    early = hard.unread(s)
    if early:
        raise AssertionError("the kernel delivered old data to the application")
    mid = tun.ss()
    p.send_data(b"after\n")
    assert rec.recv_exact(s, 6) == b"after\n"
    p.close_first(s)
    tun.write("TIME_WAIT",
              "The peer connects to %s:%d (no window scaling; the listener's "
              "SO_RCVBUF is 2048, so the kernel's largest window is %d); it "
              "sends %d bytes in %d-byte segments, each ACKed, which the "
              "application reads. Then the first segment again (seq %d, %d "
              "bytes): it ends %d bytes below the peer's snd_nxt %d minus the "
              "largest window. Linux drops it as a duplicate and answers %d "
              "segment(s); the application reads nothing (ss_after_old_data). "
              "6 more bytes are read; then the peer closes first. The scripted "
              "client is TIME_WAIT."
              % (tun.sep + (max_win, bulk, chunk, first_seq, chunk,
                            (nxt - max_win) - (first_seq + chunk), nxt, len(replies))),
              [anomaly("data-too-old", "client",
                       "data ending more than the largest window below SND.NXT")],
              ss_after_old_data=mid,
              old_data=dict(seq=first_seq, length=chunk, snd_nxt=nxt, max_window=max_win))


# ===========================================================================
# 14. RSTs in SYN_SENT (RFC 9293 3.10.7.3): without ACK, or with an unacceptable ACK
# ===========================================================================

@scenario("rst-in-syn-sent-dropped", expect=[("CLOSED", "TIME_WAIT")], tun=True)
def sc_rst_in_syn_sent_dropped(sc):
    tp = hard_tp()
    tun = hard.Tun(sc, "rs", 47217, 40217, scripted="server")
    p = tun.p
    c = sc.track(hard.bound_socket(tun.t, *tun.cep))
    c.setblocking(False)
    if c.connect_ex(tun.sep) != errno.EINPROGRESS:
        raise OSError("connect")
    syn = p.expect(3.0, lambda k: tp.flags_of(k) == SYN, "SYN")
    kisn = syn[tp.TCP].seq
    p.rcv_nxt = (kisn + 1) & 0xFFFFFFFF
    # A RST without ACK: "If the ACK bit is off ... drop the segment" (the RST is not acceptable).
    p.send(RST, seq=p.isn + 1, ack=0, advance=False)
    no_ack_replies = p.quiet(0.3)
    after_rst = tun.ss()
    # A RST+ACK whose ACK acknowledges nothing the client sent (SEG.ACK > SND.NXT): dropped too.
    bad_ack = (kisn + 1 + 1000) & 0xFFFFFFFF
    p.send(RST | ACK, seq=p.isn + 1, ack=bad_ack, advance=False)
    bad_ack_replies = p.quiet(0.3)
    after_bad_ack = tun.ss()
    p.send(SYN | ACK, options=[("MSS", 1460)])
    p.expect(3.0, lambda k: tp.flags_of(k) == ACK, "handshake ACK")
    hard.wait_connected(c)
    c.setblocking(True)
    c.sendall(b"hello\n")
    d = p.expect(3.0, lambda k: len(tp.payload_of(k)) == 6, "hello")
    p.note_data(d)
    p.send(ACK)
    p.send(FIN | ACK)
    p.expect(3.0, lambda k: tp.flags_of(k) & ACK and k[tp.TCP].ack == p.snd_nxt, "ACK of the server's FIN")
    c.close()
    fin = p.expect(3.0, lambda k: tp.flags_of(k) & FIN, "client FIN")
    p.note_data(fin)
    p.send(ACK)
    time.sleep(0.2)
    tun.write("TIME_WAIT",
              "The kernel is the CLIENT: %s:%d connects (no data yet) to the "
              "scripted server %s:%d. The peer first sends a RST without ACK "
              "(%d replies): Linux (SYN_SENT) drops it and stays SYN-SENT "
              "(ss_after_rst). Then a RST+ACK whose ack is the client's ISN + "
              "1001, beyond anything it sent (%d replies): dropped the same way, "
              "still SYN-SENT (ss_after_bad_ack). Then a SYN+ACK: the handshake "
              "completes, the kernel sends 6 bytes (ACKed), the server closes "
              "first (FIN+ACK, ACKed: CLOSE_WAIT), the client closes (its FIN, "
              "ACKed by the server): the kernel client is CLOSED (gone from "
              "ss), the scripted server TIME_WAIT."
              % (tun.cep + tun.sep + (len(no_ack_replies), len(bad_ack_replies))),
              [],
              ss_after_rst=after_rst, ss_after_bad_ack=after_bad_ack)


def run(name, outdir):
    entry = SCENARIOS[name]
    sc = RuleScene(name, outdir)
    try:
        entry["fn"](sc)
    finally:
        sc.cleanup()
    got = [(c["client_state"], c["server_state"]) for c in sc.written[0]["connections"]]
    return got, entry["expect"]


def main():
    ap = rec.scenario_parser(__doc__, SCENARIOS, os.path.join(HERE, ".rules-out"))
    ap.add_argument("-q", "--quiet", action="store_true", help="no per-packet log")
    args = ap.parse_args()
    hard.VERBOSE = not args.quiet
    names = rec.chosen_scenarios(ap, args, SCENARIOS, "namespaces, packet capture")
    os.makedirs(args.outdir, exist_ok=True)
    stale = nl.cleanup_stale()
    if stale:
        print("removed namespaces left by an interrupted run: %s" % ", ".join(stale))
    return rec.run_scenarios(names, lambda name: run(name, args.outdir),
                             tracebacks=hard.VERBOSE)


if __name__ == "__main__":
    sys.exit(main())
