#!/usr/bin/env bash
# Unicast between two nodes of four is not read by the other two: once a node has learned where an
# address lives (from the source addresses the segment delivers, as a learning bridge does), its
# blocks for that address name one slot (docs/FORMAT.md, version 2 blocks), and the other nodes
# pass them over without decoding them, and without reading the payload past the first logical
# block. Broadcast still reaches all, and an address whose node restarted is flooded again until
# that node speaks (no frame is lost to a stale entry).
source "$(dirname "$0")/shared_lib.sh"
require_environment
COUNT=${COUNT:-200}
shared_setup 4 file
lab_up
ping_all  # every node has spoken: every address is learned

# rx_from SIDE PEER FIELD: a number from SIDE's reader of PEER.
rx_from() { peer_json "$1" "$2" | jq ".rx.$3"; }
directed() { status_json "$1" | jq .learning.frames_directed; }

declare -A frames_before passed_before
for side in c d; do
  for peer in a b; do
    frames_before[$side$peer]=$(rx_from $side $peer frames)
    passed_before[$side$peer]=$(rx_from $side $peer not_for_us_blocks)
  done
done
saved_before=$(status_json c | jq .rx.payload_reads_saved)
directed_a=$(directed a)
directed_b=$(directed b)

note "a pings b $COUNT times with 6000-byte payloads (each frame's block spans past its first 4 KiB)"
ip netns exec "$(lab_ns a)" ping -c "$COUNT" -i 0.01 -s 6000 -W 2 -q "$(lab_addr b)" >/dev/null ||
  fail "ping a -> b lost packets"

# Each 6000-byte ICMP message is a TSO-free frame of ~6 KiB; ARP/ND and MLD may add a few frames
# for everyone. The bystanders may deliver a handful, never the exchange itself.
for side in c d; do
  for peer in a b; do
    got=$(( $(rx_from $side $peer frames) - frames_before[$side$peer] ))
    passed=$(( $(rx_from $side $peer not_for_us_blocks) - passed_before[$side$peer] ))
    note "$side from $peer: $got frames delivered, $passed blocks passed over"
    [ "$got" -lt $((COUNT / 10)) ] || fail "$side delivered $got frames of the a<->b exchange (not for it)"
    [ "$passed" -ge $((COUNT * 9 / 10)) ] || fail "$side passed over only $passed of $peer's blocks"
  done
done
[ $(( $(directed a) - directed_a )) -ge "$COUNT" ] || fail "a sent fewer than $COUNT frames to one slot: $(status_json a | jq -c .learning)"
[ $(( $(directed b) - directed_b )) -ge "$COUNT" ] || fail "b sent fewer than $COUNT frames to one slot: $(status_json b | jq -c .learning)"
saved=$(( $(status_json c | jq .rx.payload_reads_saved) - saved_before ))
note "c left the payload of $saved blocks unread"
[ "$saved" -gt 0 ] || fail "c read the payload of every block it passed over"

note "broadcast still reaches every node"
ip netns exec "$(lab_ns a)" sysctl -qw net.ipv4.icmp_echo_ignore_broadcasts=0
for side in b c d; do ip netns exec "$(lab_ns $side)" sysctl -qw net.ipv4.icmp_echo_ignore_broadcasts=0; done
answered=$({ ip netns exec "$(lab_ns a)" ping -b -n -c 3 -i 0.2 -W 1 "$LAB_PREFIX.255" 2>/dev/null || true; } |
  sed -n 's/^[0-9]* bytes from \([0-9.]*\):.*/\1/p' | sort -u | wc -l)
[ "$answered" = 4 ] || fail "a broadcast ping from a was answered by $answered nodes, not 4"

for side in $(lab_sides); do
  [ "$(lost_blocks $side)" = 0 ] || fail "$side lost or skipped blocks: $(status_json $side | jq -c '.peers')"
done

note "b's vnicd is killed and restarts (a new epoch in its slot): a floods to b's address until b speaks"
stop_node b KILL
t0=$(now_ms)
start_node b --dead-after-ms "$DEAD_AFTER_MS"
peer_state_within a b alive "$t0" $((DEAD_AFTER_MS + SHARED_MARGIN_MS)) >/dev/null
wait_link_up b
flooded=$(status_json a | jq .learning.frames_flooded)
ip netns exec "$(lab_ns a)" ping -c 20 -i 0.02 -W 2 -q "$(lab_addr b)" >/dev/null || fail "ping a -> b after b's restart lost packets"
[ "$(status_json a | jq .learning.frames_flooded)" -gt "$flooded" ] || fail "a never flooded to b's address after b's restart"
echo "PASS"
