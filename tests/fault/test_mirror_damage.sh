#!/usr/bin/env bash
# Damage that never heals: bit flips (in the header or the valid bytes), torn blocks whose second
# part never lands, and blocks never copied (the slot keeps the older lap). No damaged frame is
# ever delivered: the reader rejects every such block (by CRC, magic or sequence), counts each one
# as corrupt or lost, and every datagram in them is accounted for.
source "$(dirname "$0")/fault_lib.sh"
require_environment
fault_lab_setup
start_mirror a --lag-ms 2 --bitflip-rate 0.003 --torn-rate 0.003 --torn-never 1 --stale-rate 0.002 --stale-never 1 --seed 31
start_mirror b --lag-ms 2 --seed 32
fault_lab_up

snapshot before
probe damage 50000 5000 200 1400 3
quiesce
snapshot after
mirror=$(mirror_stats a)
echo "$mirror"
destroyed_blocks=$(jq .destroyed_blocks <<<"$mirror")
destroyed_frames=$(jq .destroyed_frames <<<"$mirror")
bitflips=$(jq .bitflips <<<"$mirror")
reconcile damage before after "$destroyed_frames" "$destroyed_blocks"
corrupt=$(delta b_corrupt_blocks after before)
lost=$(delta b_lost_blocks after before)
note "mirror destroyed $destroyed_blocks blocks ($bitflips bit flips, $(jq .bitflips_in_header <<<"$mirror") in headers);" \
  "B counted $corrupt corrupt and $lost lost"
[ "$bitflips" -gt 0 ] && [ "$(jq .torn_never <<<"$mirror")" -gt 0 ] && [ "$(jq .stale_never <<<"$mirror")" -gt 0 ] ||
  fail "a kind of damage was never injected"
[ "$corrupt" -ge "$bitflips" ] || fail "$bitflips blocks had a flipped bit but B counted only $corrupt corrupt"
echo "PASS"
