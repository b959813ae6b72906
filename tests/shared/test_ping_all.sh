#!/usr/bin/env bash
# Four nodes on one shared volume (BACKING: a plain file, or a loop device over it): vnic0 is one
# L2 segment. ARP resolves every node from every other (each one's neighbour table ends with the
# right MAC of every other), a broadcast reaches all (a broadcast ping from each node is answered
# by the three others), and pings between every ordered pair are all answered.
# Usage: test_ping_all.sh file|loop
source "$(dirname "$0")/shared_lib.sh"
require_environment
backing=${1:?usage: test_ping_all.sh file|loop}
[ "$backing" = file ] || command -v losetup >/dev/null || skip "losetup is not installed"
shared_setup 4 "$backing"
note "four nodes on $(shared_volume) ($backing)"
lab_up
for side in $(lab_sides); do
  for peer in $(others $side); do
    peer_state_is $side $peer alive || fail "$side does not see $peer alive: $(peer_json $side $peer)"
  done
done

note "a broadcast ping from each node: answered by the three others"
for side in $(lab_sides); do
  # Linux ignores broadcast echo requests by default.
  ip netns exec "$(lab_ns $side)" sysctl -qw net.ipv4.icmp_echo_ignore_broadcasts=0
done
for side in $(lab_sides); do
  for node in $(lab_sides); do ip -n "$(lab_ns $node)" neigh flush dev vnic0; done
  answered=$({ ip netns exec "$(lab_ns $side)" ping -b -n -i 0.2 -w 2 "$LAB_PREFIX.255" 2>/dev/null || true; } |
    sed -n 's/^[0-9]* bytes from \([0-9.]*\):.*/\1/p' | sort -u | tr '\n' ' ')
  # The node answers its own broadcast too (through its loopback).
  expected=$(for node in $(lab_sides); do lab_addr $node; done | sort | tr '\n' ' ')
  note "broadcast from $side answered by: $answered"
  [ "$answered" = "$expected" ] || fail "a broadcast ping from $side was answered by '$answered', not by '$expected'"
done

note "ping between every ordered pair"
ping_all
macs=$(for side in $(lab_sides); do ip -n "$(lab_ns $side)" -br link show vnic0 | awk '{print $3}'; done)
[ "$(sort -u <<<"$macs" | wc -l)" = "$(lab_sides | wc -w)" ] || fail "two nodes' vnic0 share a MAC: $(tr '\n' ' ' <<<"$macs")"
note "every node's neighbour table holds every other node's MAC"
for side in $(lab_sides); do
  for peer in $(others $side); do
    mac=$(ip -n "$(lab_ns $peer)" -br link show vnic0 | awk '{print $3}')
    seen=$(ip -n "$(lab_ns $side)" neigh show "$(lab_addr $peer)" dev vnic0 | awk '{print $3}')
    [ "$seen" = "$mac" ] || fail "$side resolved $peer ($(lab_addr $peer)) to '$seen', but $peer's vnic0 is $mac"
  done
done
for side in $(lab_sides); do
  [ "$(lost_blocks $side)" = 0 ] || fail "$side lost or skipped blocks: $(status_json $side | jq -c '.peers')"
  [ "$(carrier $side)" = 1 ] || fail "$side has no carrier"
done
echo "PASS"
