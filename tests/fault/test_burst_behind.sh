#!/usr/bin/env bash
# A burst of BURST (64) consecutive blocks lands damaged (a bit flipped in each) while traffic
# streams, so the writer is past all of them when B's reader meets them. The reader skips the
# whole run about one torn_timeout (100 ms) after it knows the writer passed it, not one
# torn_timeout per block (64 x 100 ms): B delivers again within RECOVERY_LIMIT_MS, the carrier
# never drops, no datagram is corrupt, duplicated or reordered, B counts exactly the blocks the
# mirror destroyed, and every datagram reconciles.
source "$(dirname "$0")/fault_lib.sh"
require_environment
burst=${BURST:-64}
limit=${RECOVERY_LIMIT_MS:-2000}
traffic=${TRAFFIC:-6000}  # datagrams at 1000/s; docs/BENCHMARKS.md runs it longer to see old builds' stalls whole
fault_lab_setup
start_mirror a --lag-ms 2 --seed 111
start_mirror b --lag-ms 2 --seed 112
fault_lab_up
probe warmup 500 1000 200 1400 1
changes_a=$(status_field a .counters.carrier_changes)
changes_b=$(status_field b .counters.carrier_changes)
snapshot before
watch_delivery
# Traffic long enough that a stall of BURST x 100 ms would show whole (unscaled under ASan).
FAULT_SCALE_PCT=100 PROBE_BACKGROUND=1 probe burst "$traffic" 1000 200 1400 7
sleep 1
fault_at=$(now_ms)
mirror_control a "damage $burst"
finish_watched_probe
mirror=$(mirror_stats a)
echo "$mirror"
[ "$(jq .burst_damaged <<<"$mirror")" = "$burst" ] || fail "the mirror damaged $(jq .burst_damaged <<<"$mirror") blocks, not $burst"
recovery_check burst_behind "$fault_at" $((traffic_end - 100)) "$limit"
reconcile burst before after "$(jq .destroyed_frames <<<"$mirror")" "$(jq .destroyed_blocks <<<"$mirror")"
[ "$(delta b_corrupt_blocks after before)" -ge "$burst" ] || fail "B counted $(delta b_corrupt_blocks after before) corrupt blocks, fewer than the $burst damaged"
[ "$(status_field a .counters.carrier_changes)" = "$changes_a" ] || fail "A's carrier flapped"
[ "$(status_field b .counters.carrier_changes)" = "$changes_b" ] || fail "B's carrier flapped"
echo "PASS"
