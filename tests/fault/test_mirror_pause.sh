#!/usr/bin/env bash
# Link outages between the arrays, then catch-up, during traffic A -> B.
#  1. A -> B paused (SIGUSR1/SIGUSR2) until B's carrier goes off (A looks dead) and 1.2 s more;
#     B's carrier is back within dead_after of the resume; the frames that waited are delivered,
#     or counted when older than max_frame_age.
#  2. B -> A (the acknowledgements and B's heartbeat) paused the same way: A's carrier.
#  3. Scheduled 300 ms outages every second (--pause-after-ms/--pause-every-ms), shorter than
#     dead_after: carrier never flaps, and what a full ring drops is counted.
# Every count reconciles after each phase, and vnicd's memory stays bounded.
# dead_after 2 s: the short outages must sit well inside it even when a busy CI disk adds its own
# second to the mirror's copies (CI's ASan run once saw B's carrier flap with 1000 ms against
# 300 ms outages).
DEAD_AFTER_MS=2000
source "$(dirname "$0")/fault_lib.sh"
# Delivery stops for seconds in an outage: the receiver must not give up before it ends.
PROBE_IDLE_MS=$OUTAGE_PROBE_IDLE_MS
require_environment
fault_lab_setup
start_mirror a --lag-ms 5 --seed 41
start_mirror b --lag-ms 5 --seed 42
fault_lab_up
probe warmup 5000 20000 200 1200 1
rss_a=$(rss_kib a)
rss_b=$(rss_kib b)

# outage PHASE MIRROR_SIDE CARRIER_SIDE: 6 s of traffic with a 2.5 s outage of one mirror in it.
outage() {
  local phase=$1 mirror=$2 side=$3 changes
  snapshot before-$phase
  changes=$(status_field $side .counters.carrier_changes)
  PROBE_BACKGROUND=1 probe $phase 60000 10000 200 1200 $RANDOM
  sleep 1
  note "$phase: mirror $mirror paused"
  mirror_signal $mirror USR1
  carrier_goes_off $side $((DEAD_AFTER_MS + CARRIER_MARGIN_MS + 1500))
  sleep 1.2
  mirror_signal $mirror USR2
  carrier_back $side "$(now_ms)"
  probe_wait
  quiesce
  snapshot after-$phase
  reconcile $phase before-$phase after-$phase 0
  [ "$(status_field $side .counters.carrier_changes)" -eq $((changes + 2)) ] || fail "$phase: carrier on $side flapped"
}
outage a-to-b a b
outage b-to-a b a

note "scheduled 300 ms outages of A -> B, every second"
stop_mirror a
start_mirror a --lag-ms 5 --seed 43 --pause-after-ms 300 --pause-ms 300 --pause-every-ms 1000
changes_a=$(status_field a .counters.carrier_changes)
changes_b=$(status_field b .counters.carrier_changes)
snapshot before-short
probe short 40000 10000 200 1200 7
quiesce
snapshot after-short
reconcile short before-short after-short 0
pauses=$(mirror_stats a | jq .pauses)
note "$pauses scheduled outages"
[ "$pauses" -ge 3 ] || fail "only $pauses scheduled outages happened"
[ "$(status_field a .counters.carrier_changes)" = "$changes_a" ] || fail "A's carrier flapped in outages shorter than dead_after"
[ "$(status_field b .counters.carrier_changes)" = "$changes_b" ] || fail "B's carrier flapped in outages shorter than dead_after"
check_rss a "$rss_a"
check_rss b "$rss_b"
echo "PASS"
