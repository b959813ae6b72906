#!/usr/bin/env bash
# keepalived over vnic, the MASTER node dies (keepalived and vnicd killed, its LAN port dark): the
# BACKUP hears no more adverts and takes over within 3 x advert_int + skew (+ margin). Its own
# vnic0 loses carrier on the way, which must not put it in FAULT (dont_track_primary).
source "$(dirname "$0")/keepalived_lib.sh"
keepalived_lab_up
limit=$(( $(ka_master_down_ms $KA_PRIORITY_B) + 500 + CLUSTER_MARGIN_MS ))

note "node a dies"
start=$(now_ms)
keepalived_kill a
KA_DEAD=a
lab_kill_vnicd a
lab_nic fail a
wait_master b "$limit" "$start"
hold_single_master b 3
echo PASS
