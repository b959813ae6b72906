#!/usr/bin/env bash
# A vnicd crash is not a NIC going away: kill -9 A's vnicd while its supervisor (a loop doing what
# the unit's Restart=always, RestartSec=100ms does) restarts it. vnic0 keeps its ifindex, address
# and route (a persistent TAP, re-attached by the new vnicd), carrier comes back on both sides,
# frames flow again, and the outage is measured and printed: what bounds it is the restart delay
# + vnicd's start + one heartbeat for each side to see the other alive. B's carrier must not flap
# (the outage is well inside its dead_after), which is what keeps corosync's membership. A clean
# stop leaves vnic0 in place without carrier (keep_interface), and --keep-interface off removes it.
source "$(dirname "$0")/lib.sh"
require_environment
command -v ping >/dev/null || fail "ping is not installed"
restart_delay=0.1  # the lab supervisor's, as the unit's RestartSec=
lab_setup 64K

# The lab's supervisor: a restart loop like the unit's Restart=always, RestartSec=100ms.
LAB_SUPERVISE=1 start_node a
start_node b
wait_link_up a
wait_link_up b
[ "$(status_field a .interface.reattached)" = false ] || fail "A's first start says it re-attached"

# What a cluster admin put on the interface: a route through the peer (the address is vnicd's).
ip netns exec "$NS_A" ip route add 10.77.212.0/24 via "$ADDR_B" dev vnic0
ifindex_before=$(ip netns exec "$NS_A" cat /sys/class/net/vnic0/ifindex)
flaps_b_before=$(status_field b .counters.carrier_changes)
ip netns exec "$NS_A" ping -c 3 -i 0.1 -W 2 "$ADDR_B" >/dev/null || fail "ping before the crash"

note "pings every 10 ms from B to A across the crash"
ip netns exec "$NS_B" ping -D -i 0.01 -W 1 -w 8 "$ADDR_A" >"$E2E_RUN/ping.txt" 2>&1 &
pinger=$!
# And A's own traffic across it, as corosync's knet on A keeps sending while its vnicd restarts.
ip netns exec "$NS_A" ping -D -i 0.02 -W 1 -w 8 "$ADDR_B" >"$E2E_RUN/ping_a.txt" 2>&1 &
pinger_a=$!
sleep 2
old_pid=$(cat "$E2E_RUN/a.pid")
kill_ns=$(date +%s%N)
lab_kill_vnicd a
note "kill -9 A's vnicd (pid $old_pid); its supervisor restarts it after ${restart_delay}s"

# The steps of the outage, from the kill: the supervisor starts a new vnicd (the restart delay),
# it answers on its control socket (its start), A's carrier comes on (it saw B's heartbeat move),
# and B's reader follows A's new epoch. B's carrier is sampled all along.
since_kill() { echo $(( ($(date +%s%N) - kill_ns) / 1000000 )); }
b_min=1
watch_b() { [ "$(carrier b)" = 1 ] || b_min=0; }
until [ "$(cat "$E2E_RUN/a.pid" 2>/dev/null)" != "$old_pid" ] && [ -s "$E2E_RUN/a.pid" ]; do
  watch_b
  [ "$(since_kill)" -le 10000 ] || fail "the supervisor did not restart A's vnicd within 10 s"
  sleep 0.002
done
spawned_ms=$(since_kill)
new_pid=$(cat "$E2E_RUN/a.pid")
until status_json a >/dev/null 2>&1; do
  watch_b
  [ "$(since_kill)" -le 10000 ] || fail "A's new vnicd did not answer within 10 s of the kill"
  sleep 0.002
done
ready_ms=$(since_kill)
until carrier_is a 1; do
  watch_b
  [ "$(since_kill)" -le 10000 ] || fail "carrier on A did not come back within 10 s of the kill"
  sleep 0.002
done
a_back_ms=$(since_kill)
new_epoch=$(status_field a .tx.epoch)
until [ "$(status_field b .rx.epoch)" = "$new_epoch" ]; do
  watch_b
  [ "$(since_kill)" -le 10000 ] || fail "B did not follow A's new epoch within 10 s of the kill"
  sleep 0.002
done
b_follows_ms=$(since_kill)
watch_b
note "after the kill: new vnicd (pid $new_pid) at $spawned_ms ms, answering at $ready_ms ms, carrier on A at $a_back_ms ms,"
note "        B following A's new epoch at $b_follows_ms ms"
wait $pinger || true
wait $pinger_a || true

[ "$(ip netns exec "$NS_A" cat /sys/class/net/vnic0/ifindex)" = "$ifindex_before" ] ||
  fail "vnic0 on A is a new interface: the TAP did not survive the crash"
ip netns exec "$NS_A" ip -4 addr show dev vnic0 | grep -q "inet $ADDR_A/24" || fail "A's address did not survive"
ip netns exec "$NS_A" ip route show 10.77.212.0/24 | grep -q "via $ADDR_B" || fail "A's route did not survive"
[ "$(status_field a .interface.reattached)" = true ] || fail "A's new vnicd does not say it re-attached"
grep -q "re-attached to the persistent TAP" "$E2E_RUN/a.log" || fail "A did not log the re-attach"
grep -q "address $ADDR_A/24 already there" "$E2E_RUN/a.log" || fail "A did not treat its address as already there"
wait_until 5 "carrier on B" carrier_is b 1
wait_until 5 "B to follow A's new epoch" test "$(status_field b .rx.epoch_changes)" -ge 1
flaps_b=$(( $(status_field b .counters.carrier_changes) - flaps_b_before ))

