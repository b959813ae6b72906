#!/usr/bin/env bash
# Four nodes on one loop device; node d is killed with kill -9 while UDP streams run among a, b
# and c. a, b and c keep their carrier and their traffic (no datagram lost that the daemons did
# not count, none corrupt, duplicated or reordered), each sees d dead within dead_after (+ a
# scheduling margin) and logs it once; d restarts on its slot at once (same node name) and each
# sees it alive again, and d talks to all of them.
source "$(dirname "$0")/shared_lib.sh"
require_environment
command -v losetup >/dev/null || skip "losetup is not installed"
shared_setup 4 loop
lab_up --dead-after-ms "$DEAD_AFTER_MS"
ping_all
survivors="a b c"

# Samples the survivors' carrier every 10 ms until stopped; any 0 is written to carrier.log.
watch_carriers() {
  while true; do
    for side in $survivors; do [ "$(carrier $side)" = 1 ] || echo "$(now_ms) $side" >>"$E2E_RUN/carrier.log"; done
    sleep 0.01
  done
}
watch_carriers &
watcher=$!

note "UDP streams among a, b and c (6 streams, 4 s)"
udp_streams_start 2000 500 64 1400 $survivors
sleep 1
note "kill -9 d"
# The pid first, then the time, then the signal: nothing a starved shell could lag on between them.
d_pid=$(lab_vnicd_pid d)
now_ms_into t0
kill -KILL "$d_pid"
stop_node d KILL
limit=$((DEAD_AFTER_MS + SHARED_MARGIN_MS))
for side in $survivors; do
  took=$(peer_state_within $side d dead "$t0" $limit)
  note "$side sees d dead after $took ms (limit $limit ms)"
done
udp_streams_check
note "streams: received $UDP_RECEIVED of $((6 * UDP_COUNT)), missing $UDP_MISSING; counted drops $UDP_DROPS"
kill $watcher
wait $watcher 2>/dev/null || true
[ ! -s "$E2E_RUN/carrier.log" ] || fail "a survivor lost carrier while d died: $(head -n 5 "$E2E_RUN/carrier.log")"
for side in $survivors; do
  [ "$(lost_blocks $side)" = 0 ] || fail "$side lost or skipped blocks: $(status_json $side | jq -c '[.peers[] | {slot, rx}]')"
  n=$(grep -c 'peer slot 3 .*dead' "$E2E_RUN/$side.log" || true)
  [ "$n" = 1 ] || fail "$side logged d's death $n times, not once"
done

note "d restarts on its slot"
t0=$(now_ms)
start_node d --dead-after-ms "$DEAD_AFTER_MS"
note "d answers on its control socket after $(( $(now_ms) - t0 )) ms"
for side in $survivors; do
  took=$(peer_state_within $side d alive "$t0" $((DEAD_AFTER_MS + SHARED_MARGIN_MS)))
  note "$side sees d alive after $took ms"
done
wait_link_up d
for side in $survivors; do
  peer_state_is d $side alive || fail "the restarted d does not see $side alive: $(peer_json d $side)"
done
ping_all
echo "PASS"
