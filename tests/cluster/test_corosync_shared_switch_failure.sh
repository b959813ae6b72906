#!/usr/bin/env bash
# Three nodes on one shared volume (a loop device, like a LUN): corosync 3 (knet, passive) with
# link0 on the LAN (priority 20) and link1 on vnic0 (priority 10), where vnic0 is one L2 segment
# for all three. The LAN's switch fails: every node's knet declares link0 to both others down
# within its ping timeout and carries the traffic on link1; the membership (ring id, three
# members) and quorum do not change for HOLD_S seconds. The switch comes back: link0 is up again
# and carries the traffic, the membership still unchanged.
source "$(dirname "$0")/cluster_lib.sh"
require_corosync
command -v losetup >/dev/null || skip "losetup is not installed"
HOLD_S=${HOLD_S:-30}

lab_set_shared 3
cluster_setup
cluster_vnicd_up
corosync_up
show_cluster a
ring=$(ring_id a)
for side in b c; do [ "$(ring_id $side)" = "$ring" ] || fail "$side's ring id $(ring_id $side) is not a's $ring"; done
ping_timeout=$(lab_cmap a runtime.config.totem.interface.0.knet_ping_timeout)
ping_interval=$(lab_cmap a runtime.config.totem.interface.0.knet_ping_interval)
note "corosync runs with token $(totem_ms a token) ms, consensus $(totem_ms a consensus) ms;" \
  "knet ping interval $ping_interval ms, ping timeout $ping_timeout ms"

# tx_sum SIDE LINK: data packets SIDE's knet sent on LINK to both other nodes.
tx_sum() {
  local peer sum=0
  for peer in $(lab_sides); do [ $peer = "$1" ] || sum=$((sum + $(link_tx_data "$1" "$2" $peer))); done
  echo $sum
}

note "the switch fails"
t0=$(now_ms)
lab_switch fail
limit=$((ping_timeout + ping_interval + CLUSTER_MARGIN_MS))
for side in $(lab_sides); do
  for peer in $(lab_sides); do
    [ $peer != $side ] || continue
    took=$(wait_ms $t0 $limit "knet on $side to declare link0 (LAN) to $peer down" link_is $side 0 0 $peer)
    note "knet on $side: link0 to $peer down $took ms after the switch failed (limit $limit ms)"
    link_is $side 1 1 $peer || fail "knet on $side: link1 (vnic0) to $peer is not connected"
  done
done
declare -A tx0 tx1
for side in $(lab_sides); do tx0[$side]=$(tx_sum $side 0) tx1[$side]=$(tx_sum $side 1); done

note "the membership holds for $HOLD_S s on vnic0 alone"
membership_holds "$ring" "$HOLD_S"
for side in $(lab_sides); do
  [ "$(tx_sum $side 0)" = "${tx0[$side]}" ] || fail "knet on $side sent data on link0 while it was down"
  [ "$(tx_sum $side 1)" -gt "${tx1[$side]}" ] || fail "knet on $side sent no data on link1 while link0 was down"
  note "knet on $side sent $(( $(tx_sum $side 1) - tx1[$side] )) data packets on link1 and none on link0"
done
show_cluster a
for side in $(lab_sides); do
  echo "---- vnicd $side: $(status_json $side | jq -c '{carrier: .interface.carrier, peers: [.peers[] | {slot, owner, state, frames: .rx.frames}]}')"
done

note "the switch comes back"
t0=$(now_ms)
lab_switch restore
for side in $(lab_sides); do
  for peer in $(lab_sides); do
    [ $peer != $side ] || continue
    took=$(wait_ms $t0 10000 "knet on $side to bring link0 to $peer up again" link_is $side 0 1 $peer)
    note "knet on $side: link0 to $peer up $took ms after the switch came back"
  done
done
# Passive mode: the highest-priority link carries the data again.
sleep 1
for side in $(lab_sides); do tx0[$side]=$(tx_sum $side 0) tx1[$side]=$(tx_sum $side 1); done
membership_holds "$ring" 3
for side in $(lab_sides); do
  [ "$(tx_sum $side 0)" -gt "${tx0[$side]}" ] || fail "knet on $side does not use link0 again"
  [ "$(tx_sum $side 1)" = "${tx1[$side]}" ] || fail "knet on $side still sends data on link1 with link0 up"
done
note "link0 carries the data again; ring id $ring throughout"
echo "PASS"
