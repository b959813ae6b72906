#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine, as root: installs every dependency, builds, and
# shows what vnic is for. Two nodes on this machine (network namespaces vnic-demo-a and -b), each
# with a LAN port lan0 (10.77.1.1 and .2, through a bridge in a third namespace, the switch) and
# vnic0 (10.77.0.1 and .2, a vnicd each, frames through two volume files on disk). A corosync
# cluster runs over both links: link0 on the LAN, link1 on vnic0. The demo prints the links and
# quorum, fails the LAN's switch, shows the membership holding through vnic0 alone (and what knet
# logged), restores the LAN, then pings and runs TCP over vnic0, prints both daemons' status, tears
# it all down (also on Ctrl-C), and measures the block transport alone with vnic-bench raw.
# Usage: scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build.sh release

# VNIC_BUILD_DIR (as for scripts/build.sh) runs the demo from another build directory.
build=${VNIC_BUILD_DIR:-build}
export VNIC_LAB=vnic-demo VNIC_BUILD=$PWD/$build
lab=tools/vnic-lab/vnic-lab
# The lab builder's functions, for the questions asked of the cluster below.
source "$lab"
lab_init "$VNIC_LAB"
"$lab" down >/dev/null 2>&1 || true  # a lab left by an interrupted run
trap '"$lab" down' EXIT
trap 'echo; echo "interrupted: tearing the lab down"; exit 130' INT TERM

section() { printf '\n==== %s\n' "$*"; }
corosync_log=$(lab_corosync_dir a)/corosync.log
# cluster_line SIDE: one line of what the cluster tools say on SIDE.
cluster_line() {
  echo "node $1: ring id $(lab_quorum_field "$1" "Ring ID"), quorate $(lab_quorum_field "$1" Quorate)," \
    "members $(lab_quorum_field "$1" Nodes); knet link0 (LAN) $(link_state "$1" 0), link1 (vnic0) $(link_state "$1" 1)"
}
link_state() { [ "$(lab_knet_connected "$1" "$2")" = 1 ] && echo connected || echo down; }
link0_is() { [ "$(lab_knet_connected a 0)" = "$1" ]; }

section "two nodes: lan0 through a switch, vnic0 through the volumes"
"$lab" up --lan

section "a corosync cluster over both: link0 = LAN (priority 20), link1 = vnic0 (priority 10)"
echo "(waiting for quorum, both knet links, and $LAB_KNET_SETTLE_S s for knet to settle)"
"$lab" corosync up
"$lab" exec a corosync-quorumtool -s
"$lab" exec a corosync-cfgtool -n
ring=$(lab_quorum_field a "Ring ID")
log_mark=$(wc -l <"$corosync_log")

section "the LAN's switch fails (its ports leave the bridge; lan0 keeps its carrier)"
t0=$(now_ms)
lab_switch fail
lab_wait_until 10 "knet to declare link0 down" link0_is 0
echo "knet on node a declared link0 down $(( $(now_ms) - t0 )) ms later and moved the cluster's traffic to link1 (vnic0)"
"$lab" exec a ping -c 2 -W 1 10.77.1.2 >/dev/null 2>&1 && echo "(the LAN still answers?)" || echo "ping 10.77.1.2 over the LAN: no answer"
for _ in 1 2 3; do
  sleep 5
  echo "[$(( ($(now_ms) - t0) / 1000 )) s] $(cluster_line a)"
  echo "[$(( ($(now_ms) - t0) / 1000 )) s] $(cluster_line b)"
done
now=$(lab_quorum_field a "Ring ID")
[ "$now" = "$ring" ] && echo "the membership held: ring id $ring before and after" ||
  echo "the membership changed: ring id $ring before, $now after"

section "what corosync logged on node a meanwhile"
tail -n +"$((log_mark + 1))" "$corosync_log" | grep -E "KNET|TOTEM|QUORUM" |
  sed -E 's/^[A-Z][a-z]+ +[0-9]+ ([0-9:.]+) \[[0-9]+\] [^ ]+ corosync [a-z]+ +/\1 /' || echo "(nothing)"

section "the switch comes back"
lab_switch restore
lab_wait_until 10 "knet to bring link0 up again" link0_is 1
cluster_line a
"$lab" exec a corosync-cfgtool -n
"$lab" corosync down

a="ip netns exec $VNIC_LAB-a"
b="ip netns exec $VNIC_LAB-b"
section "ping 10.77.0.1 -> 10.77.0.2 through the volumes"
$a ping -c 5 -i 0.2 10.77.0.2
section "ping 10.77.0.2 -> 10.77.0.1"
$b ping -c 5 -i 0.2 10.77.0.1

section "TCP for 3 seconds over vnic0 (iperf3, A -> B)"
$b iperf3 -s -1 -D -p 5201
sleep 0.3
$a iperf3 -c 10.77.0.2 -p 5201 -t 3

section "status of both daemons"
"$lab" status
"$lab" down

section "the block transport alone: vnic-bench raw on a 256 MiB file volume"
volume=/var/tmp/vnic-demo-raw.vol
rm -f "$volume"
"$build"/tools/vnicctl/vnicctl format "$volume" --size 256M --block-size 64K --label demo
"$build"/tools/vnic-bench/vnic-bench raw --volume "$volume" --block-size 64K --frame-size 1500 --duration 5
rm -f "$volume"
