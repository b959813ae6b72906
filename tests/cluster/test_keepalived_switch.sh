#!/usr/bin/env bash
# keepalived over vnic, switch failure: the LAN switch stops forwarding (ports detached, carrier
# stays up) while the VRRP adverts keep flowing over vnic0, so for the whole outage exactly one
# node is MASTER and holds the VIP: no split-brain.
source "$(dirname "$0")/keepalived_lib.sh"
keepalived_lab_up

note "switch fails"
lab_switch fail
ip netns exec "$NS_A" ping -c 1 -W 1 "$(lab_lan_addr b)" >/dev/null 2>&1 && fail "the LAN still forwards after the switch failure"
hold_single_master a 20
grep -q "Entering MASTER STATE" "$KA_DIR/b.log" && fail "node b entered MASTER state during the switch failure"

note "switch restored"
lab_switch restore
hold_single_master a 3
echo PASS
