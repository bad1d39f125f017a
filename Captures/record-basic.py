#!/usr/bin/python3
"""Regenerate the basic WireState loopback captures and their kernel truth.

    sudo /usr/bin/python3 Captures/record-basic.py [SCENARIO ...]

With no argument every scenario is recorded.  Each scenario writes
``NAME.pcap`` (or ``NAME.pcapng``) and ``NAME.truth.json`` next to this
script (or into ``--outdir``).  Each scenario uses its own fixed server port
(47001..47009) so the capture filter ``tcp port P`` isolates it.

The scenarios are driven from a single thread: both ends of every connection
live in this process, each step is a blocking call with a timeout, so the
packet sequence is deterministic and nothing can hang.  After the scenario's
last step the recorder waits 0.3 s, snapshots ``ss`` while every socket the
scenario did not close itself is still open, stops the capture, writes the
truth and only then closes (abortively, after the capture) what is left.

At the end a summary compares the kernel truth with the states we expected;
the truth file always holds what the kernel said.
"""

import errno
import os
import socket
import sys

sys.dont_write_bytecode = True          # keep tools/ free of __pycache__
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "tools"))
import recorder as rec  # noqa: E402

V4 = "127.0.0.1"
V6 = "::1"

socket.setdefaulttimeout(rec.DEFAULT_TIMEOUT)   # belt and braces


# ---------------------------------------------------------------------------
# building blocks (each returns after its last packet-producing step)
# ---------------------------------------------------------------------------

def open_conn(r, ls, host, port):
    """connect + accept; both sockets tracked; connection registered."""
    c, cep, err = rec.connect(host, port)
    r.track(c)
    r.connection(cep, (host, port))
    if err:
        raise OSError(err, "connect failed: " + os.strerror(err))
    s, _ = rec.accept(ls)
    r.track(s)
    return c, s


def abort(closer, peer, peer_name):
    """``closer`` closes with SO_LINGER {1,0} -> RST; ``peer`` must see
    ECONNRESET."""
    rec.abort_close(closer)
    try:
        peer.recv(100)
        raise AssertionError("%s did not see the RST" % peer_name)
    except ConnectionResetError:
        pass


def end_client_abort(c, s):
    """Client SO_LINGER {1,0} + close -> RST; server sees ECONNRESET."""
    abort(c, s, "server")


def end_server_abort(c, s):
    """Server SO_LINGER {1,0} + close -> RST; client sees ECONNRESET."""
    abort(s, c, "client")


def half_close_exchange(c, s):
    """Client sends request + shutdown(SHUT_WR); server reads to EOF, replies;
    client reads the reply.  Both fds stay open."""
    c.sendall(rec.REQ)
    c.shutdown(socket.SHUT_WR)
    assert rec.recv_until_eof(s) == rec.REQ
    s.sendall(rec.RESP)
    assert rec.recv_exact(c, len(rec.RESP)) == rec.RESP


# ---------------------------------------------------------------------------
# scenarios: name -> (port, host, tool, nano, description, expected, body)
# ---------------------------------------------------------------------------

def simple(ending):
    def body(r, host, port):
        ls = r.track(rec.listen(host, port))
        c, s = open_conn(r, ls, host, port)
        rec.exchange(c, s)
        ending(c, s)
    return body


def body_half_close(r, host, port):
    ls = r.track(rec.listen(host, port))
    c, s = open_conn(r, ls, host, port)
    half_close_exchange(c, s)


def body_refused(r, host, port):
    # no listener on this port: SYN answered by RST/ACK
    c, cep, err = rec.connect(host, port)
    r.track(c)
    r.connection(cep, (host, port))
    if err != errno.ECONNREFUSED:
        raise AssertionError("expected ECONNREFUSED, got %r" % err)


def body_multi(r, host, port):
    ls = r.track(rec.listen(host, port))
    # 1 normal close (client first)
    c, s = open_conn(r, ls, host, port); rec.exchange(c, s); rec.end_client_close(c, s)
    # 2 server closes first
    c, s = open_conn(r, ls, host, port); rec.exchange(c, s); rec.end_server_close(c, s)
    # 3 client aborts with RST
    c, s = open_conn(r, ls, host, port); rec.exchange(c, s); end_client_abort(c, s)
    # 4 server aborts with RST
    c, s = open_conn(r, ls, host, port); rec.exchange(c, s); end_server_abort(c, s)
    # 5 half-close, left open
    c, s = open_conn(r, ls, host, port); half_close_exchange(c, s)
    # 6 established, left open
    c, s = open_conn(r, ls, host, port); rec.exchange(c, s)
    ports = [rec.parse_endpoint(cl)[1] for cl, _ in r.connections]
    if len(set(ports)) != len(ports):
        raise AssertionError("client port reused inside multi: %r" % ports)


