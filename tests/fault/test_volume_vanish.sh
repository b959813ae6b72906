#!/usr/bin/env bash
# A volume that vanishes and comes back, during traffic A -> B.
#  1. B's receive volume goes away (vnic-mirror "vanish": the copy is truncated to nothing, so
#     every read of it comes back short) for 2 s, then is rebuilt from A's send volume as an
#     array resynchronising a mirror would. B counts read errors, drops carrier, and has it back
#     within dead_after of the volume's return.
#  2. All of A's storage goes away at the I/O engine seam (VNIC_FAULT_INJECT outage_file: every
#     read and write fails with EIO, as when every path to the LUN is lost) for 2 s. Both sides
#     drop carrier and are back within dead_after (B within half a second more: A's record
#     reaches it behind A's held-back blocks and the mirror); A's frames wait, or are counted by A's kernel
#     when its TAP queue overflows, or by B as too old.
# Nothing corrupt, duplicated or reordered; every count reconciles; memory stays bounded.
source "$(dirname "$0")/fault_lib.sh"
# Delivery stops for seconds in an outage: the receiver must not give up before it ends.
PROBE_IDLE_MS=$OUTAGE_PROBE_IDLE_MS
require_environment
fault_lab_setup
start_mirror a --lag-ms 2 --seed 61
start_mirror b --lag-ms 2 --seed 62
NODE_ENV_a="VNIC_FAULT_INJECT=outage_file=$E2E_RUN/outage-a"
fault_lab_up
probe warmup 5000 20000 200 1200 1
rss_a=$(rss_kib a)
rss_b=$(rss_kib b)

note "phase 1: B's receive volume vanishes"
snapshot before-1
PROBE_BACKGROUND=1 probe vanish-recv 50000 10000 200 1200 8
sleep 1
mirror_control a vanish
carrier_goes_off b $((DEAD_AFTER_MS + CARRIER_MARGIN_MS + 1500))
sleep 1
mirror_control a run
wait_until 10 "the mirror to rebuild B's receive volume" grep -q "destination rebuilt" "$E2E_RUN/mirror-a.log"
carrier_back b "$(now_ms)"
probe_wait
quiesce
snapshot after-1
reconcile vanish-recv before-1 after-1 0
[ "$(delta b_read_errors after-1 before-1)" -gt 0 ] || fail "B never failed a read: the volume did not vanish"

note "phase 2: A's storage vanishes (every request EIO)"
snapshot before-2
PROBE_BACKGROUND=1 probe vanish-send 50000 10000 200 1200 9
sleep 1
touch "$E2E_RUN/outage-a"
carrier_goes_off b $((DEAD_AFTER_MS + CARRIER_MARGIN_MS + 1500))
carrier_goes_off a $((DEAD_AFTER_MS + CARRIER_MARGIN_MS + 1500))
sleep 1
rm -f "$E2E_RUN/outage-a"
back=$(now_ms)
carrier_back a "$back"
# B sees A again only once A's record gets through A's storage behind the blocks the outage held
# back, and the mirror copies it, under the flood: the same 500 ms of the flood's jitter on the
# volume that shared.stall allows (a busy CI disk made it 1317 ms against dead_after + margin).
carrier_back b "$back" $((DEAD_AFTER_MS + CARRIER_MARGIN_MS + 500))
probe_wait
quiesce
snapshot after-2
reconcile vanish-send before-2 after-2 0
[ "$(delta a_write_errors after-2 before-2)" -gt 0 ] || fail "A never failed a write: the outage did not happen"
grep -q "outage begins" "$E2E_RUN/a.log" || fail "A's log does not show the outage"
check_rss a "$rss_a"
check_rss b "$rss_b"
echo "PASS"
