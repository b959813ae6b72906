#!/bin/bash
# What an idle cluster costs each vnicd: CPU and I/Os per second, measured over SECONDS in three
# states of one vnic-lab with a LAN: no corosync (a truly idle link), a 2-node corosync with the
# LAN up (knet pings link1 = vnic0), and the same with the LAN's switch failed (all of corosync's
# traffic on vnic0). The I/Os are vnicd's own counters (vnicctl status): block writes, data reads,
# state-record reads and writes.
# Usage (as root): docs/bench/cluster-idle.sh [SECONDS] [-- VNICD FLAGS]
#   (VNIC_BUILD: a build directory; the flags go to every vnicd, e.g. -- --poll-park-ms 0)
set -euo pipefail
export VNIC_LAB=${VNIC_LAB:-cost} VNIC_LAB_ADDR_PREFIX=10.77.40 VNIC_LAB_LAN_PREFIX=10.77.41
source "$(dirname "$0")/idle_lib.sh"

measure() {
  local what=$1 side pid t0 t1 c0 c1 i0 i1 f0 f1
  sleep 2  # past the reader's spin phase after whatever set this state up
  declare -A c0 i0 f0
  for side in a b; do pid=$("$lab" pid $side); c0[$side]=$(cpu_ticks "$pid"); i0[$side]=$(ios $side); f0[$side]=$(frames $side); done
  t0=$(date +%s%N)
  sleep "$seconds"
  t1=$(date +%s%N)
  for side in a b; do
    pid=$("$lab" pid $side)
    awk -v w="$what" -v s=$side -v c="$(( $(cpu_ticks "$pid") - c0[$side] ))" -v hz="$hz" \
      -v io="$(( $(ios $side) - i0[$side] ))" -v fr="$(( $(frames $side) - f0[$side] ))" -v ns="$((t1 - t0))" \
      'BEGIN { t = ns / 1e9; printf "%-28s node %s: %5.2f%% of a core, %6.1f I/Os per s, %5.1f frames sent per s\n", w, s, 100 * c / hz / t, io / t, fr / t }'
  done
}

"$lab" up --lan -- "${vnicd_flags[@]}" >/dev/null
measure "idle link (no corosync)"
"$lab" corosync up >/dev/null
measure "corosync, LAN up"
"$lab" switch fail
sleep 3  # knet moves to link1
measure "corosync, LAN switch failed"
"$lab" switch restore
