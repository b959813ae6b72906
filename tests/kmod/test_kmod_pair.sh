#!/usr/bin/env bash
# vnic.ko in a Debian 12 guest against vnicd on the host, a mirrored pair over volume files:
# load, link add, ping and checked UDP both ways, a burst of damaged blocks rejected and counted,
# carrier off within dead_after when the host's vnicd is killed and at once on its clean stop, the
# module following the restarted vnicd's new epoch, unload while traffic flows (a clean-stop record
# that the host sees), and a reload that continues the ring.
source "$(dirname "$0")/kmod_lib.sh"
kmod_setup
start_mirror --lag-ms 1

note "load: insmod, ip link add vnic0 type vnic"
IP=$(guest_tool ip)
ETHTOOL=$(guest_tool ethtool)
guest_vnic_up
gx "$IP -d link show vnic0" | grep -qw vnic || fail "ip -d link does not name the link type vnic"
[ "$(gx "$ETHTOOL -i vnic0" | awk '$1 == "driver:" { print $2 }')" = vnic ] || fail "ethtool -i does not name the driver vnic"
[ "$(gx cat /sys/class/net/vnic0/vnic/peer_state)" = unknown ] || fail "peer state should be unknown before the host's vnicd runs"

note "host vnicd starts: carrier on both sides"
lab_start_vnicd a
lab_wait_link_up a
lab_wait_until 10 "carrier on in the guest" guest_carrier_is 1

note "ping both ways"
host_ns ping -c 5 -i 0.2 -W 2 "$GUEST_ADDR" >"$LAB_RUN/ping1" || { cat "$LAB_RUN/ping1"; fail "the host cannot ping the guest"; }
gx "ping -c 5 -W 2 $HOST_ADDR" >"$LAB_RUN/ping2" || { cat "$LAB_RUN/ping2"; fail "the guest cannot ping the host"; }
note "rtt host->guest: $(tail -n 1 "$LAB_RUN/ping1"); guest->host: $(tail -n 1 "$LAB_RUN/ping2")"

note "checked UDP, 3000 datagrams each way at 500/s"
# The host's ring (511 blocks, one per datagram here: about a second) can fill while the TCG
# guest's acknowledgements lag on a loaded host; those drops are counted (by vnicd, or by the host
# kernel while vnicd holds for room), and only those may miss.
drops_before=$(host_send_drops)
result=$(udp_to_guest 3000 500)
drops=$(( $(host_send_drops) - drops_before ))
note "host -> guest: $result; the host counted $drops drops"
stream_accounted "$result" 3000 "$drops" || fail "host -> guest stream: $result, with $drops counted drops"
result=$(udp_to_host 3000 500)
note "guest -> host: $result"
stream_clean "$result" 3000 || fail "guest -> host stream: $result"

note "a burst of 4 damaged blocks on the mirror, under a stream"
corrupt_before=$(guest_stat rx_corrupt_blocks)
drops_before=$(host_send_drops)
port=5999
guest_udp_receiver $port 2000
host_ns "$UDP_PROBE" send "$GUEST_ADDR" $port 2000 100 500 1400 >"$LAB_RUN/damage-send.out" 2>&1 &
sender=$!
sleep 1
mirror_control "damage 4"
wait $sender
lab_wait_until 15 "the guest's receiver to finish" gx "test -s /tmp/udp.json"
result=$(gx "cat /tmp/udp.json")
mirror=$(mirror_stats)
corrupt=$(( $(guest_stat rx_corrupt_blocks) - corrupt_before ))
drops=$(( $(host_send_drops) - drops_before ))
note "receiver: $result; mirror: damaged $(jq .burst_damaged <<<"$mirror") blocks holding $(jq .destroyed_frames <<<"$mirror") frames; guest counted $corrupt corrupt blocks; the host counted $drops drops"
[ "$(jq .burst_damaged <<<"$mirror")" -eq 4 ] || fail "the mirror did not damage 4 blocks: $mirror"
[ "$corrupt" -eq 4 ] || fail "the guest counted $corrupt corrupt blocks, not the 4 damaged"
[ "$(jq -c '[.corrupt, .duplicates, .reordered]' <<<"$result")" = "[0,0,0]" ] || fail "a damaged, duplicated or reordered datagram was delivered: $result"
missing=$(jq .missing <<<"$result")
cat "$LAB_RUN/damage-send.out"
# What is missing is what the damaged blocks held, plus what the host counted as dropped while the
# emulated guest's acknowledgements lagged (as in the streams above).
[ "$missing" -ge 1 ] && [ "$missing" -le $(( $(jq .destroyed_frames <<<"$mirror") + drops )) ] ||
  fail "$missing datagrams missing, but the damaged blocks held $(jq .destroyed_frames <<<"$mirror") frames and the host counted $drops drops"
