#!/usr/bin/env bash
# Regenerate the WireState decoder fixtures (*.pcap) and their tshark oracles
# (*.expected.tsv).  Run as root from anywhere:
#
#     sudo Tests/Fixtures/decoder/make-fixtures.sh
#
# Needs: iproute2 (ip netns/veth), tcpdump, tshark, capinfos, /usr/bin/python3
# with scapy (only for the SACK/ECN raw peer).  All traffic runs inside the
# throw-away network namespaces wsfx-a / wsfx-b (veth or tun between them);
# the namespaces are deleted on exit, so every sysctl changed here is
# namespace-local and disappears with them.  Host sysctls are not touched.
# Every wait is bounded; background processes are killed by PID.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3
B=$HERE/.build                       # scratch, removed on exit
NA=wsfx-a NB=wsfx-b                  # namespaces
IFA=wsfx0 IFB=wsfx1                  # veth ends (A side / B side)
MACA=02:00:00:00:00:01 MACB=02:00:00:00:00:02
V4A=10.0.0.1 V4B=10.0.0.2
V6A=fd00::1 V6B=fd00::2
PORT=45001                           # server port (no tshark dissector on it)
BG_PIDS=()

log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "must run as root"
for t in ip tcpdump tshark capinfos editcap; do command -v $t >/dev/null || die "missing $t"; done
$PY -c 'import scapy' 2>/dev/null || die "$PY lacks scapy"

HOST_SYSCTLS="net.ipv4.tcp_fastopen net.ipv4.tcp_ecn net.ipv6.conf.all.seg6_enabled"
HOST_BEFORE=$(sysctl -n $HOST_SYSCTLS | tr '\n' ' ')

