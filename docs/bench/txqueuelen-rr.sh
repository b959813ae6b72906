#!/bin/bash
# RR under a bulk TCP stream through vnic, txqueuelen 1000 vs 100 vs 32, interleaved rounds.
set -u
B=${VNIC_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
LAB=$(cd "$(dirname "$0")/../.." && pwd)/tools/vnic-lab/vnic-lab
export VNIC_BUILD=$B VNIC_LAB=txq
$LAB up > /tmp/txq-up.log 2>&1 || { cat /tmp/txq-up.log; exit 1; }
ip netns exec txq-b $B/tools/vnic-bench/vnic-bench server > /tmp/txq-srv.log 2>&1 &
srv=$!
sleep 1
for round in 1 2 3; do
  for q in 1000 100 32; do
    for s in a b; do ip netns exec txq-$s ip link set vnic0 txqueuelen $q; done
    ip netns exec txq-a iperf3 -c 10.77.0.2 -p 7701 -t 7 -J > /tmp/txq-iperf.json 2>/dev/null &
    ip=$!
    sleep 1.5
    ip netns exec txq-a $B/tools/vnic-bench/vnic-bench ping 10.77.0.2 --duration 4 --json > /tmp/txq-ping.json 2>/dev/null
    wait $ip
    gbit=$(jq '.end.sum_received.bits_per_second/1e9' /tmp/txq-iperf.json)
    echo "round $round txqueuelen $q: tcp ${gbit} Gbit/s, rtt $(jq -c '.rtt | {p50_us, p99_us, max_us, lost}' /tmp/txq-ping.json)," \
      "tap drops a $(ip netns exec txq-a cat /sys/class/net/vnic0/statistics/tx_dropped)"
  done
done
kill $srv; wait $srv 2>/dev/null
$LAB down > /dev/null 2>&1
