
HERE=/work/main/Tests/Fixtures/decoder; source <(sed -n '/^HERE=/,/^mkdir -p "\$B"/p' make-fixtures.sh | grep -v "^trap" | grep -v "^HERE=")
mkdir -p $B
new_pair
start_server "$NB" --addr $V4B --port $PORT --reply 100
cap_start "$NB" "$IFB" "$B/ipv4-options.pcap"; c1=$CAP_LAST
cap_start "$NA" "$IFA" "$B/ipv4-options-a.pcap"; c2=$CAP_LAST
client "$NA" --addr $V4B --port $PORT --bind-port 40002 --chunks 200 --expect 100 \
    --ipopts 0107070400000000440c05000000000000000000
wait_pid "$SERVER_PID" 10
cap_stop "$c1" $c2
tcpdump -nvr $B/ipv4-options.pcap
tcpdump -nvr $B/ipv4-options-a.pcap
cat $B/ipv4-options.pcap.log
kill_bg; del_ns; rm -rf $B
