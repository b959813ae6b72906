#!/usr/bin/env bash
# keepalived over vnic, the MASTER's LAN port fails: keepalived tracks lan0, the MASTER goes to
# FAULT and gives up the VIP, and the BACKUP takes it within 3 x advert_int + skew (+ margin for a
# loaded machine). When the port comes back the VIP stays where it is (nopreempt).
source "$(dirname "$0")/keepalived_lib.sh"
keepalived_lab_up
limit=$(( $(ka_master_down_ms $KA_PRIORITY_B) + 500 + CLUSTER_MARGIN_MS ))

note "node a's LAN port fails"
start=$(now_ms)
lab_nic fail a
wait_master b "$limit" "$start"
[ "$(keepalived_state a)" = FAULT ] || fail "node a is $(keepalived_state a) with its LAN port down, not FAULT"
hold_single_master b 3

note "node a's LAN port is back: a rejoins as BACKUP, the VIP stays on b"
lab_nic restore a
wait_until 10 "node a to return to BACKUP" keepalived_state_is a BACKUP
hold_single_master b 5
echo PASS
