#!/usr/bin/env bash
# vnic.ko on a shared LUN against vnicd: one volume of three slots, host nodes a (slot 0) and b
# (slot 1) running vnicd in namespaces, the guest's vnic.ko taking slot 2. One Ethernet segment:
# the slot claim (a live node's slot refused by name after watching it; a free one taken; a
# clean stop handed back and taken again), ping and checked UDP between the module and vnicd,
# destinations both ways (the module's unicast is directed to one slot and vnicd's readers skip
# it; vnicd's unicast to another slot is consumed unread by the module), carrier on while any
# peer lives and off when none does, a vnicd refused the module's live slot, and a slot taken over
# while the guest was frozen: the module finds another epoch in its slot and writes nothing more.
source "$(dirname "$0")/kmod_lib.sh"
GUEST_ADDR=10.77.220.3
kmod_setup_shared 3
IP=$(guest_tool ip)
SYS=/sys/class/net/vnic0/vnic
guest_peer() { gx "cat $SYS/peers" | awk -v s="$1" '$1 == "slot" && $2 == s { print $3 }'; }
guest_peer_is() { [ "$(guest_peer "$1")" = "$2" ]; }
host_peer() { node_stat "$1" ".peers[] | select(.slot == $2) | $3"; }
host_peer_state_is() { [ "$(host_peer "$1" "$2" .state)" = "$3" ]; }

note "host nodes a and b start on slots 0 and 1"
# A writer laps a live reader whose acknowledgement stood still for lap_after_ms (500): an
# emulated guest on a loaded host can stall that long, and a lap loses a ring of blocks at once.
# The streams below count only the drops the sender counts, so the host waits for the guest.
lab_start_vnicd a --lap-after-ms 10000
lab_start_vnicd b --lap-after-ms 10000
lab_wait_link_up a
lab_wait_link_up b
GUEST_NODE=$(gx "cat /proc/sys/kernel/hostname")

note "slot 0 is a's: refused once its record moves, naming a; a runs on untouched"
guest_insmod
gx "$IP link add vnic0 type vnic && echo /dev/vda > $SYS/volume && echo 0 > $SYS/slot" || fail "could not configure vnic0"
t0=$(date +%s%N)
gx "$IP link set vnic0 up" 2>/dev/null && fail "vnic0 took slot 0, which a's live vnicd writes"
took=$(ms_since "$t0")
error=$(gx "cat $SYS/last_error")
note "refused after $took ms: $error"
[[ $error == *'slot 0 is owned by live node "a" (vnic0), running since '* ]] || fail "the refusal does not name a: '$error'"
gx "cat /sys/class/net/vnic0/operstate" | grep -qx down || fail "vnic0 is not down after the refusal"
sleep 0.5
lab_running "$(lab_vnicd_pid a)" || fail "a's vnicd stopped: the refused claim wrote its slot"
lab_carrier_is a 1 || fail "a lost carrier after the refused claim"

note "slot 2 is free: claimed, and carrier comes on with a and b alive"
gx "echo 2 > $SYS/slot && $IP addr add $GUEST_ADDR/24 dev vnic0 && $IP link set vnic0 up" || fail "vnic0 did not claim free slot 2"
lab_wait_until 10 "carrier on in the guest" guest_carrier_is 1
lab_wait_until 10 "a and b alive in the guest's peers" eval 'guest_peer_is 0 alive && guest_peer_is 1 alive'
gx "cat $SYS/peers" | grep -q '^slot 0 alive .* node "a" (vnic0)' || fail "the guest's peers do not name a: $(gx "cat $SYS/peers")"
lab_wait_until 10 "a to see slot 2 alive" host_peer_state_is a 2 alive
[ "$(host_peer a 2 .owner)" = "$GUEST_NODE" ] || fail "a names slot 2's owner '$(host_peer a 2 .owner)', not the guest's '$GUEST_NODE'"
[ "$(host_peer a 2 .ifname)" = vnic0 ] || fail "a names slot 2's interface '$(host_peer a 2 .ifname)', not vnic0"
[ "$(gx "cat $SYS/peer_state")" = alive ] || fail "the segment is not alive in the guest's peer_state"

note "ping: the guest to a and b, a and b to the guest"
gx "ping -c 3 -W 2 $(lab_addr a) && ping -c 3 -W 2 $(lab_addr b)" >"$LAB_RUN/ping-guest" ||
  { cat "$LAB_RUN/ping-guest"; fail "the guest cannot ping a and b"; }
