#!/usr/bin/env bash
# A package upgrade on a running node: n1 installs the same vnic as a newer version with apt
# while vnicd@vnic0 runs. The instance is restarted (a new vnicd: the new binary runs), is active,
# /etc/vnic/vnic0.json is what it was, and both nodes have carrier again.
source "$(dirname "$0")/vm_lib.sh"
vm_fixture_attach

share=$VM_RUN/share
deb=$(ls "$share"/vnic_*.deb | grep -v '+vmup' | head -n 1)
# A suffix that grows with time: newer than the package and than any earlier run's upgrade.
suffix=vmup$(date +%s)
upgrade=$(vm_bump_deb "$deb" "$suffix" "$share")
before=$(vm_exec n1 "dpkg-query -W -f '\${Version}' vnic")
config_sum=$(vm_exec n1 'sha256sum /etc/vnic/vnic0.json')
pid=$(vm_main_pid n1 vnicd@vnic0)
echo "n1: vnic $before, vnicd $pid; upgrading to $(basename "$upgrade")"
vm_install_deb n1 "/mnt/host/$(basename "$upgrade")"
after=$(vm_exec n1 "dpkg-query -W -f '\${Version}' vnic")
[ "$after" = "${before%%+vmup*}+$suffix" ] || vm_fail "n1: vnic is $after after the upgrade, expected ${before%%+vmup*}+$suffix"
[ "$(vm_exec n1 'sha256sum /etc/vnic/vnic0.json')" = "$config_sum" ] || vm_fail "n1: the upgrade changed /etc/vnic/vnic0.json"
took=$(vm_wait_for n1 20 'systemctl is-active -q vnicd@vnic0') || vm_fail "n1: vnicd@vnic0 is not active after the upgrade"
new_pid=$(vm_main_pid n1 vnicd@vnic0)
echo "n1: vnic $after, vnicd $new_pid"
[ "$new_pid" != "$pid" ] || vm_fail "n1: the upgrade did not restart vnicd@vnic0 (still pid $pid, running the old binary)"
vm_exec n1 "[ \"\$(readlink /proc/$new_pid/exe)\" = /usr/sbin/vnicd ]" || vm_fail "n1: vnicd $new_pid does not run /usr/sbin/vnicd"
for node in n1 n2; do
  vm_wait_for $node 10 '[ "$(cat /sys/class/net/vnic0/carrier)" = 1 ]' >/dev/null || vm_fail "$node: no carrier after the upgrade"
done
echo PASS
