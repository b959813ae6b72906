#!/usr/bin/env bash
# The bounded soak: SOAK_FRAMES (10 million) numbered datagrams of random sizes A -> B through
# the two-node lab with the mirror emulator's faults on (lag, reordering, torn blocks, bit flips,
# stale and duplicated blocks, some damage permanent) and counted exactly at the end: sent =
# delivered + every counted drop; none corrupt, duplicated or reordered; every block the mirror
# destroyed counted by B; vnicd's memory bounded. Not part of the default test run (ctest -C soak
# -L soak); about 6 minutes at the default rate (30 000/s).
export FAULT_SCALE_PCT=100  # the soak's count is the point, even under ASan
source "$(dirname "$0")/fault_lib.sh"
export E2E_VOLUME_SIZE=64M
frames=${SOAK_FRAMES:-10000000}
pps=${SOAK_PPS:-30000}
seed=${SOAK_SEED:-$RANDOM}
require_environment
fault_lab_setup
start_mirror a --lag-ms 5 --reorder-rate 0.01 --reorder-ms 20 --torn-rate 0.01 --torn-delay-ms 20 --torn-never 0.001 \
  --bitflip-rate 0.000005 --stale-rate 0.005 --stale-ms 30 --stale-never 0.002 --duplicate-rate 0.01 --seed "$seed"
start_mirror b --lag-ms 5 --reorder-rate 0.01 --reorder-ms 20 --duplicate-rate 0.01 --seed $((seed + 1))
fault_lab_up
note "soak: $frames datagrams of 12 to 1400 bytes at $pps/s, seed $seed"
probe warmup 20000 20000 12 1400 "$seed"
rss_a=$(rss_kib a)
rss_b=$(rss_kib b)
snapshot before
started=$(now_ms)
probe soak "$frames" "$pps" 12 1400 $((seed + 2))
quiesce
took=$(( $(now_ms) - started ))
snapshot after
mirror=$(mirror_stats a)
echo "mirror A -> B: $mirror"
reconcile soak before after "$(jq .destroyed_frames <<<"$mirror")" \
  "$(jq .destroyed_blocks <<<"$mirror")"
corrupt=$(delta b_corrupt_blocks after before)
lost=$(delta b_lost_blocks after before)
check_rss a "$rss_a"
check_rss b "$rss_b"
cat "$E2E_RUN/soak.json"
note "soak done: $frames datagrams in $((took / 1000)) s; received $(jq .received "$E2E_RUN/soak.json"), missing" \
  "$(jq .missing "$E2E_RUN/soak.json"), all accounted for; B skipped $corrupt corrupt and $lost lost blocks"
echo "PASS"
