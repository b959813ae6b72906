#!/usr/bin/env bash
# realtime and lock_memory are asked for, never required. A vnicd without the right to them (no
# CAP_SYS_NICE, RLIMIT_RTPRIO 0; no CAP_IPC_LOCK nor CAP_SYS_RESOURCE, RLIMIT_MEMLOCK 0) starts
# anyway, logs one warning for each naming what the kernel refused, reports SCHED_OTHER and no
# lock in its status, and carries traffic. A vnicd that has the right runs SCHED_RR at the
# configured priority with its memory locked, as the kernel itself shows.
source "$(dirname "$0")/lib.sh"
require_environment
for tool in setpriv prlimit chrt; do command -v $tool >/dev/null || fail "$tool is not installed (util-linux)"; done
lab_setup 64K

# A's vnicd through a wrapper that takes the rights away; exec keeps the pid start_node records.
real_vnicd=$LAB_VNICD
unprivileged=$E2E_RUN/vnicd-without-realtime
cat >"$unprivileged" <<EOF
#!/bin/sh
exec prlimit --memlock=0:0 --rtprio=0:0 setpriv --bounding-set -sys_nice,-ipc_lock,-sys_resource --inh-caps -all "$real_vnicd" "\$@"
EOF
chmod 0755 "$unprivileged"
LAB_VNICD=$unprivileged start_node a
LAB_VNICD=$real_vnicd start_node b --priority 30
wait_link_up a
wait_link_up b
ip netns exec "$NS_A" ping -c 3 -i 0.1 -W 2 "$ADDR_B" >/dev/null || fail "ping from the vnicd without real-time rights"

log_a=$E2E_RUN/a.log
grep -E "^warning: realtime: sched_setscheduler\(SCHED_RR, 40\) refused: Operation not permitted \(no CAP_SYS_NICE, RLIMIT_RTPRIO 0\); running SCHED_OTHER$" \
  "$log_a" >/dev/null || { grep realtime "$log_a"; fail "A did not log the real-time refusal as expected"; }
[ "$(grep -c "realtime:" "$log_a")" = 1 ] || fail "A logged the real-time refusal more than once"
if grep -q "lock_memory: not in a sanitizer build" "$log_a"; then
  note "sanitizer build: vnicd does not lock memory, the mlock refusal is not exercised"
else
  grep -E "^warning: lock_memory: mlockall\(MCL_CURRENT\) refused: Operation not permitted \(RLIMIT_MEMLOCK 0 KiB, no CAP_IPC_LOCK\); memory not locked$" \
    "$log_a" >/dev/null || { grep lock_memory "$log_a"; fail "A did not log the memory lock refusal as expected"; }
fi
note "A: $(grep -E 'realtime:|lock_memory:' "$log_a" | tr '\n' ' ')"
[ "$(status_field a .process.scheduling)" = SCHED_OTHER ] || fail "A's status does not say SCHED_OTHER"
[ "$(status_field a .process.realtime)" = true ] || fail "A's status does not say realtime was asked for"
[ "$(status_field a .process.memory_locked)" = no ] || fail "A's status says memory is locked"
pid_a=$(cat "$E2E_RUN/a.pid")
chrt -p "$pid_a" | grep -q SCHED_OTHER || fail "the kernel shows A as $(chrt -p "$pid_a")"
text=$("$VNIC_BIN_VNICCTL" status --socket "$(socket_of a)")
grep -q "^process: SCHED_OTHER (asked: SCHED_RR priority 40), memory locked: no (asked: yes)$" <<<"$text" ||
  { echo "$text"; fail "vnicctl status does not show A's scheduling"; }

note "B, with the rights: SCHED_RR priority 30 and memory locked, as the kernel shows"
pid_b=$(cat "$E2E_RUN/b.pid")
chrt -p "$pid_b" | grep -q "SCHED_RR" || fail "the kernel shows B as $(chrt -p "$pid_b")"
chrt -p "$pid_b" | grep -q "priority: 30" || fail "the kernel shows B at $(chrt -p "$pid_b")"
[ "$(status_field b .process.scheduling_priority)" = 30 ] || fail "B's status does not say priority 30"
if grep -q "lock_memory: not in a sanitizer build" "$E2E_RUN/b.log"; then
  [ "$(status_field b .process.memory_locked)" = no ] || fail "B's status says locked in a sanitizer build"
else
  # Root without CAP_SYS_RESOURCE (some containers) cannot lift the 8 MiB RLIMIT_MEMLOCK: then
  # only the pages in use are locked, and vnicd says so.
  expected_lock=current+future
  grep -q "cannot be raised (no CAP_SYS_RESOURCE): locked the pages in use only" "$E2E_RUN/b.log" && expected_lock=current
  [ "$(status_field b .process.memory_locked)" = $expected_lock ] || fail "B's memory lock is not $expected_lock"
  locked_kib=$(awk '/^VmLck:/ {print $2}' /proc/"$pid_b"/status)
  rss_kib=$(awk '/^VmRSS:/ {print $2}' /proc/"$pid_b"/status)
  note "B: VmLck $locked_kib KiB, VmRSS $rss_kib KiB"
  [ "$locked_kib" -gt 0 ] || fail "the kernel shows no locked memory for B"
fi
echo "PASS"
