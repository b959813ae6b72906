#!/usr/bin/env bash
# Damage ahead of the writer's head, as a resynchronisation that went wrong leaves it: the BURST
# (64) ring places A writes next hold garbage on B's receive volume, and A's writes to them never
# arrive. While A is idle B's reader meets garbage at its next sequence and must not skip it (the
# writer is not past it: nothing is lost yet). Then traffic starts: A writes over the burst (lost)
# and on; B skips the whole run about one torn_timeout after it knows A passed it and delivers
# again within RECOVERY_LIMIT_MS, carrier on throughout, and every datagram reconciles.
source "$(dirname "$0")/fault_lib.sh"
require_environment
burst=${BURST:-64}
limit=${RECOVERY_LIMIT_MS:-2000}
fault_lab_setup
start_mirror a --lag-ms 2 --seed 121
start_mirror b --lag-ms 2 --seed 122
fault_lab_up
probe warmup 500 1000 200 1400 1
quiesce
changes_a=$(status_field a .counters.carrier_changes)
changes_b=$(status_field b .counters.carrier_changes)
snapshot before
mirror_control a "garbage $burst"
sleep 0.6
snapshot idle
[ "$(delta b_crc_rereads idle before)" -gt 0 ] || fail "B never read the garbage at its next sequence: the fault was not felt"
[ "$(delta b_corrupt_blocks idle before)" = 0 ] && [ "$(delta b_lost_blocks idle before)" = 0 ] ||
  fail "B skipped blocks the idle writer had not written yet"
watch_delivery
fault_at=$(now_ms)
FAULT_SCALE_PCT=100 PROBE_BACKGROUND=1 probe ahead 5000 1000 200 1400 8
finish_watched_probe
mirror=$(mirror_stats a)
echo "$mirror"
[ "$(jq .garbage_ahead <<<"$mirror")" = "$burst" ] && [ "$(jq .burst_lost <<<"$mirror")" = "$burst" ] ||
  fail "the mirror did not put garbage in $burst places ahead of the writer and lose the writes there"
recovery_check burst_ahead "$fault_at" $((traffic_end - 100)) "$limit"
reconcile ahead before after "$(jq .destroyed_frames <<<"$mirror")" "$(jq .destroyed_blocks <<<"$mirror")"
[ "$(status_field a .counters.carrier_changes)" = "$changes_a" ] || fail "A's carrier flapped"
[ "$(status_field b .counters.carrier_changes)" = "$changes_b" ] || fail "B's carrier flapped"
echo "PASS"
