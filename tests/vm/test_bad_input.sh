#!/usr/bin/env bash
# Bad input on a booted node, each a unit instance of its own on n1 beside the running vnic0:
#   vnicbad:  a config naming a LUN the node does not have (its by-path link is missing);
#   vnicnone: no /etc/vnic/vnicnone.json at all;
#   vnicram:  a config naming /dev/ram0, a block device the unit's DeviceAllow= does not list
#             (formatted as a vnic volume first, so only the device policy stands in the way).
# Each: a journal line naming what is wrong, the unit not active and not restarting in a loop
# (vnicd exits 78 and RestartPreventExitStatus=78 holds the unit: no restart at all), no interface made,
# nothing written (the missing path stays missing, /dev/ram0's bytes are unchanged).
source "$(dirname "$0")/vm_lib.sh"
vm_fixture_attach

cleanup() {
  vm_exec n1 'for i in vnicbad vnicnone vnicram; do systemctl stop vnicd@$i; systemctl reset-failed vnicd@$i
    rm -f /etc/vnic/$i.json; done; rmmod brd' >/dev/null 2>&1 || true
}
trap cleanup EXIT
missing=$(vm_lun_path 9)
vm_vnic_config n1 vnicbad "$missing" 2 "$(vm_lan_prefix).111/24"
vm_exec n1 'modprobe brd rd_nr=1 rd_size=65536 && vnicctl format /dev/ram0 --slots 4 --block-size 64K >/dev/null' ||
  vm_fail "n1: could not make and format /dev/ram0"
ram_sum=$(vm_exec n1 'md5sum </dev/ram0')
vm_vnic_config n1 vnicram /dev/ram0 2 "$(vm_lan_prefix).112/24"

# check_refused INSTANCE PATTERN [STATUS]: the instance is not active, stays so without restarting,
# has made no interface, its journal has a line matching PATTERN (printed), and vnicd exited
# STATUS when given (not for an instance systemd's own condition kept from starting vnicd).
check_refused() {
  local instance=$1 pattern=$2 status=${3:-}
  vm_exec n1 "systemctl start vnicd@$instance" >/dev/null 2>&1 || true
  vm_wait_for n1 30 "! systemctl is-active -q vnicd@$instance && [ \"\$(systemctl show -p ActiveState --value vnicd@$instance)\" != activating ] &&
    ! systemctl show -p SubState --value vnicd@$instance | grep -q auto-restart" >/dev/null ||
    vm_fail "vnicd@$instance: still active or restarting 30 s after its start"
  local restarts state
  restarts=$(vm_exec n1 "systemctl show -p NRestarts --value vnicd@$instance")
  sleep 3
  state=$(vm_exec n1 "systemctl show -p ActiveState -p SubState -p Result -p NRestarts vnicd@$instance | tr '\n' ' '")
  echo "vnicd@$instance: $state"
  [ "$(vm_exec n1 "systemctl show -p NRestarts --value vnicd@$instance")" = "$restarts" ] ||
    vm_fail "vnicd@$instance keeps restarting ($restarts restarts, then more)"
  # vnicd exits 78 (EX_CONFIG) on a refusal and the unit's RestartPreventExitStatus=78 holds it.
  [ "$restarts" = 0 ] || vm_fail "vnicd@$instance restarted $restarts times after a refusal (exit 78 should stop it)"
  if [ -n "$status" ]; then
    vm_exec n1 "systemctl show -p ExecMainStatus --value vnicd@$instance" | grep -qx "$status" ||
      vm_fail "vnicd@$instance: vnicd's exit status is not $status"
  fi
  ! vm_exec n1 "ip link show $instance" >/dev/null 2>&1 || vm_fail "vnicd@$instance made the interface $instance"
  local line
  line=$(vm_exec n1 "journalctl -u vnicd@$instance --no-pager -o cat | grep -E -- '$pattern' | head -n 1") ||
    { vm_journal n1 vnicd@$instance; vm_fail "vnicd@$instance: no journal line matching '$pattern'"; }
  echo "vnicd@$instance's journal: $line"
}

check_refused vnicbad "$missing" 78
vm_exec n1 "[ ! -e '$missing' ]" || vm_fail "vnicd@vnicbad created $missing"
check_refused vnicnone "/etc/vnic/vnicnone.json"
check_refused vnicram "/dev/ram0" 78
[ "$(vm_exec n1 'md5sum </dev/ram0')" = "$ram_sum" ] || vm_fail "vnicd@vnicram wrote to /dev/ram0"
# The running instance is untouched by its neighbours' failures.
[ "$(vm_carrier n2)" = 1 ] && [ "$(vm_carrier n1)" = 1 ] || vm_fail "vnic0 lost carrier during the bad-input checks"
echo PASS
