#!/bin/bash
# Two builds of vnicd side by side, run alternately in a vnic-lab each: idle CPU of both vnicds
# over 20 s, then 8 s of vnic-bench ping (64-byte request/response). Three rounds.
# Usage: sudo docs/bench/build-ab.sh OLD_BUILD_DIR NEW_BUILD_DIR
#   e.g. git worktree add /tmp/old 232ba11 && VNIC_BUILD_DIR=/tmp/old/build /tmp/old/scripts/build.sh release
set -u
[ $# = 2 ] || { echo "usage: $0 OLD_BUILD_DIR NEW_BUILD_DIR" >&2; exit 2; }
top=$(cd "$(dirname "$0")/../.." && pwd)
BENCH=$2/tools/vnic-bench/vnic-bench
LAB=$top/tools/vnic-lab/vnic-lab
cpu_ticks() { awk '{print $14+$15}' /proc/$1/stat; }  # utime + stime, in 10 ms ticks
one() {
  local label=$1 build=$2
  VNIC_LAB=ab VNIC_BUILD=$build $LAB up >/dev/null 2>&1 || { echo "$label: vnic-lab up failed"; return; }
  sleep 2
  local pa pb a0 b0 a1 b1 rr srv
  pa=$(cat /run/ab/a.pid); pb=$(cat /run/ab/b.pid)
  a0=$(cpu_ticks $pa); b0=$(cpu_ticks $pb)
  sleep 20
  a1=$(cpu_ticks $pa); b1=$(cpu_ticks $pb)
  ip netns exec ab-b $BENCH server --bind 10.77.0.2 --port 7799 >/dev/null 2>&1 &
  srv=$!
  sleep 1
  rr=$(ip netns exec ab-a $BENCH ping 10.77.0.2 --port 7799 --duration 8 --json 2>/dev/null |
    jq -c '[.rtt.p50_us, .rtt.p90_us, .rtt.p99_us, .rtt.count]')
  kill $srv; wait $srv 2>/dev/null
  echo "$label: idle ticks in 20 s (1 tick = 0.05% of a core) a $((a1 - a0)) b $((b1 - b0));" \
    "rr p50/p90/p99 us, count $rr"
  VNIC_LAB=ab $LAB down >/dev/null 2>&1
}
for round in 1 2 3; do
  one old "$1"
  one new "$2"
done
