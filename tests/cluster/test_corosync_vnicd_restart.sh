#!/usr/bin/env bash
# corosync with the LAN down (A's NIC fails), so vnic0 is the only link. vnicd on A is killed -9
# and started again by its supervisor (as the unit's Restart=always, RestartSec=100ms does); the
# new vnicd takes over the existing vnic0. The outage (no frame through vnic0) stays well inside
# knet's link timeout: knet never declares link1 down, and the membership does not change.
# The outage is bounded by: the restart delay (100 ms) + vnicd's start (open the volumes, find the
# ring's end, re-attach the TAP) + the peer's reader noticing the new writer (its idle poll, 10 ms).
source "$(dirname "$0")/cluster_lib.sh"
require_corosync
command -v ping >/dev/null || fail "ping is not installed"

cluster_setup --supervise
cluster_vnicd_up
corosync_up
ring=$(ring_id a)
ping_timeout=$(lab_cmap a runtime.config.totem.interface.1.knet_ping_timeout)

note "A's LAN port fails"
t0=$(now_ms)
lab_nic fail a
for side in a b; do
  took=$(wait_ms $t0 10000 "knet on $side to declare link0 down" link_is $side 0 0)
  note "knet on $side: link0 down after $took ms"
done
membership_holds "$ring" 3
down_a=$(link_down_count a 1) down_b=$(link_down_count b 1)

# 100 pings a second from B over vnic0 (-D: each reply's arrival time): the longest time without
# a reply is the outage (pings sent meanwhile wait in the queues and arrive late, or are lost).
lab_exec b ping -D -n -i 0.01 -w 6 "$ADDR_A" >"$E2E_RUN/ping.out" 2>&1 &
pinger=$!
sleep 1
old_pid=$(lab_vnicd_pid a)
note "kill -9 vnicd on A (pid $old_pid)"
t0=$(now_ms)
kill -KILL "$old_pid"
new_daemon() { [ -f "$E2E_RUN/a.pid" ] && [ "$(cat "$E2E_RUN/a.pid")" != "$old_pid" ] && status_json a; }
took=$(wait_ms $t0 5000 "a new vnicd on A to answer" new_daemon)
note "a new vnicd (pid $(lab_vnicd_pid a)) answers $took ms after the kill"
wait "$pinger" || true
replies=$(grep -c icmp_seq= "$E2E_RUN/ping.out" || true)
[ "$replies" -gt 100 ] || fail "only $replies ping replies over vnic0 around the restart: $(tail -n 3 "$E2E_RUN/ping.out")"
outage=$(awk '/icmp_seq=/ { t = substr($1, 2, length($1) - 2) * 1000; if (last && t - last > gap) gap = t - last; last = t }
  END { printf "%d", gap }' "$E2E_RUN/ping.out")
note "outage on vnic0: $outage ms without a ping reply (knet's link timeout $ping_timeout ms)"

membership_holds "$ring" 5
[ "$(link_down_count a 1)" = "$down_a" ] || fail "knet on a declared link1 (vnic0) down during the restart"
[ "$(link_down_count b 1)" = "$down_b" ] || fail "knet on b declared link1 (vnic0) down during the restart"
note "knet never declared link1 down; ring id $ring throughout"
[ "$outage" -lt $((ping_timeout / 2)) ] || fail "the outage ($outage ms) is not well inside knet's link timeout ($ping_timeout ms)"
echo "PASS"