kill_bg() {
    local p
    for p in "${BG_PIDS[@]}"; do
        if kill -0 "$p" 2>/dev/null; then
            kill -TERM "$p" 2>/dev/null || true
            for _ in $(seq 1 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$p" 2>/dev/null || true
        fi
        wait "$p" 2>/dev/null || true
    done
    BG_PIDS=()
}

del_ns() {
    local n
    for n in "$NA" "$NB"; do
        if ip netns list | awk '{print $1}' | grep -qx "$n"; then ip netns del "$n"; fi
    done
}

cleanup() {
    local rc=$?
    kill_bg
    del_ns
    rm -rf "$B"
    local after
    after=$(sysctl -n $HOST_SYSCTLS | tr '\n' ' ')
    [[ "$after" == "$HOST_BEFORE" ]] || echo "WARNING: host sysctls changed: '$HOST_BEFORE' -> '$after'" >&2
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for CMD... : poll up to 5 s
wait_for() {
    for _ in $(seq 1 50); do "$@" && return 0; sleep 0.1; done
    return 1
}

# bg NS CMD... : start a background command in namespace NS, PID -> $BG_LAST
bg() {
    local ns=$1; shift
    ip netns exec "$ns" "$@" &
    BG_LAST=$!
    BG_PIDS+=("$BG_LAST")
}

# wait_pid PID SECONDS : wait for a background job, kill it if it overruns
wait_pid() {
    local pid=$1 secs=$2 i
    for i in $(seq 1 $((secs * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        echo "timeout: killing $pid" >&2
        kill -TERM "$pid" 2>/dev/null || true
        sleep 0.5
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
}

# forget_pid PID : drop a reaped PID from BG_PIDS so it is never signalled again
forget_pid() {
    local keep=() p
    for p in "${BG_PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    BG_PIDS=("${keep[@]}")
}

# cap_start NS IFACE FILE [tcpdump args...] : start tcpdump, PID -> $CAP_LAST
cap_start() {
    local ns=$1 ifc=$2 out=$3; shift 3
    rm -f "$out" "$out.log"
    ip netns exec "$ns" tcpdump -Z root -U --immediate-mode -n -i "$ifc" -w "$out" "$@" 2>"$out.log" &
    CAP_LAST=$!
    BG_PIDS+=("$CAP_LAST")
    wait_for grep -q 'listening on' "$out.log" || { cat "$out.log" >&2; die "tcpdump did not start"; }
}

# cap_stop PID... : give the last packets time to land, then SIGINT tcpdump
cap_stop() {
    local p
    sleep 1
    for p in "$@"; do kill -INT "$p" 2>/dev/null || true; done
    for p in "$@"; do wait_pid "$p" 5; done
}

# start_server NS ARGS... : kernel TCP server, waits until it listens
start_server() {
    local ns=$1; shift
    rm -f "$B/ready"
    bg "$ns" $PY "$HERE/fx_traffic.py" server --ready "$B/ready" "$@"
    SERVER_PID=$BG_LAST
    wait_for test -f "$B/ready" || die "server did not start"
}

client() {   # client NS ARGS...
    local ns=$1; shift
    timeout 30 ip netns exec "$ns" $PY "$HERE/fx_traffic.py" client "$@"
}

# new_pair [v6] : fresh namespaces A and B joined by a veth pair, TX checksum
# offload off (so captured checksums are complete), IPv6 only if asked.
new_pair() {
    local v6=${1:-}
    kill_bg
    del_ns
    ip netns add "$NA"
    ip netns add "$NB"
    ip -n "$NA" link add "$IFA" address $MACA type veth peer name "$IFB" address $MACB netns "$NB"
    local ns ifc
    for ns in "$NA" "$NB"; do
        ip -n "$ns" link set lo up
        ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.forwarding=0
    done
    for pair in "$NA $IFA $V4A" "$NB $IFB $V4B"; do
        read -r ns ifc a4 <<<"$pair"
        ip netns exec "$ns" $PY "$HERE/fx_traffic.py" txcsum-off "$ifc"
        if [[ $v6 == v6 ]]; then
            ip netns exec "$ns" sysctl -qw net.ipv6.conf.$ifc.addr_gen_mode=1 \
                net.ipv6.conf.$ifc.router_solicitations=0 net.ipv6.conf.$ifc.accept_ra=0
        else
            ip netns exec "$ns" sysctl -qw net.ipv6.conf.$ifc.disable_ipv6=1
        fi
        ip -n "$ns" addr add "$a4/24" dev "$ifc"
    done
    if [[ $v6 == v6 ]]; then
        ip -n "$NA" addr add "$V6A/64" dev "$IFA" nodad
        ip -n "$NB" addr add "$V6B/64" dev "$IFB" nodad
        ip -n "$NA" neigh add "$V6B" lladdr $MACB dev "$IFA" nud permanent
        ip -n "$NB" neigh add "$V6A" lladdr $MACA dev "$IFB" nud permanent
    fi
    ip -n "$NA" link set "$IFA" up
    ip -n "$NB" link set "$IFB" up
    sleep 0.3
}

# Capture filter for IPv6-enabled veth captures: drop MLD reports (ICMPv6
# behind a hop-by-hop header) and router/neighbour discovery (types >= 133).
V6_NOISE='not ((ip6[6] == 0 and ip6[40] == 58) or (ip6[6] == 58 and ip6[40] >= 133))'

mkdir -p "$B"
cd "$HERE"
rm -f ./*.pcap ./*.expected.tsv ./*.expected-error.txt fixtures-summary.tsv

###############################################################################
# eth / eth-vlan / eth-qinq / truncated-snaplen: same conversation
#   UDP datagram to a closed port (ARP + UDP + ICMP port unreachable), then a
#   TCP connection: handshake, 2 x 600 bytes client data, 400 bytes reply, close.
###############################################################################
eth_conversation() {  # eth_conversation OUT [vlan push specs...]
    local out=$1; shift
    new_pair
    if (($#)); then
        local ns ifc
        for ns_if in "$NA:$IFA" "$NB:$IFB"; do
            IFS=: read -r ns ifc <<<"$ns_if"
            ip netns exec "$ns" $PY "$HERE/fx_vlan_bpf.py" "$ifc" push "$@"
            ip netns exec "$ns" $PY "$HERE/fx_vlan_bpf.py" "$ifc" pop $#
        done
    fi
    start_server "$NB" --addr $V4B --port $PORT --reply 400 --reply-after 1200
    cap_start "$NB" "$IFB" "$B/$out.pcap"; local c1=$CAP_LAST
    local caps=("$c1")
    if [[ $out == eth ]]; then
        cap_start "$NB" "$IFB" "$B/truncated-snaplen.pcap" -s 80; caps+=("$CAP_LAST")
    fi
    client "$NA" --addr $V4B --port $PORT --bind-port 40001 --udp-probe 9 \
        --chunks 600,600 --nodelay --expect 400
    wait_pid "$SERVER_PID" 10
    cap_stop "${caps[@]}"
    cp "$B/$out.pcap" "$HERE/$out.pcap"
    [[ $out == eth ]] && cp "$B/truncated-snaplen.pcap" "$HERE/"
    return 0
}

log "eth.pcap + truncated-snaplen.pcap"
eth_conversation eth
log "eth-vlan.pcap (802.1Q 100, tagged by the kernel via bpf_skb_vlan_push)"
eth_conversation eth-vlan 8100:100
log "eth-qinq.pcap (802.1ad 200 outer, 802.1Q 300 inner)"
eth_conversation eth-qinq 8100:300 88a8:200

###############################################################################
# ipv4-fragments / unsupported-link / corrupt-*: derived from eth.pcap
###############################################################################
log "ipv4-fragments.pcap, unsupported-link.pcap, corrupt-*.pcap"
$PY fx_pcap.py ipv4frag eth.pcap ipv4-fragments.pcap $PORT
$PY fx_pcap.py wifi eth.pcap unsupported-link.pcap
$PY fx_pcap.py truncate eth.pcap corrupt-truncated-file.pcap 7
$PY fx_pcap.py badcaplen eth.pcap corrupt-bad-header.pcap 3

###############################################################################
# ipv4-options: IP_OPTIONS on the client socket:
#   NOP | Record Route (len 7, 1 slot) | Timestamp (len 12, flag 0, 2 slots)
###############################################################################
log "ipv4-options.pcap"
new_pair
start_server "$NB" --addr $V4B --port $PORT --reply 100
cap_start "$NB" "$IFB" "$B/ipv4-options.pcap"; c1=$CAP_LAST
client "$NA" --addr $V4B --port $PORT --bind-port 40002 --chunks 200 --expect 100 \
    --ipopts 0107070400000000440c05000000000000000000
wait_pid "$SERVER_PID" 10
cap_stop "$c1"
cp "$B/ipv4-options.pcap" .

###############################################################################
# tcp-options:
#  conn 1 (kernel <-> kernel): client namespace has net.ipv4.tcp_ecn=1 so the
#    SYN carries ECE+CWR (server default tcp_ecn=2 answers ECE); default Linux
#    MSS/SACK_PERM/TS/WS; an urgent byte (MSG_OOB) -> URG + urgent pointer.
#  conn 2 (scapy raw peer 10.0.0.3 -> kernel server): out-of-order segments so
#    the kernel's ACKs carry SACK blocks; a CE-marked segment so the kernel
#    echoes ECE; the peer then sets CWR.
###############################################################################
log "tcp-options.pcap"
new_pair
ip netns exec "$NA" sysctl -qw net.ipv4.tcp_ecn=1
ip -n "$NB" neigh add 10.0.0.3 lladdr $MACA dev "$IFB" nud permanent
start_server "$NB" --addr $V4B --port $PORT --reply 300
S1=$SERVER_PID
start_server "$NB" --addr $V4B --port $((PORT + 1))       # no reply: the raw peer only sends
S2=$SERVER_PID
cap_start "$NB" "$IFB" "$B/tcp-options.pcap"; c1=$CAP_LAST
client "$NA" --addr $V4B --port $PORT --bind-port 40003 --chunks 100,100 --oob --nodelay --expect 300
timeout 30 ip netns exec "$NA" $PY "$HERE/fx_traffic.py" sackpeer --iface "$IFA" \
    --src-mac $MACA --dst-mac $MACB --src 10.0.0.3 --dst $V4B --sport 40004 --dport $((PORT + 1))
wait_pid "$S1" 10
wait_pid "$S2" 10
cap_stop "$c1"
cp "$B/tcp-options.pcap" .

###############################################################################
# tfo: net.ipv4.tcp_fastopen=3 in both namespaces; server sets TCP_FASTOPEN;
# client does sendto(MSG_FASTOPEN) twice: 1st SYN = cookie request (data after
# the handshake), 2nd SYN = cookie + data.
###############################################################################
log "tfo.pcap"
new_pair
for ns in "$NA" "$NB"; do ip netns exec "$ns" sysctl -qw net.ipv4.tcp_fastopen=3; done
start_server "$NB" --addr $V4B --port $PORT --conns 2 --reply 100 --tfo
cap_start "$NB" "$IFB" "$B/tfo.pcap"; c1=$CAP_LAST
client "$NA" --addr $V4B --port $PORT --bind-port 40005 --tfo --repeat 2 --chunks 64 --expect 100
wait_pid "$SERVER_PID" 10
cap_stop "$c1"
cp "$B/tfo.pcap" .

###############################################################################
# ipv6-ext: client socket with IPV6_HOPOPTS, IPV6_RTHDRDSTOPTS, IPV6_RTHDR
# (SRH type 4, segments left 0) and IPV6_DSTOPTS -> every client packet has
# HBH, DST, RH(4), DST.  Receiver needs seg6_enabled (namespace-local).
# Client data segments #2..#4 are then rewritten (fx_pcap.py ipv6ext):
#   #2 -> two fragments (Fragment header after the routing header)
#   #3 -> AH inserted after the routing header
#   #4 -> HBH, RH type 0, atomic Fragment header, DST
###############################################################################
log "ipv6-ext.pcap"
new_pair v6
for ns_if in "$NA:$IFA" "$NB:$IFB"; do
    IFS=: read -r ns ifc <<<"$ns_if"
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.seg6_enabled=1 net.ipv6.conf.$ifc.seg6_enabled=1
done
start_server "$NB" --family 6 --addr $V6B --port $PORT --reply 200 --reply-after 1200
cap_start "$NB" "$IFB" "$B/ipv6-ext-real.pcap" "$V6_NOISE"; c1=$CAP_LAST
client "$NA" --family 6 --addr $V6B --port $PORT --bind-port 40006 --v6ext \
    --chunks 300,300,300,300 --nodelay --expect 200
wait_pid "$SERVER_PID" 10
cap_stop "$c1"
$PY fx_pcap.py ipv6ext "$B/ipv6-ext-real.pcap" ipv6-ext.pcap $PORT

###############################################################################
# sll / sll2: two simultaneous "any" captures in namespace B of the same
# traffic, -y LINUX_SLL and -y LINUX_SLL2 (the latter is also what plain
# `tcpdump -i any` picks with libpcap 1.10):
#   IPv4 over the veth (ARP, UDP -> ICMP unreachable, TCP; sll.pkttype 0/1/4
#   = host/broadcast/outgoing) and IPv6 TCP over lo (ARPHRD_LOOPBACK, 772).
###############################################################################
log "sll.pcap + sll2.pcap"
new_pair
start_server "$NB" --addr 0.0.0.0 --port $PORT --conns 1 --reply 100
S4=$SERVER_PID
start_server "$NB" --family 6 --addr ::1 --port $((PORT + 1)) --conns 1 --reply 50
S6=$SERVER_PID
cap_start "$NB" any "$B/sll.pcap" -y LINUX_SLL; c1=$CAP_LAST
cap_start "$NB" any "$B/sll2.pcap" -y LINUX_SLL2; c2=$CAP_LAST   # = libpcap 1.10 default for "any"
client "$NA" --addr $V4B --port $PORT --bind-port 40007 --udp-probe 9 --chunks 200 --expect 100
client "$NB" --family 6 --addr ::1 --port $((PORT + 1)) --bind-port 40008 --chunks 50 --expect 50
wait_pid "$S4" 10
wait_pid "$S6" 10
cap_stop "$c1" "$c2"
cp "$B/sll.pcap" "$B/sll2.pcap" .

###############################################################################
# raw: two namespaces joined by tun devices (fx_tunbridge.py shuttles packets)
# -> tcpdump on a tun writes LINKTYPE_RAW.  IPv4: UDP probe (+ICMP), TCP;
# IPv6: UDP probe (+ICMPv6), TCP.  ipv4/ipv6/null.pcap re-encapsulate it.
###############################################################################
log "raw.pcap (+ ipv4.pcap, ipv6.pcap, null.pcap, loop.pcap)"
kill_bg
del_ns
ip netns add "$NA"
ip netns add "$NB"
$PY "$HERE/fx_tunbridge.py" "$NA" wstun0 "$NB" wstun1 40 >"$B/tun.log" &
TUN_PID=$!
BG_PIDS+=("$TUN_PID")
wait_for grep -q ready "$B/tun.log" || die "tun bridge did not start"
for spec in "$NA wstun0 10.1.0.1 10.1.0.2 fd00:1::1" "$NB wstun1 10.1.0.2 10.1.0.1 fd00:1::2"; do
    read -r ns ifc a4 p4 a6 <<<"$spec"
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.$ifc.router_solicitations=0 net.ipv6.conf.$ifc.accept_ra=0
    ip -n "$ns" addr add "$a4" peer "$p4" dev "$ifc"
    ip -n "$ns" addr add "$a6/64" dev "$ifc" nodad
    ip -n "$ns" link set "$ifc" up
done
sleep 0.3
start_server "$NB" --addr 10.1.0.2 --port $PORT --reply 100
S4=$SERVER_PID
start_server "$NB" --family 6 --addr fd00:1::2 --port $PORT --reply 100
S6=$SERVER_PID
cap_start "$NA" wstun0 "$B/raw.pcap" "$V6_NOISE"; c1=$CAP_LAST
client "$NA" --addr 10.1.0.2 --port $PORT --bind-port 40009 --udp-probe 9 --chunks 150 --expect 100
client "$NA" --family 6 --addr fd00:1::2 --port $PORT --bind-port 40010 --udp-probe 9 --chunks 150 --expect 100
wait_pid "$S4" 10
wait_pid "$S6" 10
cap_stop "$c1"
cp "$B/raw.pcap" .
$PY fx_pcap.py reencap raw.pcap ipv4.pcap 228 v4
$PY fx_pcap.py reencap raw.pcap ipv6.pcap 229 v6
$PY fx_pcap.py reencap raw.pcap null.pcap 0 all
$PY fx_pcap.py reencap raw.pcap loop.pcap 108 all   # OpenBSD loopback: Linux cannot record it
kill_bg
del_ns

###############################################################################
# Oracles
###############################################################################
log "tshark oracles"
FIELDS=(
    frame.number frame.len frame.cap_len frame.protocols
    eth.src eth.dst eth.type ieee8021ad.id vlan.id vlan.etype
    sll.pkttype sll.hatype sll.ifindex sll.ltype sll.etype null.family
    ip.version ip.src ip.dst ip.hdr_len ip.len ip.id ip.flags.df ip.flags.mf ip.frag_offset ip.proto ip.opt.type
    ip.dsfield.ecn
    ipv6.src ipv6.dst ipv6.plen ipv6.nxt ipv6.tclass.ecn ipv6.hopopts.nxt ipv6.dstopts.nxt
    ipv6.routing.type ipv6.routing.segleft ipv6.routing.nxt
    ipv6.fraghdr.offset ipv6.fraghdr.more ipv6.fraghdr.ident ipv6.fraghdr.nxt ah.next_header
    tcp.srcport tcp.dstport tcp.seq_raw tcp.ack_raw tcp.hdr_len tcp.flags tcp.window_size_value
    tcp.len tcp.urgent_pointer tcp.option_kind
    tcp.options.mss_val tcp.options.wscale.shift tcp.options.sack_perm
    tcp.options.sack_le tcp.options.sack_re
    tcp.options.timestamp.tsval tcp.options.timestamp.tsecr
    tcp.options.tfo.request tcp.options.tfo.cookie
    udp.srcport udp.dstport icmp.type icmpv6.type arp.opcode
)
TSHARK_OPTS=(
    -n
    -o tcp.relative_sequence_numbers:FALSE
    -o tcp.analyze_sequence_numbers:FALSE
    -o tcp.check_checksum:FALSE
    -o tcp.desegment_tcp_streams:FALSE
    -o ip.check_checksum:FALSE
    -o udp.check_checksum:FALSE
    -o ip.defragment:FALSE
    -o ipv6.defragment:FALSE
)
FIELD_ARGS=()
for f in "${FIELDS[@]}"; do FIELD_ARGS+=(-e "$f"); done

oracle() {   # oracle NAME  -> NAME.expected.tsv (+ NAME.expected-error.txt if tshark fails)
    local name=$1 rc=0
    tshark -r "$name.pcap" "${TSHARK_OPTS[@]}" -T fields \
        -E header=y -E separator=/t -E occurrence=a -E aggregator=, -E quote=n \
        "${FIELD_ARGS[@]}" >"$name.expected.tsv" 2>"$B/$name.tshark.err" || rc=$?
    grep -v 'Running as user' "$B/$name.tshark.err" >"$B/$name.err" || true
    if [[ $rc != 0 || -s "$B/$name.err" ]]; then
        local tdn
        tdn=$( (tcpdump -n -r "$name.pcap" 2>"$B/$name.tcpdump.err" || true) | wc -l)
        {
            echo "# libpcap (tcpdump -r): $tdn frames read, then:"
            grep -v '^reading from file' "$B/$name.tcpdump.err"
            echo "# tshark: exit status $rc, $(($(wc -l <"$name.expected.tsv") - 1)) frame rows printed, then:"
            cat "$B/$name.err"
        } >"$name.expected-error.txt"
    fi
}

printf 'file\tlinktype\tframes\tbytes\n' >fixtures-summary.tsv
for p in *.pcap; do
    name=${p%.pcap}
    oracle "$name"
    if [[ $name == corrupt-bad-header ]]; then
        # Wiretap's pcap-variant heuristics look at the first few records; a
        # bogus record 3 makes tshark pick another pcap flavour and show 3
        # garbage frames (kept in the .expected-error.txt).  libpcap stops
        # cleanly after frame 2, so the oracle is tshark on the intact prefix
        # (the same bytes: eth.pcap frames 1-2).
        tshark -r eth.pcap -c 2 "${TSHARK_OPTS[@]}" -T fields \
            -E header=y -E separator=/t -E occurrence=a -E aggregator=, -E quote=n \
            "${FIELD_ARGS[@]}" >"$name.expected.tsv" 2>/dev/null
        { echo "# NOTE: $name.expected.tsv holds only the intact prefix (frames 1-2, from eth.pcap);"
          echo "# tshark misdetects the pcap flavour of this file and prints instead:"
          { tshark -r "$p" -n -T fields -e frame.number -e frame.len -e frame.cap_len 2>/dev/null || true; } | sed 's/^/#   /'
        } >>"$name.expected-error.txt"
    fi
    frames=$(($(wc -l <"$name.expected.tsv") - 1))
    printf '%s\t%s\t%s\t%s\n' "$p" "$($PY fx_pcap.py linktype "$p")" "$frames" "$(stat -c %s "$p")" >>fixtures-summary.tsv
done
column -t fixtures-summary.tsv >&2

###############################################################################
# Self-checks: the properties each fixture exists for
###############################################################################
log "self-checks"
FAIL=0
expect_lt() {  # expect_lt FILE LINKTYPE
    local got
    got=$($PY fx_pcap.py linktype "$1")
    if [[ $got == "$2" ]]; then echo "ok   $1 linktype $2"; else echo "FAIL $1 linktype $got != $2"; FAIL=1; fi
}
expect() {     # expect FILE DISPLAY-FILTER [MIN-COUNT]
    local n
    n=$(tshark -r "$1" "${TSHARK_OPTS[@]}" -Y "$2" 2>/dev/null | wc -l)
    if ((n >= ${3:-1})); then echo "ok   $1: $n x [$2]"; else echo "FAIL $1: $n x [$2]"; FAIL=1; fi
}
expect_lt eth.pcap 1;  expect_lt eth-vlan.pcap 1;  expect_lt eth-qinq.pcap 1
expect_lt sll.pcap 113; expect_lt sll2.pcap 276; expect_lt raw.pcap 101
expect_lt ipv4.pcap 228; expect_lt ipv6.pcap 229; expect_lt null.pcap 0; expect_lt loop.pcap 108
expect_lt unsupported-link.pcap 105
expect eth.pcap 'tcp.flags.syn==1 && tcp.flags.ack==0'
expect eth.pcap 'tcp.flags.fin==1' 2
expect eth.pcap 'arp || udp || icmp' 3
expect eth-vlan.pcap 'vlan.id == 100 && tcp' 10
expect eth-qinq.pcap 'ieee8021ad.id == 200 && vlan.id == 300 && tcp' 10
expect truncated-snaplen.pcap 'frame.cap_len < frame.len && tcp.len > 0' 3
expect ipv4-options.pcap 'ip.hdr_len > 20 && tcp' 10
expect ipv4-fragments.pcap 'ip.flags.mf == 1 && ip.frag_offset == 0 && tcp.srcport' 2
expect ipv4-fragments.pcap 'ip.frag_offset > 0 && !tcp' 3
expect ipv6-ext.pcap 'ipv6.hopopts && ipv6.dstopts && ipv6.routing.type == 4 && tcp' 5
expect ipv6-ext.pcap 'ipv6.fraghdr.more == 1 && tcp.srcport'
expect ipv6-ext.pcap 'ipv6.fraghdr.offset > 0 && !tcp'
expect ipv6-ext.pcap 'ah && tcp'
expect ipv6-ext.pcap 'ipv6.routing.type == 0 && ipv6.fraghdr && tcp'
expect tcp-options.pcap 'tcp.flags.syn==1 && tcp.flags.ece==1 && tcp.flags.cwr==1' 2
expect tcp-options.pcap 'tcp.flags.syn==1 && tcp.flags.ack==1 && tcp.flags.ece==1' 2
expect tcp-options.pcap 'tcp.options.sack_le' 3
expect tcp-options.pcap 'tcp.options.sack.count == 2'
expect tcp-options.pcap 'tcp.flags.syn==0 && tcp.flags.ece==1'
expect tcp-options.pcap 'tcp.flags.syn==0 && tcp.flags.cwr==1'
expect tcp-options.pcap 'ip.dsfield.ecn == 3'
expect tcp-options.pcap 'tcp.flags.urg==1 && tcp.urgent_pointer > 0'
expect tfo.pcap 'tcp.option_kind == 34 && tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.options.tfo.request'
expect tfo.pcap 'tcp.options.tfo.cookie && tcp.flags.syn==1 && tcp.flags.ack==1'
expect tfo.pcap 'tcp.option_kind == 34 && tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.len > 0'
expect sll.pcap 'sll.hatype == 772 && ipv6 && tcp' 5
expect raw.pcap 'ip && tcp' 5
expect raw.pcap 'ipv6 && tcp' 5
expect raw.pcap 'icmp || icmpv6' 2
expect null.pcap 'null.family == 24' 2
expect null.pcap 'null.family == 28' 2
expect null.pcap 'null.family == 30' 2
for f in *.pcap; do
    sz=$(stat -c %s "$f")
    ((sz <= 20480)) || { echo "FAIL $f is $sz bytes"; FAIL=1; }
done
((FAIL == 0)) || die "self-checks failed"
log "done"
