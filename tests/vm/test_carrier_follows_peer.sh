#!/usr/bin/env bash
# vnic0's carrier follows the other node's vnicd: `systemctl stop vnicd@vnic0` on n2 drops n1's
# carrier (n2's clean stop), `systemctl start` brings it back on both. How fast the drop is, is
# vm.stop_carrier_latency's; here the bounds only say it happened, with TCG's slack.
source "$(dirname "$0")/vm_lib.sh"
vm_fixture_attach

trap 'vm_exec n2 "systemctl start vnicd@vnic0" >/dev/null 2>&1 || true' EXIT
[ "$(vm_carrier n1)" = 1 ] || vm_fail "n1: vnic0 has no carrier before the test"
vm_exec n2 'systemctl stop vnicd@vnic0' || vm_fail "n2: systemctl stop failed"
took=$(vm_wait_for n1 5 '[ "$(cat /sys/class/net/vnic0/carrier)" = 0 ]') || vm_fail "n1: carrier still on 5 s after n2's vnicd stopped"
echo "n1: carrier off ${took} ms after n2's systemctl stop returned"
vm_exec n2 'ip link show vnic0 >/dev/null' || vm_fail "n2: vnic0 is gone after a clean stop (keep_interface is on by default)"
[ "$(vm_carrier n2)" = 0 ] || vm_fail "n2: vnic0 keeps its carrier without a vnicd"
sleep 2
[ "$(vm_carrier n1)" = 0 ] || vm_fail "n1: carrier came back while n2's vnicd is stopped"

vm_exec n2 'systemctl start vnicd@vnic0' || vm_fail "n2: systemctl start failed"
# The restarted node sees n1 at its first table read, n1 sees n2's new epoch at its next
# heartbeat: well under a second natively; 10 s for TCG's slow start of vnicd.
for node in n1 n2; do
  took=$(vm_wait_for $node 10 '[ "$(cat /sys/class/net/vnic0/carrier)" = 1 ]') || vm_fail "$node: no carrier 10 s after n2's vnicd started"
  echo "$node: carrier on ${took} ms after n2's systemctl start returned"
done
trap - EXIT
echo PASS
