#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: installs every dependency, builds, and runs a
# two-node vnic lab on this machine: two network namespaces with a vnicd each, volumes as files on
# disk (A's send volume is B's receive volume and the other way round), 10.77.0.1 <-> 10.77.0.2.
# It pings across, runs a short TCP transfer, shows both daemons' status, and tears it all down,
# also on Ctrl-C. Then it measures the block transport alone with vnic-bench raw.
# Usage: sudo scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build.sh release

export VNIC_LAB=vnic-demo
lab=tools/vnic-lab/vnic-lab
"$lab" down >/dev/null 2>&1 || true  # a lab left by an interrupted run
trap '"$lab" down' EXIT
trap 'echo; echo "interrupted: tearing the lab down"; exit 130' INT TERM

echo "== starting the two-node lab"
"$lab" up
a="ip netns exec $VNIC_LAB-a"
b="ip netns exec $VNIC_LAB-b"

echo "== ping 10.77.0.1 -> 10.77.0.2 through the volumes"
$a ping -c 5 -i 0.2 10.77.0.2
echo "== ping 10.77.0.2 -> 10.77.0.1"
$b ping -c 5 -i 0.2 10.77.0.1

echo "== TCP for 3 seconds (iperf3, A -> B)"
$b iperf3 -s -1 -D -p 5201
sleep 0.3
$a iperf3 -c 10.77.0.2 -p 5201 -t 3

echo "== status"
"$lab" status

echo "== the block transport alone: vnic-bench raw on a 256 MiB file volume"
volume=/var/tmp/vnic-demo-raw.vol
rm -f "$volume"
build/tools/vnicctl/vnicctl format "$volume" --size 256M --block-size 64K --label demo
build/tools/vnic-bench/vnic-bench raw --volume "$volume" --block-size 64K --frame-size 1500 --duration 5
rm -f "$volume"
