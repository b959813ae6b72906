#!/usr/bin/env bash
# The packaged unit under a real systemd (PID 1 of a booted Debian 12): vnicd@vnic0 is active on
# both nodes and its vnicd runs as the user vnic with CAP_NET_ADMIN alone (effective and
# permitted), no inheritable or ambient capabilities, an empty bounding set, no groups,
# no_new_privs, a seccomp filter, and SCHED_RR at priority 40 (the unit's CPUScheduling*).
source "$(dirname "$0")/vm_lib.sh"
vm_fixture_attach

cap_net_admin=0000000000001000  # 1 << CAP_NET_ADMIN (12)
for node in "${VM_NODES[@]}"; do
  [ "$(vm_exec $node 'ps -p 1 -o comm=')" = systemd ] || vm_fail "$node: PID 1 is not systemd"
  [ "$(vm_exec $node 'systemctl is-active vnicd@vnic0' || true)" = active ] || vm_fail "$node: vnicd@vnic0 is not active"
  status=$(vm_exec $node 'pid=$(systemctl show -p MainPID --value vnicd@vnic0); echo "vnic_uid: $(id -u vnic)"
    echo "comm: $(cat /proc/$pid/comm)"; grep -E "^(Uid|Gid|Groups|Cap[A-Za-z]+|NoNewPrivs|Seccomp):" /proc/$pid/status
    echo "policy: $(chrt -p $pid | tr "\n" " ")"')
  echo "---- $node: vnicd's /proc/PID/status"
  echo "$status"
  field() { awk -v k="$1:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' <<<"$status"; }
  uid=$(field vnic_uid)
  [ "$(field comm)" = vnicd ] || vm_fail "$node: the unit's main process is '$(field comm)', not vnicd"
  [ "$(field Uid)" = "$uid $uid $uid $uid" ] || vm_fail "$node: vnicd's Uid is '$(field Uid)', not vnic ($uid) throughout"
  [ "$(field CapEff)" = $cap_net_admin ] || vm_fail "$node: CapEff $(field CapEff), expected $cap_net_admin (CAP_NET_ADMIN alone)"
  [ "$(field CapPrm)" = $cap_net_admin ] || vm_fail "$node: CapPrm $(field CapPrm), expected $cap_net_admin"
  for cap in CapInh CapAmb CapBnd; do
    [ "$(field $cap)" = 0000000000000000 ] || vm_fail "$node: $cap is $(field $cap), expected none"
  done
  [ -z "$(field Groups)" ] || vm_fail "$node: vnicd has supplementary groups '$(field Groups)'"
  [ "$(field NoNewPrivs)" = 1 ] || vm_fail "$node: no_new_privs is not set"
  [ "$(field Seccomp)" = 2 ] || vm_fail "$node: no seccomp filter (Seccomp: $(field Seccomp))"
  grep -q "SCHED_RR" <<<"$(field policy)" && grep -q "priority: 40" <<<"$(field policy)" ||
    vm_fail "$node: vnicd runs '$(field policy)', not SCHED_RR at 40"
done
echo PASS
