#!/usr/bin/env bash
# Ping across vnic0 between the two guests, each way, over the iSCSI LUN (the vnic0 subnet is on
# no other interface): no loss.
source "$(dirname "$0")/vm_lib.sh"
vm_fixture_attach

for node in "${VM_NODES[@]}"; do
  peer=$(vm_peer $node)
  out=$(vm_exec $node --timeout 60 "ping -I vnic0 -c 10 -i 0.2 -W 5 $(vm_vnic_addr $peer)") ||
    { echo "$out"; vm_fail "$node: ping across vnic0 to $peer failed"; }
  echo "---- $node -> $peer"
  tail -n 2 <<<"$out"
  grep -q " 0% packet loss" <<<"$out" || vm_fail "$node: ping to $peer lost packets"
done
echo PASS