# The outage as traffic saw it: the longest gap between two ping replies, and the replies lost.
read -r sent replies gap_ms p99_ms < <(awk -f "$(dirname "$0")/ping_stats.awk" "$E2E_RUN/ping.txt")
read -r _ _ gap_a_ms _ < <(awk -f "$(dirname "$0")/ping_stats.awk" "$E2E_RUN/ping_a.txt")
# Traffic back: the first reply after the kill that came after a pause of more than 100 ms (one
# reply may still arrive just after the kill; the ping interval is 10 ms).
first_reply_ms=$(awk -v kill_ms=$((kill_ns / 1000000)) '/bytes from/ {
    t = substr($1, 2, length($1) - 2) * 1000
    if (t > kill_ms && t - last > 100) { printf "%.0f\n", t - kill_ms; exit }
    last = t }' "$E2E_RUN/ping.txt")
note "outage: carrier on A back $a_back_ms ms after the kill; B's carrier $( [ $b_min = 1 ] && echo "never dropped" || echo "dropped") ($flaps_b changes);"
note "        pings: $replies of $sent answered, first reply ${first_reply_ms} ms after the kill, longest gap between replies ${gap_ms} ms, p99 rtt ${p99_ms} ms"
note "        A's own pings to B: longest gap between replies ${gap_a_ms} ms"
note "        neighbour entries on A: $(ip netns exec "$NS_A" ip neigh show dev vnic0 | tr '\n' ';')"
echo "OUTAGE restart_delay_ms=100 spawned_ms=$spawned_ms ready_ms=$ready_ms carrier_a_back_ms=$a_back_ms b_follows_ms=$b_follows_ms carrier_b_flaps=$flaps_b first_reply_ms=$first_reply_ms ping_gap_ms=$gap_ms ping_a_gap_ms=$gap_a_ms ping_sent=$sent ping_replies=$replies"

# Behaviour the cluster relies on: B never saw a link-down (knet's link timeout is 1.5 s, B's
# dead_after 1 s), and A's side was back well inside knet's timeout.
[ "$flaps_b" = 0 ] || fail "B's carrier changed $flaps_b times during A's restart"
[ "$a_back_ms" -le 1500 ] || fail "A's carrier took $a_back_ms ms to come back (knet's link timeout is 1500 ms)"
# Traffic follows A's carrier within a few round trips. A's kernel answered B's first pings while
# A's carrier was still off (its qdisc dropped the ARP request that needed, and the INCOMPLETE
# entry left behind asks again only after retrans_time_ms, 1 s): at link-up vnicd makes such
# entries ask again at once. Without that, the gap is carrier-back + up to a second. The slack is for round trips over the volumes on a loaded machine
# (twice that for ASan, 2-3x slower).
slack_ms=300
ldd "$VNIC_BUILD/daemon/vnicd" 2>/dev/null | grep -q libasan && slack_ms=600
[ "$gap_ms" -le $(( a_back_ms + slack_ms )) ] ||
  fail "traffic came back ${gap_ms} ms after it stopped, though A's carrier was back at ${a_back_ms} ms (allowed: ${slack_ms} ms more)"
[ "$gap_ms" -le 1500 ] || fail "pings stopped for ${gap_ms} ms (knet's link timeout is 1500 ms)"
# A's own packets sent while its carrier was off leave the same INCOMPLETE entry; they wait on it
# and go out once it resolves, never failed back to the sender (ping -w would stop at an error).
! grep -q "Unreachable" "$E2E_RUN/ping_a.txt" || fail "A's own pings were failed back: $(grep -m1 Unreachable "$E2E_RUN/ping_a.txt")"
a_replies_after=$(awk -v after_ms=$((kill_ns / 1000000 + a_back_ms)) \
  '/bytes from/ && substr($1, 2, length($1) - 2) * 1000 > after_ms { n++ } END { print n + 0 }' "$E2E_RUN/ping_a.txt")
[ "$a_replies_after" -gt 0 ] || fail "A's own pings got no reply after its carrier came back"
[ "$gap_a_ms" -le $(( a_back_ms + slack_ms )) ] ||
  fail "A's own pings came back ${gap_a_ms} ms after they stopped, though A's carrier was back at ${a_back_ms} ms"
ip netns exec "$NS_A" ping -c 3 -i 0.1 -W 2 "$ADDR_B" >/dev/null || fail "ping after the restart"

note "a clean stop keeps vnic0 (without carrier, address kept); the next start re-attaches"
stop_node a TERM  # ends the supervision first
grep -q "stopped cleanly" "$E2E_RUN/a.log" || fail "A did not stop cleanly"
ip netns exec "$NS_A" ip link show vnic0 >/dev/null 2>&1 || fail "a clean stop removed vnic0"
carrier_is a 0 || fail "vnic0 kept carrier after a clean stop"
ip netns exec "$NS_A" ip -4 addr show dev vnic0 | grep -q "inet $ADDR_A/24" || fail "a clean stop removed the address"
wait_until 2 "carrier off on B after A's clean stop" carrier_is b 0
grep -q "the interface stays, without carrier" "$E2E_RUN/a.log" || fail "A did not log that vnic0 stays"

note "--keep-interface off: a clean stop removes it"
start_node a --keep-interface off
wait_link_up a
[ "$(status_field a .interface.reattached)" = true ] || fail "A did not re-attach after its clean stop"
[ "$(status_field a .interface.keep_interface)" = false ] || fail "status does not show keep_interface off"
stop_node a TERM
! ip netns exec "$NS_A" ip link show vnic0 >/dev/null 2>&1 || fail "--keep-interface off left vnic0 behind"
echo "PASS"
