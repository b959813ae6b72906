#!/usr/bin/env bash
# corosync with the LAN down (B's NIC fails), so vnic0 is the only link. Node B dies: its
# corosync and its vnicd are killed -9 together. On A, vnic0 loses carrier within dead_after and
# corosync drops B from the membership within token + consensus (A stays quorate: two_node).
source "$(dirname "$0")/cluster_lib.sh"
require_corosync

cluster_setup
cluster_vnicd_up
corosync_up
ring=$(ring_id a)
token=$(totem_ms a token)
consensus=$(totem_ms a consensus)

note "B's LAN port fails"
t0=$(now_ms)
lab_nic fail b
for side in a b; do wait_ms $t0 10000 "knet on $side to declare link0 down" link_is $side 0 0 >/dev/null; done
membership_holds "$ring" 3

note "node B dies (kill -9 corosync and vnicd)"
t0=$(now_ms)
kill -KILL "$(lab_corosync_pid b)" "$(lab_vnicd_pid b)"
carrier_limit=$((DEAD_AFTER_MS + CLUSTER_MARGIN_MS))
member_limit=$((token + consensus + CLUSTER_MARGIN_MS))
carrier_off() { carrier_is a 0; }
one_member() { [ "$(member_count a)" = 1 ]; }
carrier_ms=$(wait_ms $t0 $carrier_limit "vnic0 on A to lose carrier" carrier_off)
note "vnic0 on A lost carrier $carrier_ms ms after B died (dead_after $DEAD_AFTER_MS ms, limit $carrier_limit ms)"
[ $carrier_ms -le $carrier_limit ] || fail "carrier off only after $carrier_ms ms"
member_ms=$(wait_ms $t0 $member_limit "corosync on A to drop B" one_member)
note "corosync on A dropped B $member_ms ms after B died (token $token + consensus $consensus ms, limit $member_limit ms)"
[ $member_ms -le $member_limit ] || fail "membership changed only after $member_ms ms"
[ "$(quorate a)" = Yes ] || fail "A is not quorate alone (two_node)"
[ "$(ring_id a)" != "$ring" ] || fail "the ring id did not change"
show_cluster a
echo "PASS"
