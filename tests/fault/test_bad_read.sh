#!/usr/bin/env bash
# A place on B's receive volume that cannot be read (a medium error): every read B's vnicd makes
# of the block at a sequence it is about to reach fails with EIO (VNIC_FAULT_INJECT's
# bad_read_file), for as long as the test runs. B skips that block once A is known past it, about
# one torn_timeout later, counts it lost, and delivers again within RECOVERY_LIMIT_MS; it used to
# retry it forever, with carrier on and nothing delivered. The datagrams in the skipped block are
# read off A's own volume; everything reconciles, nothing corrupt, duplicated or reordered.
# dead_after 3 s, as engine_eio's: under ASan a CI machine's disk held both mirrors' copies back
# for over a second, and both daemons judged each other dead at once (a real silence on the
# volumes, which a 1 s dead_after must call death); the skip of the bad block runs on
# torn_timeout, not dead_after, so the test still judges what it is for.
DEAD_AFTER_MS=3000
source "$(dirname "$0")/fault_lib.sh"
require_environment
limit=${RECOVERY_LIMIT_MS:-2000}
fault_lab_setup
start_mirror a --lag-ms 2 --seed 141
start_mirror b --lag-ms 2 --seed 142
bad_place=$E2E_RUN/bad-read
NODE_ENV_b="VNIC_FAULT_INJECT=bad_read_file=$bad_place"
fault_lab_up
grep -q "FAULT INJECTION ENABLED" "$E2E_RUN/b.log" || fail "vnicd b did not announce fault injection"
probe warmup 200 500 200 1400 1
quiesce
sb=$("$VNIC_BIN_VNICCTL" inspect "$E2E_VOL/a.mirror" --json --blocks 0 | jq .superblock)
ring=$(jq .ring_blocks <<<"$sb")
block_size=$(jq .block_size <<<"$sb")
# The traffic stays within one lap of the ring, so the bad place is met once and A's copy of the
# block is still there to count its datagrams.
count=400
[ $count -lt $((ring - 50)) ] || fail "a ring of $ring blocks is too short for this test"
bad=$(( $(status_field b .rx.next_sequence) + 20 ))
echo "$(( $(jq .rings_offset <<<"$sb") + (bad % ring) * block_size )) $block_size" >"$bad_place"
sleep 0.05  # the engine looks at the file every 5 ms
changes_b=$(status_field b .counters.carrier_changes)
snapshot before
watch_delivery
fault_at=$(now_ms)
FAULT_SCALE_PCT=100 PROBE_BACKGROUND=1 probe bad 400 150 200 1400 10
finish_watched_probe
blocks=$("$VNIC_BIN_VNICCTL" inspect "$E2E_VOL/a.vol" --json --blocks $((count + 100)) |
  jq --argjson s "$bad" '[.slots[0].blocks[] | select(.sequence == $s)]')
[ "$(jq length <<<"$blocks")" = 1 ] && [ "$(jq -r '.[0].check' <<<"$blocks")" = ok ] || fail "block $bad is not on A's volume: $blocks"
frames=$(jq '.[0].record_count' <<<"$blocks")
note "the unreadable block $bad held $frames datagrams"
rm -f "$bad_place"
[ "$(delta b_lost_blocks after before)" = 1 ] || fail "B skipped $(delta b_lost_blocks after before) blocks as lost, not the 1 it could not read"
[ "$(delta b_read_errors after before)" -gt 0 ] || fail "no read of B's failed: the fault was not injected"
recovery_check bad_read $((fault_at + 300)) $((traffic_end - 100)) "$limit"
reconcile bad before after "$frames" 1
[ "$(status_field b .counters.carrier_changes)" = "$changes_b" ] || fail "B's carrier flapped"
echo "PASS"
