#!/usr/bin/env bash
# Ping both ways, then 100 000 numbered and checksummed UDP datagrams A -> B: none corrupt,
# duplicated or reordered, and every missing one accounted for by the daemons' drop counters.
source "$(dirname "$0")/lib.sh"
require_environment
lab_setup 64K
lab_up

note "ping both ways"
ip netns exec "$NS_A" ping -c 5 -i 0.05 -W 2 "$ADDR_B" >/dev/null || fail "ping A -> B"
ip netns exec "$NS_B" ping -c 5 -i 0.05 -W 2 "$ADDR_A" >/dev/null || fail "ping B -> A"

count=100000
note "$count UDP datagrams A -> B"
ip netns exec "$NS_B" "$UDP_PROBE" recv 7001 $count 3000 >"$E2E_RUN/udp.json" 2>"$E2E_RUN/udp.err" &
receiver=$!
wait_until 5 "the UDP receiver" grep -q listening "$E2E_RUN/udp.err"
ip netns exec "$NS_A" "$UDP_PROBE" send "$ADDR_B" 7001 $count 200 50000 >/dev/null
wait $receiver || fail "udp_probe recv failed"
cat "$E2E_RUN/udp.json"
received=$(jq .received "$E2E_RUN/udp.json")
missing=$(jq .missing "$E2E_RUN/udp.json")
[ "$(jq .corrupt "$E2E_RUN/udp.json")" = 0 ] || fail "corrupt datagrams delivered"
[ "$(jq .duplicates "$E2E_RUN/udp.json")" = 0 ] || fail "duplicated datagrams delivered"
[ "$(jq .reordered "$E2E_RUN/udp.json")" = 0 ] || fail "reordered datagrams delivered"

# A starved vnicd (a busy machine) lets the TAP's queue overflow: the kernel drops and counts
# those, and vnicd reports the kernel's count with its own. A starved receiver overflows its
# socket buffer: the kernel counts that too (UDP RcvbufErrors), outside vnic.
drops_a=$(status_json a | jq '[.drops.tx_ring_full, .drops.tx_too_big, .drops.tx_tap_queue_full] | add')
drops_b=$(status_json b | jq '[.drops.rx_too_old, .drops.rx_partial_frames, .drops.rx_admin_down, .drops.rx_tap_rejected, .drops.rx_kernel_dropped] | add')
rcvbuf_b=$(ip netns exec "$NS_B" awk '/^Udp:/ { getline; print $6 }' /proc/net/snmp)
drops_b=$((drops_b + rcvbuf_b))
lost_blocks=$(status_json b | jq '.drops.rx_lost_blocks + .drops.rx_corrupt_blocks')
note "received $received, missing $missing; daemon drops: A tx $drops_a, B rx $drops_b, B lost blocks $lost_blocks"
[ "$lost_blocks" = 0 ] || fail "B lost or skipped blocks"
[ "$missing" = $((drops_a + drops_b)) ] || fail "$missing datagrams missing but the daemons counted $((drops_a + drops_b)) drops"
echo "PASS"
