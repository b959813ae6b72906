#!/usr/bin/env bash
# Carrier follows the peer: off before it starts, on once it is alive, off within dead_after +
# 200 ms of kill -9, off within 200 ms of a clean stop, on again after a restart; and frames that
# waited longer than max_frame_age are never delivered.
source "$(dirname "$0")/lib.sh"
require_environment
lab_setup 64K
dead_after=1000

# Waits for carrier on SIDE to become VALUE and prints how many ms that took from START_MS.
carrier_within() {
  local side=$1 value=$2 start=$3 limit_ms=$4
  while [ "$(carrier $side)" != "$value" ]; do
    [ $(( $(now_ms) - start )) -le $((limit_ms + 2000)) ] || fail "carrier on $side never became $value"
    sleep 0.005
  done
  local took=$(( $(now_ms) - start ))
  note "carrier $side -> $value after $took ms (limit $limit_ms ms)"
  [ $took -le $limit_ms ] || fail "carrier on $side took $took ms to become $value (limit $limit_ms ms)"
}

note "A alone: no carrier"
start_node a --dead-after-ms $dead_after
sleep 1.5
carrier_is a 0 || fail "A has carrier with no peer"

note "B starts: carrier on both"
start_node b --dead-after-ms $dead_after
wait_link_up a
wait_link_up b
ip netns exec "$NS_A" ping -c 3 -i 0.1 -W 2 "$ADDR_B" >/dev/null || fail "ping after B started"

note "kill -9 B"
start=$(now_ms)
stop_node b KILL
carrier_within a 0 "$start" $((dead_after + 200))

note "B restarts after its crash: carrier on again, traffic flows"
start_node b --dead-after-ms $dead_after
wait_link_up a
wait_link_up b
ip netns exec "$NS_A" ping -c 3 -i 0.1 -W 2 "$ADDR_B" >/dev/null || fail "ping after B restarted"
restarts=$(status_field a .rx.epoch_changes)
[ "$restarts" -ge 1 ] || fail "A did not see B's new epoch"

note "clean stop of B"
start=$(now_ms)
stop_node b TERM
carrier_within a 0 "$start" $((200 * SANITIZER_TIME_FACTOR))
grep -q "stopped cleanly" "$E2E_RUN/b.log" || fail "B did not log its clean stop"

note "old frames: B's frames wait in the ring while A's daemon is frozen; none is delivered late"
stop_node a TERM
start_node a --dead-after-ms $dead_after --max-frame-age-ms 500
start_node b --dead-after-ms $dead_after
wait_link_up a
wait_link_up b
ip netns exec "$NS_A" "$UDP_PROBE" recv 7003 200 3000 >"$E2E_RUN/late.json" 2>"$E2E_RUN/late.err" &
receiver=$!
wait_until 5 "the UDP receiver" grep -q listening "$E2E_RUN/late.err"
# B must know A's MAC already: a frozen A would never answer B's ARP request.
ip netns exec "$NS_B" ping -c 1 -W 2 "$ADDR_A" >/dev/null || fail "ping B -> A before the freeze"
pid_a=$(cat "$E2E_RUN/a.pid")
kill -STOP "$pid_a"
# 200 datagrams in 0.2 s, well before B could see A dead: they wait in B's ring, unread.
ip netns exec "$NS_B" "$UDP_PROBE" send "$ADDR_A" 7003 200 100 1000 >/dev/null
sleep 1.5
kill -CONT "$pid_a"
wait $receiver || true
cat "$E2E_RUN/late.json"
late=$(jq .received "$E2E_RUN/late.json")
too_old=$(status_field a .drops.rx_too_old)
note "delivered after the freeze: $late; dropped as too old: $too_old"
[ "$late" = 0 ] || fail "$late frames older than max_frame_age were delivered"
[ "$too_old" -ge 200 ] || fail "only $too_old frames were counted as too old: the test did not exercise the limit"
echo "PASS"