for side in a b; do
  node_ns $side ping -c 3 -i 0.2 -W 2 "$GUEST_ADDR" >"$LAB_RUN/ping-$side" || { cat "$LAB_RUN/ping-$side"; fail "$side cannot ping the guest"; }
done

note "checked UDP between a and the guest, 2000 datagrams each way at 500/s; b's reader skips it"
b_skipped_of_a=$(host_peer b 0 .rx.not_for_us_blocks)
b_skipped_of_guest=$(host_peer b 2 .rx.not_for_us_blocks)
b_frames_of_guest=$(host_peer b 2 .rx.frames)
drops_before=$(host_send_drops)
result=$(udp_to_guest 2000 500)
drops=$(( $(host_send_drops) - drops_before ))
note "a -> guest: $result; a counted $drops drops"
stream_accounted "$result" 2000 "$drops" ||
  fail "a -> guest stream: $result, with $drops counted drops (the guest lost $(guest_stat rx_blocks_lost_lapped) blocks to laps, $(guest_stat rx_lost_blocks) otherwise)"
result=$(udp_to_host 2000 500)
note "guest -> a: $result"
stream_clean "$result" 2000 || fail "guest -> a stream: $result"
skipped_a=$(( $(host_peer b 0 .rx.not_for_us_blocks) - b_skipped_of_a ))
skipped_guest=$(( $(host_peer b 2 .rx.not_for_us_blocks) - b_skipped_of_guest ))
frames_guest=$(( $(host_peer b 2 .rx.frames) - b_frames_of_guest ))
note "b consumed unread: $skipped_a of a's blocks, $skipped_guest of the guest's; b took $frames_guest frames from the guest"
[ "$skipped_a" -ge 100 ] || fail "b skipped only $skipped_a of a's blocks to the guest: a does not direct them"
# The module learnt a's MAC from a's frames: its stream to a names slot 0 alone, and b reads none of it.
[ "$skipped_guest" -ge 100 ] || fail "b skipped only $skipped_guest of the guest's blocks to a: the module does not direct them"
[ "$frames_guest" -le 20 ] || fail "b was handed $frames_guest of the guest's frames to a"

note "a's unicast to b is consumed unread by the module"
guest_not_ours=$(guest_stat rx_blocks_not_ours)
guest_rx=$(guest_stat rx_frames)
node_ns a ping -c 20 -i 0.05 -W 2 "$(lab_addr b)" >"$LAB_RUN/ping-ab" || { cat "$LAB_RUN/ping-ab"; fail "a cannot ping b"; }
not_ours=$(( $(guest_stat rx_blocks_not_ours) - guest_not_ours ))
rx=$(( $(guest_stat rx_frames) - guest_rx ))
note "the guest consumed $not_ours blocks not for it and was handed $rx frames meanwhile"
[ "$not_ours" -ge 20 ] || fail "the guest consumed only $not_ours blocks not for it during 20 pings between a and b"
[ "$rx" -le 5 ] || fail "the guest was handed $rx frames while a and b pinged each other"

note "b killed: dead in the guest's peers, carrier stays on (a is alive)"
t0=$(date +%s%N)
lab_kill_vnicd b
lab_wait_until 10 "slot 1 dead in the guest" guest_peer_is 1 dead
note "slot 1 dead after $(ms_since "$t0") ms"
guest_carrier_is 1 || fail "the guest lost carrier with a still alive"
lab_stop_vnicd b KILL

note "a stops cleanly: slot 0 stopped, carrier off at once (no peer left)"
t0=$(date +%s%N)
lab_stop_vnicd a
lab_wait_until 5 "carrier off in the guest" eval '! guest_carrier_is 1'
took=$(ms_since "$t0")
note "carrier off $took ms after a's stop; slot 0 $(guest_peer 0)"
guest_peer_is 0 stopped || fail "slot 0 is $(guest_peer 0) in the guest, not stopped"
[ "$took" -lt 1000 ] || fail "carrier went off $took ms after a's clean stop, not within dead_after"
lab_start_vnicd a --lap-after-ms 10000
lab_wait_until 10 "carrier on again in the guest" guest_carrier_is 1
gx "ping -c 2 -W 2 $(lab_addr a)" >/dev/null || fail "the guest cannot ping a after a's restart"

