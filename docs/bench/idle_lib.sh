# Shared by the idle-cost scripts (sourced): their arguments, one vnic-lab torn down on exit, and
# how a vnicd's CPU and I/Os are read. The caller sets VNIC_LAB, VNIC_LAB_ADDR_PREFIX and
# VNIC_LAB_LAN_PREFIX first.
# Arguments: [SECONDS] [-- VNICD FLAGS] -> $seconds (default 20) and the array vnicd_flags.
seconds=${1:-20}
[ $# -gt 0 ] && shift
[ "${1:-}" = -- ] && shift
vnicd_flags=("$@")
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export VNIC_BUILD=${VNIC_BUILD:-$top/build}
lab=$top/tools/vnic-lab/vnic-lab
"$lab" down >/dev/null 2>&1 || true
trap '"$lab" down >/dev/null 2>&1' EXIT

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }  # utime + stime, in clock ticks
status_of() { "$VNIC_BUILD/tools/vnicctl/vnicctl" status --socket "$("$lab" socket "$1")" --json; }
# Block writes, ring reads, state-table reads and record writes: every I/O vnicd makes.
ios() { status_of "$1" | jq '[.tx.blocks, .rx.reads, .counters.state_reads, .counters.state_writes] | map(. // 0) | add'; }
frames() { status_of "$1" | jq '.tx.frames // 0'; }
hz=$(getconf CLK_TCK)
