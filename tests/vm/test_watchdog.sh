#!/usr/bin/env bash
# A SIGSTOPped vnicd stops sending WATCHDOG=1; systemd kills it after the unit's WatchdogSec
# (10 s after its last ping) and restarts it (Restart=always): a new vnicd within WatchdogSec +
# RestartSec + its start (bound 30 s: TCG starts vnicd in seconds), the journal names the watchdog,
# and both nodes have carrier again.
source "$(dirname "$0")/vm_lib.sh"
vm_fixture_attach

pid=$(vm_main_pid n2 vnicd@vnic0)
restarts=$(vm_exec n2 'systemctl show -p NRestarts --value vnicd@vnic0')
watchdog_us=$(vm_exec n2 'systemctl show -p WatchdogUSec --value vnicd@vnic0')
echo "n2: vnicd $pid, WatchdogUSec=$watchdog_us, NRestarts=$restarts"
vm_exec n2 "kill -STOP $pid"
took=$(vm_wait_for n2 30 "p=\$(systemctl show -p MainPID --value vnicd@vnic0); [ \"\$p\" != $pid ] && [ \"\$p\" != 0 ] && systemctl is-active -q vnicd@vnic0") ||
  vm_fail "n2: vnicd $pid was not replaced within 30 s of its SIGSTOP"
echo "n2: a new vnicd ($(vm_main_pid n2 vnicd@vnic0)) active ${took} ms after the SIGSTOP"
# vnicd pings every WatchdogSec / 2, so its last ping came 0 to 5 s before the SIGSTOP.
[ "$took" -ge 4500 ] || vm_fail "n2: replaced after $took ms, before WatchdogSec / 2: not the watchdog's doing?"
vm_exec n2 "journalctl -u vnicd@vnic0 --no-pager -o cat | grep -i 'watchdog timeout'" ||
  vm_fail "n2: the journal does not name the watchdog"
[ "$(vm_exec n2 'systemctl show -p NRestarts --value vnicd@vnic0')" -gt "$restarts" ] || vm_fail "n2: NRestarts did not grow"
for node in n1 n2; do
  took=$(vm_wait_for $node 10 '[ "$(cat /sys/class/net/vnic0/carrier)" = 1 ]') || vm_fail "$node: no carrier after the restart"
done
echo PASS
