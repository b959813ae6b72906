#!/bin/bash
# What an idle node of a shared LUN costs, for N = 2, 4 and 8 nodes on one volume: CPU and I/Os per
# second of every vnicd over SECONDS, with no traffic at all (a truly idle segment). The I/Os are
# vnicd's own counters (vnicctl status): block writes, ring reads, state-table reads and record
# writes. Flat in N is the point: one table read shows every writer.
# Usage (as root): docs/bench/shared-idle.sh [SECONDS] [-- VNICD FLAGS]   (VNIC_BUILD: a build directory)
set -euo pipefail
seconds=${1:-20}
[ $# -gt 0 ] && shift
[ "${1:-}" = -- ] && shift
vnicd_flags=("$@")
top=$(cd "$(dirname "$0")/../.." && pwd)
export VNIC_LAB=${VNIC_LAB:-sidle} VNIC_BUILD=${VNIC_BUILD:-$top/build}
export VNIC_LAB_ADDR_PREFIX=10.77.45 VNIC_LAB_LAN_PREFIX=10.77.46
lab=$top/tools/vnic-lab/vnic-lab
"$lab" down >/dev/null 2>&1 || true
trap '"$lab" down >/dev/null 2>&1' EXIT

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }  # utime + stime, in clock ticks
ios() { "$VNIC_BUILD/tools/vnicctl/vnicctl" status --socket "$("$lab" socket "$1")" --json |
  jq '[.tx.blocks, .rx.reads, .counters.state_reads, .counters.state_writes] | map(. // 0) | add'; }
hz=$(getconf CLK_TCK)
sides=(a b c d e f g h)

for n in 2 4 8; do
  "$lab" up --shared --nodes "$n" -- "${vnicd_flags[@]}" >/dev/null
  sleep 3  # past the start: every reader attached and parked
  declare -A c0 i0
  for side in "${sides[@]:0:n}"; do c0[$side]=$(cpu_ticks "$("$lab" pid "$side")"); i0[$side]=$(ios "$side"); done
  t0=$(date +%s%N)
  sleep "$seconds"
  t1=$(date +%s%N)
  cpu=0 io=0
  for side in "${sides[@]:0:n}"; do
    cpu=$(( cpu + $(cpu_ticks "$("$lab" pid "$side")") - c0[$side] ))
    io=$(( io + $(ios "$side") - i0[$side] ))
  done
  awk -v n="$n" -v c="$cpu" -v hz="$hz" -v io="$io" -v ns="$((t1 - t0))" \
    'BEGIN { t = ns / 1e9; printf "N = %d nodes, idle: per node %5.2f%% of a core, %6.1f I/Os per s\n", n, 100 * c / hz / t / n, io / t / n }'
  "$lab" down >/dev/null 2>&1
  unset c0 i0
done
