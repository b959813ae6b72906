#!/usr/bin/env bash
# Slot ownership on a shared volume of four slots, a, b and c running on slots 0-2. A second vnicd
# on b's slot (another node name) is refused: it exits non-zero with one error line naming the slot
# and its owner, leaves no interface behind, and nothing changes for b (same process, same epoch,
# its state record still its own, seen alive throughout, traffic flows). Then, three times, two
# vnicd started at the same moment on the free slot 3: exactly one runs, the other exits 78 (EX_CONFIG) naming
# the winner.
source "$(dirname "$0")/shared_lib.sh"
require_environment
shared_setup 4 file
volume=$(shared_volume)
for side in a b c; do start_node $side --dead-after-ms "$DEAD_AFTER_MS"; done
for side in a b c; do wait_link_up $side; done
ns_d=$(lab_ns d)

# intruder NAME IFNAME SLOT: vnicd's argv in d's namespace on SLOT as node NAME (its output goes to
# NAME.log), in INTRUDER.
intruder() {
  INTRUDER=(ip netns exec "$ns_d" "$VNIC_BIN_VNICD" --ifname "$2" --volume "$volume" --slot "$3" --node-name "$1"
    --control-socket "$E2E_RUN/$1.sock" --dead-after-ms "$DEAD_AFTER_MS")
}
error_lines() { grep -E '^(critical|error):' "$1" || true; }
# slot_record SLOT: SLOT's state record as vnicctl inspect reads it, without what moves while its
# owner runs (heartbeat, head, acks, clock).
slot_record() {
  "$VNIC_BIN_VNICCTL" inspect "$volume" --json |
    jq -c ".slots[] | select(.slot == $1) | del(.heartbeat, .head_sequence, .writer_monotonic_ns, .acks, .blocks, .echo_peer_heartbeat)"
}

note "a second vnicd on b's slot 1"
b_pid=$(lab_vnicd_pid b)
b_epoch=$(status_field b .tx.epoch)
record_before=$(slot_record 1)
status=0
t0=$(now_ms)
intruder x vnic1 1
# It watches b's heartbeat for dead_after at most: bounded, so a vnicd that takes the slot fails
# the test instead of running on.
limit_s=$(( (2 * DEAD_AFTER_MS + SHARED_MARGIN_MS) / 1000 + 5 ))
timeout $limit_s "${INTRUDER[@]}" >"$E2E_RUN/x.log" 2>&1 || status=$?
[ $status != 124 ] || fail "a second vnicd on b's slot 1 still ran after $limit_s s: $(tail -n 5 "$E2E_RUN/x.log")"
note "refused after $(( $(now_ms) - t0 )) ms with status $status: $(error_lines "$E2E_RUN/x.log")"
[ $status = 78 ] || fail "a second vnicd on b's slot exited $status, not 78 (EX_CONFIG)"
[ "$(error_lines "$E2E_RUN/x.log" | wc -l)" = 1 ] || { cat "$E2E_RUN/x.log"; fail "expected one error line"; }
error_lines "$E2E_RUN/x.log" | grep -q 'slot 1 .*"b"' || { cat "$E2E_RUN/x.log"; fail "the error does not name slot 1 and its owner b"; }
error_lines "$E2E_RUN/x.log" | grep -qF "$volume" || { cat "$E2E_RUN/x.log"; fail "the error does not name the volume"; }
! ip netns exec "$ns_d" ip link show vnic1 >/dev/null 2>&1 || fail "the refused vnicd left vnic1 behind"
lab_running "$b_pid" || fail "b's vnicd is gone"
[ "$(status_field b .tx.epoch)" = "$b_epoch" ] || fail "b's epoch changed"
[ "$(slot_record 1)" = "$record_before" ] || fail "slot 1's state record changed: $record_before -> $(slot_record 1)"
for side in a c; do
  peer_state_is $side b alive || fail "$side does not see b alive"
  ! grep -q 'peer slot 1 .*dead' "$E2E_RUN/$side.log" || fail "$side saw b dead during the refused start"
done
ip netns exec "$NS_A" ping -c 3 -i 0.05 -W 2 -q "$(lab_addr b)" >/dev/null || fail "ping a -> b after the refused start"

for round in 1 2 3; do
  note "round $round: two vnicd at the same moment on the free slot 3"
  intruder d1 vnic1 3
  "${INTRUDER[@]}" >"$E2E_RUN/d1.log" 2>&1 &
  first=$!
  intruder d2 vnic2 3
  "${INTRUDER[@]}" >"$E2E_RUN/d2.log" 2>&1 &
  second=$!
  # The loser exits at once or after watching the slot for dead_after; give it that and margin.
  deadline=$(( $(now_ms) + 2 * DEAD_AFTER_MS + SHARED_MARGIN_MS + 2000 ))
  while lab_running $first && lab_running $second && [ "$(now_ms)" -lt $deadline ]; do sleep 0.05; done
  sleep 0.5
  if lab_running $first && ! lab_running $second; then
    winner=d1 winner_pid=$first loser=d2 loser_pid=$second
  elif lab_running $second && ! lab_running $first; then
    winner=d2 winner_pid=$second loser=d1 loser_pid=$first
  else
    lab_running $first && fail "round $round: both vnicd run on slot 3"
    fail "round $round: neither vnicd runs on slot 3: $(cat "$E2E_RUN/d1.log" "$E2E_RUN/d2.log")"
  fi
  status=0
  wait $loser_pid || status=$?
  note "round $round: $winner runs; $loser exited $status: $(error_lines "$E2E_RUN/$loser.log")"
  [ $status = 78 ] || fail "round $round: the loser $loser exited $status, not 78 (EX_CONFIG)"
  [ "$(error_lines "$E2E_RUN/$loser.log" | wc -l)" = 1 ] || { cat "$E2E_RUN/$loser.log"; fail "expected one error line"; }
  error_lines "$E2E_RUN/$loser.log" | grep -q "slot 3 .*\"$winner\"" ||
    { cat "$E2E_RUN/$loser.log"; fail "round $round: the loser's error does not name slot 3 and the winner $winner"; }
  wait_until 10 "a to see $winner alive on slot 3" peer_state_is a d alive
  [ "$(peer_json a d | jq -r .owner)" = "$winner" ] || fail "a sees slot 3 owned by $(peer_json a d | jq -r .owner), not $winner"
  kill -TERM $winner_pid
  wait $winner_pid || fail "round $round: the winner $winner did not stop cleanly"
  ip -n "$ns_d" link del vnic1 2>/dev/null || true
  ip -n "$ns_d" link del vnic2 2>/dev/null || true
done
echo "PASS"