CC = "TIME_WAIT", "CLOSED"
SC = "CLOSED", "TIME_WAIT"
HC = "FIN_WAIT_2", "CLOSE_WAIT"
XX = "CLOSED", "CLOSED"
EE = "ESTABLISHED", "ESTABLISHED"

SCENARIOS = {
    "client-close": dict(
        port=47001, host=V4, body=simple(rec.end_client_close), expect=[CC],
        description="Client connects to 127.0.0.1, sends a request and reads "
                    "a response, closes first; the server reads EOF and then "
                    "closes."),
    "server-close": dict(
        port=47002, host=V4, body=simple(rec.end_server_close), expect=[SC],
        description="Client connects to 127.0.0.1 and sends a request; the "
                    "server replies and closes first; the client reads the "
                    "reply and EOF and then closes."),
    "half-close": dict(
        port=47003, host=V4, body=body_half_close, expect=[HC],
        description="Client sends a request and shutdown(SHUT_WR); the server "
                    "reads to EOF and sends a reply; the client reads it; "
                    "neither side closes its socket."),
    "refused": dict(
        port=47004, host=V4, body=body_refused, expect=[XX],
        description="Client connects to a 127.0.0.1 port with no listener and "
                    "is refused with RST."),
    "abort-rst": dict(
        port=47005, host=V4, body=simple(end_client_abort), expect=[XX],
        description="Client connects, exchanges a request and a response, "
                    "then closes with SO_LINGER {on, 0}, sending RST; the "
                    "server socket sees ECONNRESET and stays open."),
    "ipv6-client-close": dict(
        port=47006, host=V6, body=simple(rec.end_client_close), expect=[CC],
        description="Like client-close over [::1]: request/response, client "
                    "closes first, server reads EOF and closes."),
    "multi": dict(
        port=47007, host=V4, body=body_multi,
        expect=[CC, SC, XX, XX, HC, EE],
        description="Six sequential connections to one server port: client "
                    "closes first; server closes first; client aborts with "
                    "RST; server aborts with RST; client half-closes and both "
                    "stay open; request/response left ESTABLISHED."),
    "client-close-nano": dict(
        port=47008, host=V4, body=simple(rec.end_client_close), expect=[CC],
        nano=True,
        description="client-close recorded with nanosecond timestamps: "
                    "request/response, client closes first, server reads EOF "
                    "and closes."),
    "server-close-pcapng": dict(
        port=47009, host=V4, body=simple(rec.end_server_close), expect=[SC],
        tool="dumpcap",
        description="server-close recorded as pcapng with dumpcap: request, "
                    "server replies and closes first, client reads EOF and "
                    "closes."),
}
ALL_PORTS = {d["port"] for d in SCENARIOS.values()}


def run(name, outdir, quiet_timeout):
    d = SCENARIOS[name]
    with rec.Recording(outdir, name, d["port"], d["description"],
                       tool=d.get("tool", "tcpdump"), nano=d.get("nano", False),
                       quiet_timeout=quiet_timeout) as r:
        d["body"](r, d["host"], d["port"])
        truth = r.finish()
    got = [(c["client_state"], c["server_state"]) for c in truth["connections"]]
    for c in truth["connections"]:
        cport = rec.parse_endpoint(c["client"])[1]
        if cport in ALL_PORTS:
            print("[%s] WARNING: ephemeral client port %d is a scenario port"
                  % (name, cport))
    return got, [tuple(e) for e in d["expect"]]


def main():
    ap = rec.scenario_parser(__doc__, SCENARIOS, HERE)
    ap.add_argument("--quiet-timeout", type=float, default=75.0,
                    help="max seconds to wait for leftovers (e.g. TIME_WAIT "
                         "from a previous run) on a scenario port")
    args = ap.parse_args()
    names = rec.chosen_scenarios(ap, args, SCENARIOS, "packet capture")
    return rec.run_scenarios(
        names, lambda name: run(name, args.outdir, args.quiet_timeout),
        truth="kernel truth")


if __name__ == "__main__":
    sys.exit(main())
