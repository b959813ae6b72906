#!/bin/bash
# What an idle node of a shared LUN costs, for N = 2, 4 and 8 nodes on one volume: CPU and I/Os per
# second of every vnicd over SECONDS, with no traffic at all (a truly idle segment). The I/Os are
# vnicd's own counters (vnicctl status): block writes, ring reads, state-table reads and record
# writes. Flat in N is the point: one table read shows every writer.
# Usage (as root): docs/bench/shared-idle.sh [SECONDS] [-- VNICD FLAGS]   (VNIC_BUILD: a build directory)
set -euo pipefail
export VNIC_LAB=${VNIC_LAB:-sidle} VNIC_LAB_ADDR_PREFIX=10.77.45 VNIC_LAB_LAN_PREFIX=10.77.46
source "$(dirname "$0")/idle_lib.sh"
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
