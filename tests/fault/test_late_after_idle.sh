#!/usr/bin/env bash
# A block that lands late after an idle link must be waited for like any other (torn_timeout,
# here 300 ms). Bursts of datagrams separated by idle gaps go through a mirror that holds some blocks
# back by up to 90 ms, less than the 300 ms the reader waits (so a later block, or the record naming a later head, lands first). The
# reader must skip nothing: every frame A placed is delivered.
source "$(dirname "$0")/fault_lib.sh"
require_environment
fault_lab_setup
start_mirror a --lag-ms 2 --reorder-rate 1 --reorder-ms 90 --seed 91
start_mirror b --lag-ms 2 --seed 92
# A torn timeout of 300 ms, not the default 100: a block held back 90 ms that the loaded mirror
# process lands a few ms later still was skipped against 100 ms (a 10 ms margin for scheduling on a
# 2-core host). 300 ms leaves room for that and still catches the bug this test is for: a timer
# counted from when the reader began waiting runs from the start of the 400 ms idle gap.
fault_lab_up --torn-timeout-ms 300
# A trickle B -> A keeps A consuming, so A's state record (and the head it names) is rewritten
# every few milliseconds instead of every heartbeat.
ip netns exec "$NS_A" "$UDP_PROBE" recv 7002 1000000 30000 >/dev/null 2>&1 &
trickle_rx=$!
ip netns exec "$NS_B" "$UDP_PROBE" send "$ADDR_A" 7002 1000000 100 500 >/dev/null 2>&1 &
trickle_tx=$!
snapshot before
for burst in $(seq 1 ${BURSTS:-20}); do
  probe burst-$burst 50 5000 200 1200 $burst
  sleep 0.4
done
kill $trickle_tx 2>/dev/null || true
# A's receiver stays open until the counts are taken: a trickle datagram that reaches a closed port
# makes A send an ICMP error, a frame A places that no probe accounts for.
quiesce
snapshot after
kill $trickle_rx 2>/dev/null || true
lost=$(delta b_lost_blocks after before)
note "B skipped $lost blocks as missing; delivered $(delta b_delivered after before) of $(delta a_placed after before) frames placed"
[ "$lost" = 0 ] || fail "B skipped $lost blocks that were only late (the first after an idle gap)"
[ "$(delta b_delivered after before)" = "$(delta a_placed after before)" ] ||
  fail "B lost frames: it counted $(delta b_rx_frame_drops after before) dropped (too old or partial)," \
    "$(delta b_corrupt_blocks after before) corrupt blocks; A dropped $(delta a_tx_drops after before);" \
    "carrier changes A $(delta a_carrier_changes after before), B $(delta b_carrier_changes after before)"
echo "PASS"
