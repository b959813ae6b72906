#!/usr/bin/env bash
# A mirrored pair beside the shared LUN: vnic1 on both nodes with a send and a receive volume
# (docs/CONFIG.md's `send`/`recv`), LUN 2 n1's send volume and n2's receive volume, LUN 3 the
# other way (the one file behind the target plays the array's mirror). Each node formats its own
# send volume, as README's "Using it on two real nodes" says; vnicd@vnic1 starts on both, both
# have carrier, ping crosses vnic1 both ways, and a stop on one drops the other's carrier.
source "$(dirname "$0")/vm_lib.sh"
vm_fixture_attach

trap 'for n in "${VM_NODES[@]}"; do vm_exec $n "systemctl stop vnicd@vnic1; ip link del vnic1; rm -f /etc/vnic/vnic1.json" >/dev/null 2>&1 || true; done' EXIT
pair_prefix=10.77.$((VM_SUBNET + 3))
for n in "${VM_NODES[@]}"; do
  send=$(vm_lun_path $([ $n = n1 ] && echo 2 || echo 3))
  recv=$(vm_lun_path $([ $n = n1 ] && echo 3 || echo 2))
  vm_exec $n "vnicctl format $send --block-size 64K --label $n-send --force >/dev/null && cat >/etc/vnic/vnic1.json <<JSON
{
  \"send\": \"$send\",
  \"recv\": \"$recv\",
  \"addresses\": [\"$pair_prefix.$(vm_node_number $n)/24\"]
}
JSON" || vm_fail "$n: could not format $send"
done
for n in "${VM_NODES[@]}"; do
  vm_exec $n 'systemctl start vnicd@vnic1 && ip link set vnic1 up' || { vm_journal $n vnicd@vnic1; vm_fail "$n: vnicd@vnic1 did not start"; }
done
for n in "${VM_NODES[@]}"; do
  took=$(vm_wait_for $n 20 '[ "$(cat /sys/class/net/vnic1/carrier)" = 1 ]') || { vm_journal $n vnicd@vnic1; vm_fail "$n: no carrier on vnic1"; }
  echo "$n: vnic1 carrier on ${took} ms after both started"
done
for n in "${VM_NODES[@]}"; do
  p=$(vm_peer $n)
  out=$(vm_exec $n "ping -I vnic1 -c 5 -i 0.2 -W 5 $pair_prefix.$(vm_node_number $p)") || { echo "$out"; vm_fail "$n: ping across vnic1 failed"; }
  grep -q " 0% packet loss" <<<"$out" || vm_fail "$n: ping across vnic1 lost packets"
  echo "$n -> $p over the pair: $(tail -n 1 <<<"$out")"
done
vm_exec n2 'systemctl stop vnicd@vnic1'
took=$(vm_wait_for n1 5 '[ "$(cat /sys/class/net/vnic1/carrier)" = 0 ]') || vm_fail "n1: vnic1 keeps carrier after n2's vnicd@vnic1 stopped"
echo "n1: vnic1 carrier off ${took} ms after n2's systemctl stop returned"
echo PASS
