#!/usr/bin/env bash
# Tunnel and provider-link-layer fixtures (tun-*.pcap, fddi.pcap, vxlan-recorded.pcap) and their
# tshark oracles (*.expected.tsv), checked frame by frame by TsharkOracleTests. Run as root:
#
#     sudo Tests/Fixtures/decoder/make-tunnel-fixtures.sh
#
# 1. vxlan-recorded.pcap is *recorded*: two throw-away namespaces wsvx-a / wsvx-b joined by a veth
#    underlay (192.168.77.0/24), a Linux VXLAN device (VNI 42, dstport 4789) on each, and a kernel
#    TCP conversation over the overlay (10.42.0.0/24), captured on the underlay by tcpdump.
# 2. The others wrap the real recorded conversations of eth.pcap / ipv6.pcap (this kernel has no
#    GRE, Geneve, MPLS or PPPoE) with fx_tunnels.py.
# Every wait is bounded; background processes are killed by PID; the namespaces are deleted on exit.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3
NA=wsvx-a NB=wsvx-b
B=$(mktemp -d)
BG=()
cleanup() {
    local rc=$?
    for p in "${BG[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    for n in $NA $NB; do ip netns list | awk '{print $1}' | grep -qx $n && ip netns del $n; done
    rm -rf "$B"
    exit $rc
}
trap cleanup EXIT
[[ $(id -u) == 0 ]] || { echo "must run as root" >&2; exit 1; }
cd "$HERE"

# ---------------------------------------------------------------- 1. real VXLAN
ip netns add $NA; ip netns add $NB
ip link add wsvx0 netns $NA type veth peer name wsvx1 netns $NB
ip -n $NA addr add 192.168.77.1/24 dev wsvx0; ip -n $NB addr add 192.168.77.2/24 dev wsvx1
ip -n $NA link set wsvx0 up; ip -n $NB link set wsvx1 up
ip -n $NA link set lo up; ip -n $NB link set lo up
ip -n $NA link add vx42 type vxlan id 42 dstport 4789 local 192.168.77.1 remote 192.168.77.2 dev wsvx0
ip -n $NB link add vx42 type vxlan id 42 dstport 4789 local 192.168.77.2 remote 192.168.77.1 dev wsvx1
ip -n $NA link set vx42 address 02:00:00:00:42:01; ip -n $NB link set vx42 address 02:00:00:00:42:02
ip -n $NA addr add 10.42.0.1/24 dev vx42; ip -n $NB addr add 10.42.0.2/24 dev vx42
ip -n $NA link set vx42 up; ip -n $NB link set vx42 up
ip netns exec $NB tcpdump -i wsvx1 -s 0 -U -w "$B/vxlan.pcap" udp port 4789 2>"$B/tcpdump.err" &
BG+=($!)
for _ in $(seq 50); do grep -q listening "$B/tcpdump.err" && break; sleep 0.1; done
ip netns exec $NB $PY fx_traffic.py server --addr 10.42.0.2 --port 45001 --reply 300 --ready "$B/ready" --timeout 10 &
BG+=($!)
for _ in $(seq 50); do [[ -f $B/ready ]] && break; sleep 0.1; done
ip netns exec $NA timeout 10 $PY fx_traffic.py client --addr 10.42.0.2 --port 45001 --chunks 500,500 --expect 300 --timeout 8
sleep 0.5
kill -TERM "${BG[0]}"; wait "${BG[0]}" 2>/dev/null || true
cp "$B/vxlan.pcap" vxlan-recorded.pcap

# ---------------------------------------------------------------- 2. wrapped real conversations
$PY fx_tunnels.py "$HERE"
$PY fx_pcapng.py "$HERE/multi-interface.pcapng"
# libpcap must refuse it (that is why the pure reader exists); tcpdump says so.
if tcpdump -r multi-interface.pcapng -c 1 >/dev/null 2>&1; then echo "libpcap read multi-interface.pcapng" >&2; exit 1; fi

# ---------------------------------------------------------------- oracles
# The decoder fixtures' field list (make-fixtures.sh), plus the tunnel identities.
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
    frame.time_epoch frame.interface_id
    vxlan.vni geneve.vni gtp.teid gre.key ieee8021ah.isid pppoe.session_id erspan.spanid mpls.label
)
OPTS=(-n -o tcp.relative_sequence_numbers:FALSE -o tcp.analyze_sequence_numbers:FALSE
      -o tcp.check_checksum:FALSE -o tcp.desegment_tcp_streams:FALSE -o ip.check_checksum:FALSE
      -o udp.check_checksum:FALSE -o ip.defragment:FALSE -o ipv6.defragment:FALSE)
ARGS=(); for f in "${FIELDS[@]}"; do ARGS+=(-e "$f"); done
for p in vxlan-recorded.pcap fddi.pcap tun-*.pcap multi-interface.pcapng; do
    extra=()
    # Wireshark consults its label table before guessing; the pseudowire's label is configured
    # (its guess reads the control word as a MAC address: the ambiguity RFC 4385 leaves).
    [[ $p == tun-mpls-pw.pcap ]] && extra=(-d mpls.label==77,pwethcw)
    tshark -r "$p" "${OPTS[@]}" "${extra[@]}" -T fields -E header=y -E separator=/t -E occurrence=a \
        -E aggregator=, -E quote=n "${ARGS[@]}" >"${p%.pcap*}.expected.tsv" 2>/dev/null
    printf '%s\t%s frames\t%s bytes\n' "$p" "$(($(wc -l <"${p%.pcap*}.expected.tsv") - 1))" "$(stat -c %s "$p")"
done