skips=$(gx "dmesg" | sed -n 's/^\[ *\([0-9.]*\)\] vnic0: slot [0-9]* block [0-9]* damaged: skipped/\1/p')
[ "$(wc -l <<<"$skips")" -eq 4 ] || fail "the guest did not log the 4 damaged blocks it skipped: $skips"
# A burst shares one torn_timeout (100 ms): the four are skipped together, not 100 ms apart.
spread=$(awk 'NR == 1 { first = $1 } { last = $1 } END { printf "%d", (last - first) * 1000 }' <<<"$skips")
note "the 4 damaged blocks were skipped within $spread ms"
[ "$spread" -lt 50 ] || fail "the damaged blocks were skipped over $spread ms: one torn_timeout each, not one for the burst"

note "kill -9 the host's vnicd: carrier off in the guest within dead_after (1000 ms)"
t0=$(date +%s%N)
lab_kill_vnicd a
lab_wait_until 5 "carrier off in the guest" guest_carrier_is 0
elapsed=$(ms_since $t0)
note "carrier off after $elapsed ms"
# dead_after after the last heartbeat seen (read every 100 ms), plus what each check through the
# guest's serial agent takes under TCG (50-300 ms): not before 700 ms, not after 1800 ms.
[ "$elapsed" -ge 700 ] && [ "$elapsed" -le 1800 ] || fail "carrier went off $elapsed ms after the kill (dead_after 1000 ms)"
[ "$(gx cat /sys/class/net/vnic0/vnic/peer_state)" = dead ] || fail "the guest does not judge the peer dead"

note "vnicd restarts (a new epoch past a crash): carrier back, traffic flows"
epochs_before=$(guest_stat rx_epoch_changes)
rm -f "$LAB_RUN/a.pid"
lab_start_vnicd a
lab_wait_until 10 "carrier on in the guest" guest_carrier_is 1
lab_wait_link_up a
host_ns ping -c 3 -i 0.2 -W 2 "$GUEST_ADDR" >/dev/null || fail "no ping after the host's vnicd restarted"
[ "$(guest_stat rx_epoch_changes)" -gt "$epochs_before" ] || fail "the guest did not follow the new epoch"

note "clean stop of vnicd: carrier off in the guest at once"
t0=$(date +%s%N)
lab_stop_vnicd a TERM
lab_wait_until 5 "carrier off in the guest" guest_carrier_is 0
elapsed=$(ms_since $t0)
note "carrier off $elapsed ms after the clean stop"
[ "$elapsed" -le 600 ] || fail "carrier off only $elapsed ms after a clean stop"
[ "$(gx cat /sys/class/net/vnic0/vnic/peer_state)" = stopped ] || fail "the guest does not see the clean stop"

note "rmmod with vnic0 up while traffic flows both ways"
lab_start_vnicd a
lab_wait_link_up a
lab_wait_until 10 "carrier on in the guest" guest_carrier_is 1
tx_next=$(gx cat /sys/class/net/vnic0/vnic/position | awk '{ print $4 }')
host_ns "$UDP_PROBE" send "$GUEST_ADDR" 5998 20000 100 2000 1400 >/dev/null 2>&1 &
flood=$!
gx "$(guest_tool udp_probe) send $HOST_ADDR 5997 20000 100 2000 1400 >/dev/null 2>&1 &"
sleep 2
t0=$(date +%s%N)
gx "rmmod vnic" || fail "rmmod vnic failed while traffic flowed"
note "rmmod took $(ms_since $t0) ms"
gx "grep -q '^vnic ' /proc/modules" && fail "vnic is still loaded"
gx "dmesg" | grep -q "vnic0: stopped cleanly" || fail "vnic0 did not stop cleanly on unload"
lab_wait_until 5 "the host to see the guest's clean stop" host_peer_is stopped
lab_wait_until 5 "carrier off on the host" lab_carrier_is a 0
wait $flood || true  # its datagrams after the unload had nowhere to go

note "reload: the ring continues where the clean stop left it"
guest_vnic_up
lab_wait_until 10 "carrier on in the guest" guest_carrier_is 1
[ "$(gx cat /sys/class/net/vnic0/vnic/position | awk '{ print $4 }')" -ge "$tx_next" ] || fail "the reloaded module went back in its ring"
gx "ping -c 3 -W 2 $HOST_ADDR" >/dev/null || fail "no ping after the reload"
result=$(udp_to_host 1000 500)
stream_clean "$result" 1000 || fail "guest -> host stream after the reload: $result"
gx "$IP link del vnic0" || fail "ip link del vnic0 failed"
lab_wait_until 5 "the host to see the guest's clean stop" host_peer_is stopped
gx "rmmod vnic" || fail "rmmod after ip link del failed"
echo "PASS"
