#!/usr/bin/env bash
# corosync 3 (knet, passive mode) with link0 on the LAN (priority 20) and link1 on vnic0
# (priority 10). The LAN's switch fails (its ports leave the bridge, carrier stays up): knet
# declares link0 down within its ping timeout and carries the cluster's traffic on link1; the
# membership (ring id) and quorum do not change for 60 s. The switch comes back: link0 is up
# again and carries the traffic, the membership still unchanged.
source "$(dirname "$0")/cluster_lib.sh"
require_corosync
HOLD_S=${HOLD_S:-60}

cluster_setup
cluster_vnicd_up
corosync_up
show_cluster a
ring=$(ring_id a)
[ "$(ring_id b)" = "$ring" ] || fail "the nodes disagree on the ring id: $ring and $(ring_id b)"
ping_timeout=$(lab_cmap a runtime.config.totem.interface.0.knet_ping_timeout)
ping_interval=$(lab_cmap a runtime.config.totem.interface.0.knet_ping_interval)
note "corosync runs with token $(totem_ms a token) ms, consensus $(totem_ms a consensus) ms;" \
  "knet ping interval $ping_interval ms, ping timeout $ping_timeout ms"

note "the switch fails"
t0=$(now_ms)
lab_switch fail
# knet pings every interval and declares the link down once a ping timeout has passed without a
# pong: up to timeout + interval after the last pong.
limit=$((ping_timeout + ping_interval + CLUSTER_MARGIN_MS))
for side in a b; do
  took=$(wait_ms $t0 $limit "knet on $side to declare link0 (LAN) down" link_is $side 0 0)
  note "knet on $side: link0 down $took ms after the switch failed (limit $limit ms)"
done
for side in a b; do link_is $side 1 1 || fail "knet on $side: link1 (vnic0) is not connected"; done
tx0=$(link_tx_data a 0) tx1=$(link_tx_data a 1)

note "the membership holds for $HOLD_S s on vnic0 alone"
membership_holds "$ring" "$HOLD_S"
[ "$(link_tx_data a 0)" = "$tx0" ] || fail "knet sent data on link0 while it was down"
[ "$(link_tx_data a 1)" -gt "$tx1" ] || fail "knet sent no data on link1 while link0 was down"
note "knet on a sent $(( $(link_tx_data a 1) - tx1 )) data packets on link1 and none on link0"
show_cluster a
echo "---- what knet logged on a"
grep -E "link: host: 2 link: [01] is (down|up)|host: 2 \(passive\) best link" "$(lab_corosync_dir a)/corosync.log" | tail -n 6

note "the switch comes back"
t0=$(now_ms)
lab_switch restore
for side in a b; do
  took=$(wait_ms $t0 10000 "knet on $side to bring link0 up again" link_is $side 0 1)
  note "knet on $side: link0 up $took ms after the switch came back"
done
# Passive mode: the highest-priority link carries the data again.
sleep 1
tx0=$(link_tx_data a 0) tx1=$(link_tx_data a 1)
membership_holds "$ring" 3
[ "$(link_tx_data a 0)" -gt "$tx0" ] || fail "knet does not use link0 again"
[ "$(link_tx_data a 1)" = "$tx1" ] || fail "knet still sends data on link1 with link0 up"
note "link0 carries the data again; ring id $ring throughout"
echo "PASS"
