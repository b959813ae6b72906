#!/usr/bin/env bash
# The mirror emulator itself, faults off but with lag (A -> B copying whole blocks, padding too): 50 000 datagrams A -> B arrive exact, every
# count reconciles, and once traffic stops the receive volume's ring is byte for byte the send
# volume's (the emulator misses no write).
source "$(dirname "$0")/fault_lib.sh"
require_environment
# A ring of 2047 blocks (about 3 s of this traffic) rides out the stalls of a loaded CI machine
# under ASan: with 511, A's writer sometimes outran what B's acknowledgements (through the mirror)
# showed and rightly tail-dropped, which this test, asserting no loss, would take for a fault.
export E2E_VOLUME_SIZE=128M
fault_lab_setup
start_mirror a --lag-ms 5 --seed 11 --whole-blocks
start_mirror b --lag-ms 5 --seed 12
fault_lab_up

snapshot before
probe clean 10000 2000 200 1400 5
quiesce
snapshot after
reconcile clean before after 0
# Nothing may be lost from the moment A's vnicd reads a frame. Before that, under ASan only, A's
# kernel may drop datagrams its TAP queue could not hold while the 2-3x slower vnicd was off the
# CPU (it counts them, and reconcile checked that count): that is the sending host's queue, not
# the mirror or the transport this test is about. The release build must lose none at all.
lost_before_vnicd=0
[ "$SANITIZER_TIME_FACTOR" = 1 ] || lost_before_vnicd=$(delta kernel_tx_drops after before)
[ "$(jq .received "$E2E_RUN/clean.json")" = "$(( $(scaled 10000) - lost_before_vnicd ))" ] ||
  fail "datagrams lost without faults"

note "the ring on a.mirror is an exact copy of a.vol's"
sleep 0.3
rings_offset=$("$VNIC_BIN_VNICCTL" inspect "$E2E_VOL/a.vol" --json | jq .superblock.rings_offset)
cmp --ignore-initial="$rings_offset:$rings_offset" "$E2E_VOL/a.vol" "$E2E_VOL/a.mirror" || fail "a.mirror's ring differs from a.vol's"
stop_mirror a
cat "$E2E_RUN/mirror-a.out"
[ "$(jq .blocks_seen "$E2E_RUN/mirror-a.out")" -gt 0 ] || fail "the mirror copied no block"
echo "PASS"
