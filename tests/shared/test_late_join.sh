#!/usr/bin/env bash
# A node joining late sees none of the traffic sent before it started. a, b and c run on a volume
# of four slots; they ping each other and send 600 UDP datagrams to d's address (d's MAC is a
# permanent neighbour on each, so the frames go onto the volume although d is not there), all of
# them still in the rings when d starts. d starts with a UDP receiver already bound: it receives
# none of those datagrams and its readers deliver no frame at all until new traffic comes; then a
# fresh stream to d arrives whole.
source "$(dirname "$0")/shared_lib.sh"
require_environment
# 511 blocks per ring: the old traffic (a block or so per datagram) stays in the rings, where a
# reader that starts at the ring's start instead of the writer's head would find it.
E2E_VOLUME_SIZE=32M
shared_setup 4 file
MAC_D=02:00:0a:4d:00:04
for side in a b c; do start_node $side --dead-after-ms "$DEAD_AFTER_MS"; done
for side in a b c; do wait_link_up $side; done
for side in a b c; do
  ip -n "$(lab_ns $side)" neigh replace "$(lab_addr d)" lladdr $MAC_D dev vnic0 nud permanent
  for peer in a b c; do
    [ $side = $peer ] || ip netns exec "$(lab_ns $side)" ping -c 3 -i 0.02 -W 2 -q "$(lab_addr $peer)" >/dev/null ||
      fail "ping $side -> $peer"
  done
done

note "before d starts: a, b and c send 200 datagrams each to d's address, port 7200"
for side in a b c; do
  ip netns exec "$(lab_ns $side)" "$UDP_PROBE" send "$(lab_addr d)" 7200 200 200 1000 >/dev/null ||
    fail "udp_probe send from $side"
done
ring_blocks=$("$VNIC_BIN_VNICCTL" inspect "$(shared_volume)" --json | jq .superblock.ring_blocks)
for side in a b c; do
  [ "$(status_field $side .tx.frames)" -ge 200 ] || fail "$side wrote $(status_field $side .tx.frames) frames, not the 200 sent to d"
  head=$(status_field $side .tx.next_sequence)
  [ "$head" -lt "$ring_blocks" ] || fail "$side's ring wrapped ($head blocks of $ring_blocks): the old traffic is not all there"
done

note "d starts, a receiver on port 7200 already bound"
ip netns exec "$(lab_ns d)" "$UDP_PROBE" recv 7200 600 3000 >"$E2E_RUN/old.json" 2>"$E2E_RUN/old.err" &
old_receiver=$!
wait_until 5 "d's UDP receiver" grep -q listening "$E2E_RUN/old.err"
start_node d --dead-after-ms "$DEAD_AFTER_MS" --mac $MAC_D
wait_link_up d
for side in a b c; do
  wait_until 10 "d to see $side alive" peer_state_is d $side alive
done
wait $old_receiver || fail "d's UDP receiver failed"
note "d's receiver after 3 s of silence: $(cat "$E2E_RUN/old.json")"
[ "$(jq .received "$E2E_RUN/old.json")" = 0 ] || fail "d received $(jq .received "$E2E_RUN/old.json") datagrams sent before it started"
delivered=$(status_json d | jq '[.peers[].rx.frames] | add')
note "d's readers delivered $delivered frames so far: $(status_json d | jq -c '[.peers[] | {slot, state, frames: .rx.frames, head}]')"
# Background frames a kernel sends on its own after d came up (IPv6 MLD reports repeated at random
# intervals after a link comes up) are new traffic and may reach d; the 600 old datagrams, a block
# or so each, must not.
[ "$delivered" -le 10 ] || fail "d delivered $delivered frames though only the kernels' own few were sent since it started"
old_drops=$(status_json d | jq '.drops.rx_too_old + .drops.rx_admin_down')
[ "$old_drops" = 0 ] || fail "d read $old_drops old frames (and dropped them) instead of starting at the writers' heads"

note "new traffic reaches d: 500 datagrams from a"
ip netns exec "$(lab_ns d)" "$UDP_PROBE" recv 7201 500 3000 >"$E2E_RUN/new.json" 2>"$E2E_RUN/new.err" &
new_receiver=$!
wait_until 5 "d's UDP receiver" grep -q listening "$E2E_RUN/new.err"
ip netns exec "$NS_A" "$UDP_PROBE" send "$(lab_addr d)" 7201 500 200 2000 >/dev/null || fail "udp_probe send from a"
wait $new_receiver || fail "d's UDP receiver failed"
note "d's receiver: $(cat "$E2E_RUN/new.json")"
missing=$(jq .missing "$E2E_RUN/new.json")
drops=$(( $(tx_drops a) + $(rx_drops d) ))
[ "$missing" = "$drops" ] || fail "$missing of the new datagrams missing at d, but a and d counted $drops drops"
[ "$(jq .corrupt "$E2E_RUN/new.json")" = 0 ] && [ "$(jq .reordered "$E2E_RUN/new.json")" = 0 ] ||
  fail "the new stream to d was corrupt or reordered"
ping_all
echo "PASS"
