#!/usr/bin/env bash
# Damaged state records (bit flips in the copies of A's record that B reads), for less than
# dead_after, with a burst of BURST (16) damaged blocks while B has no readable record of A: B
# learns that A passed the burst from the valid blocks behind it (read-ahead goes on past the
# damage), skips the run and delivers again within RECOVERY_LIMIT_MS. No carrier flap, nothing
# corrupt, duplicated or reordered, the damaged records counted unreadable, every datagram
# reconciled.
source "$(dirname "$0")/fault_lib.sh"
require_environment
burst=${BURST:-16}
limit=${RECOVERY_LIMIT_MS:-2000}
# A sending writer publishes its head every 2 ms or so: 60 damaged records in a row span about
# 300 ms, so B's heartbeat reads (every 100 ms) meet some, yet fewer than dead_after's worth.
state_records=${STATE_RECORDS:-60}
fault_lab_setup
start_mirror a --lag-ms 2 --seed 131
start_mirror b --lag-ms 2 --seed 132
fault_lab_up
probe warmup 500 1000 200 1400 1
changes_a=$(status_field a .counters.carrier_changes)
changes_b=$(status_field b .counters.carrier_changes)
unreadable_b=$(status_field b .counters.state_unreadable)
snapshot before
watch_delivery
FAULT_SCALE_PCT=100 PROBE_BACKGROUND=1 probe state 4000 1000 200 1400 9
sleep 1
# A's record changes every heartbeat (100 ms) while B sends nothing back: 5 damaged copies in a
# row last about half a dead_after.
mirror_control a "damage-state $state_records"
sleep 0.05
fault_at=$(now_ms)
mirror_control a "damage $burst"
finish_watched_probe
mirror_a=$(mirror_stats a)
echo "A -> B: $mirror_a"
[ "$(jq .state_damaged <<<"$mirror_a")" = "$state_records" ] ||
  fail "the mirror did not damage the $state_records state records asked for"
[ "$(jq .burst_damaged <<<"$mirror_a")" = "$burst" ] || fail "the mirror did not damage $burst blocks"
recovery_check state_damage "$fault_at" $((traffic_end - 100)) "$limit"
reconcile state before after "$(jq .destroyed_frames <<<"$mirror_a")" "$(jq .destroyed_blocks <<<"$mirror_a")"
[ $(( $(status_field b .counters.state_unreadable) - unreadable_b )) -gt 0 ] || fail "B never read a damaged record of A's"
[ "$(status_field a .counters.carrier_changes)" = "$changes_a" ] || fail "A's carrier flapped on damaged records"
[ "$(status_field b .counters.carrier_changes)" = "$changes_b" ] || fail "B's carrier flapped on damaged records"
echo "PASS"
