#!/usr/bin/env bash
# Bad shared-volume input: a slot beyond the volume's slots, a one-slot (two-volume mode) volume
# used with --volume, a multi-slot shared volume used with --send/--recv, both modes at once, an
# over-long node name. Each gets a non-zero exit and one error line naming what is wrong, and
# changes nothing: no byte of either volume, no interface, no control socket.
source "$(dirname "$0")/shared_lib.sh"
require_environment
shared_setup 4 file
shared=$(shared_volume)
single=$E2E_VOL/single.vol
"$VNIC_BIN_VNICCTL" format "$single" --size 16M --block-size 64K >/dev/null
sock=$(socket_of a)
checksums() { sha256sum "$shared" "$single" | cut -d' ' -f1 | tr '\n' ' '; }

# expect_refusal WHAT EXPECTED_TEXT... -- vnicd-args...: every EXPECTED_TEXT in the one error line.
expect_refusal() {
  local what=$1 expected=() out=$E2E_RUN/refusal.log status=0 before errors text
  shift
  while [ "$1" != -- ]; do expected+=("$1"); shift; done
  shift
  before=$(checksums)
  ip netns exec "$NS_A" "$VNIC_BIN_VNICD" --ifname vnic0 --control-socket "$sock" "$@" >"$out" 2>&1 || status=$?
  [ $status = 78 ] || { cat "$out"; fail "$what: vnicd exited $status, not 78 (EX_CONFIG)"; }
  errors=$(grep -cE '^(critical|error):' "$out" || true)
  [ "$errors" = 1 ] || { cat "$out"; fail "$what: expected one error line, got $errors"; }
  for text in "${expected[@]}"; do
    grep -E '^(critical|error):' "$out" | grep -qF -- "$text" || { cat "$out"; fail "$what: the error does not say '$text'"; }
  done
  [ "$(checksums)" = "$before" ] || fail "$what: a volume changed"
  ! ip netns exec "$NS_A" ip link show vnic0 >/dev/null 2>&1 || fail "$what: a vnic0 interface was left behind"
  [ ! -e "$sock" ] || fail "$what: the control socket was left behind"
  note "$what: $(grep -E '^(critical|error):' "$out")"
}

expect_refusal "slot beyond the volume's four" "$shared" "slot 4" -- --volume "$shared" --slot 4 --node-name a
expect_refusal "a slot no volume has" "slot 64" "0 to 63" -- --volume "$shared" --slot 64 --node-name a
expect_refusal "a one-slot volume in shared mode" "$single" -- --volume "$single" --slot 0 --node-name a
expect_refusal "a one-slot volume, slot 1" "$single" "slot 1" -- --volume "$single" --slot 1 --node-name a
expect_refusal "a shared volume as the send volume" "$shared" -- --send "$shared" --recv "$single"
expect_refusal "a shared volume as the receive volume" "$shared" -- --send "$single" --recv "$shared"
expect_refusal "both modes at once" "--volume" "--send" -- --volume "$shared" --slot 0 --send "$single" --recv "$single"
expect_refusal "a node name of 64 bytes" "63" -- --volume "$shared" --slot 0 --node-name "$(printf 'n%.0s' $(seq 64))"
echo "PASS"
