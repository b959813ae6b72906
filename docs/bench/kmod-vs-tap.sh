#!/usr/bin/env bash
# vnic.ko against vnicd's TAP path on the same emulated guest (the VM harness's quick guest, qemu
# TCG, one vCPU, Debian 12's kernel), each talking to a vnicd on the host over the same volume
# pair (tests/kmod/kmod_lib.sh): the host's ping round trip to the guest, and what an idle link
# costs the guest (its CPU time, from /proc/stat, and its disks' I/Os, from /sys/block/*/stat),
# beside a guest with neither. Usage: docs/bench/kmod-vs-tap.sh [SECONDS] (default 20). Needs
# root and the build (vnicd, vnicctl, udp_probe, vnic-mirror).
set -euo pipefail
seconds=${1:-20}
top=$(cd "$(dirname "$0")/../.." && pwd)
export VNIC_BUILD=${VNIC_BUILD:-$top/build} KMOD_NAME=vnickm-bench
source "$top/tests/kmod/kmod_lib.sh"
KMOD_TOOLS=("$LAB_VNICD")
kmod_setup
start_mirror --lag-ms 0
lab_start_vnicd a
IP=$(guest_tool ip)

# idle_cost LABEL: the guest's busy CPU share and disk I/Os per second over $seconds.
idle_cost() {
  local before after
  before=$(gx "head -n 1 /proc/stat; cat /sys/block/vda/stat /sys/block/vdb/stat")
  sleep "$seconds"
  after=$(gx "head -n 1 /proc/stat; cat /sys/block/vda/stat /sys/block/vdb/stat")
  awk -v label="$1" -v s="$seconds" '
    NR == FNR { if (FNR == 1) { for (i = 2; i <= NF; i++) t0 += $i; i0 = $5 + $6 } else { io0 += $1 + $5 }; next }
    FNR == 1 { for (i = 2; i <= NF; i++) t1 += $i; i1 = $5 + $6; next }
    { io1 += $1 + $5 }
    END { printf "%-28s busy %5.1f%% of the vCPU, %6.0f I/Os per second\n", label, 100 * (1 - (i1 - i0) / (t1 - t0)), (io1 - io0) / s }
  ' <(echo "$before") <(echo "$after")
}
rtt() {
  host_ns ping -c 100 -i 0.1 -W 2 "$GUEST_ADDR" | tail -n 1 | sed "s/^/$1: /"
}

idle_cost "no vnic (baseline)"

guest_vnic_up
lab_wait_until 20 "carrier on in the guest (vnic.ko)" guest_carrier_is 1
lab_wait_link_up a
sleep 2
rtt "vnic.ko ping rtt"
idle_cost "vnic.ko, idle link"
gx "$IP link del vnic0 && rmmod vnic"
lab_wait_until 5 "the host to see vnic.ko's clean stop" host_peer_is stopped

gx "mkdir -p /run/vnic; $(guest_tool vnicd) --send /dev/vdb --recv /dev/vda --ifname vnic0 --address $GUEST_ADDR/24 --control-socket /tmp/vnicd.sock >/tmp/vnicd.log 2>&1 &"
lab_wait_until 30 "vnic0 of the guest's vnicd" gx "test -e /sys/class/net/vnic0"
gx "$IP link set vnic0 up"
lab_wait_until 20 "carrier on in the guest (vnicd)" guest_carrier_is 1
lab_wait_link_up a
sleep 2
rtt "vnicd (TAP) ping rtt"
idle_cost "vnicd (TAP), idle link"
gx "kill \$(pidof vnicd) 2>/dev/null; kill \$(pidof ld-linux-x86-64.so.2) 2>/dev/null; true"