note "a vnicd on the guest's slot 2 is refused, naming the module's node"
mapfile -t argv < <(lab_vnicd_command c)
timeout 20 "${argv[@]}" </dev/null >"$LAB_RUN/c-refused.log" 2>&1 && fail "vnicd took slot 2 from the live module"
grep -q "slot 2 is owned by live node \"$GUEST_NODE\" (vnic0)" "$LAB_RUN/c-refused.log" ||
  { cat "$LAB_RUN/c-refused.log"; fail "vnicd's refusal of slot 2 does not name the guest's module"; }
guest_carrier_is 1 || fail "the guest lost carrier while vnicd watched its slot"

note "down writes a clean stop, and up takes the slot again"
gx "$IP link set vnic0 down" || fail "ip link set vnic0 down failed"
lab_wait_until 5 "a to see slot 2 stopped" host_peer_state_is a 2 stopped
gx "$IP link set vnic0 up" || fail "vnic0 did not take back its cleanly stopped slot"
lab_wait_until 10 "carrier on in the guest after up" guest_carrier_is 1
gx "dmesg | grep 'slot 2 claimed' | tail -n 1" | grep -q "it was stopped cleanly" || fail "the second claim did not find the slot stopped cleanly"
gx "ping -c 2 -W 2 $(lab_addr a)" >/dev/null || fail "the guest cannot ping a after taking its slot back"

note "the guest frozen past dead_after: vnicd c takes slot 2; thawed, the module writes nothing more"
qemu_pid=$(cat "$VM_RUN/$GUEST/qemu.pid")
# A freeze that lands between the guest's read of the table and its record write leaves that
# write to go out at the thaw, over c's claim: the last writer keeps the slot, c finds another
# epoch in it and exits, as the format says. That is the protocol working, not this test's
# subject (a few ms of every 100): such a run is noted and the freeze made again.
for attempt in 1 2 3; do
  kill -STOP "$qemu_pid"
  lab_start_vnicd c
  kill -CONT "$qemu_pid"
  lost=0
  for _ in $(seq 100); do
    gx "grep -q lost $SYS/position" && { lost=1; break; }
    lab_running "$(lab_vnicd_pid c)" || break
    sleep 0.1
  done
  [ $lost = 1 ] && break
  lab_running "$(lab_vnicd_pid c)" && fail "the guest did not find slot 2 taken within 10 s of its thaw"
  note "attempt $attempt: the guest's record write in flight at the freeze took the slot back; c left: $(grep -i slot "$LAB_RUN/c.log" | tail -n 1)"
  lab_stop_vnicd c KILL
  lab_wait_until 10 "carrier on in the guest again" guest_carrier_is 1
done
[ $lost = 1 ] || fail "three freezes in a row landed inside the guest's record write"
error=$(gx "cat $SYS/last_error")
note "guest: $error"
[[ $error == *'slot 2 was taken over by node "c" (vnic0)'* ]] || fail "the guest does not name c as its slot's new owner: '$error'"
lab_wait_until 5 "carrier off in the guest" eval '! guest_carrier_is 1'
writes_before=$(guest_stat state_writes)
blocks_before=$(guest_stat tx_blocks)
gx "ping -c 3 -i 0.2 -W 1 $(lab_addr a)" >/dev/null 2>&1 && fail "the guest still reaches a after losing its slot"
sleep 1
writes=$(( $(guest_stat state_writes) - writes_before ))
blocks=$(( $(guest_stat tx_blocks) - blocks_before ))
[ "$writes" = 0 ] && [ "$blocks" = 0 ] || fail "the module wrote $writes records and $blocks blocks into the slot c took"
lab_running "$(lab_vnicd_pid c)" || fail "c's vnicd stopped: the module wrote into the slot c took"
node_ns c ping -c 2 -W 2 "$(lab_addr a)" >/dev/null || fail "c cannot ping a on the slot it took"
gx "$IP link del vnic0 && rmmod vnic" || fail "could not delete vnic0 and unload"
sleep 0.5
lab_running "$(lab_vnicd_pid c)" || fail "c's vnicd stopped after the module was unloaded"
host_peer_state_is a 2 alive || fail "a sees slot 2 $(host_peer a 2 .state) after the module left: its stop wrote over c"
echo "PASS"
