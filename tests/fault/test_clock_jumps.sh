#!/usr/bin/env bash
# Clocks must not matter. A runs under libfaketime with its wall clock (CLOCK_REALTIME) jumping by
# years, forwards and back, every second during traffic; B runs in its own time namespace whose
# CLOCK_MONOTONIC is 30 days ahead of A's (two nodes never share a clock). Nothing changes:
# everything arrives, nothing is dropped as too old, carrier never flaps, and every count
# reconciles. (A jump of CLOCK_MONOTONIC itself cannot happen on Linux and is not tested.)
# dead_after 3 s here, as an admin sets it over a SAN whose latency can spike past a second: under
# this flood a writeback burst on the shared disk of a CI machine held the mirrors' copies (and so
# the peers' heartbeats) back for over a second, a real silence that a 1 s dead_after must judge as
# death. The faults under test flap the carrier at any dead_after if they break liveness (a wall clock in the liveness rule jumps by years).
DEAD_AFTER_MS=3000
source "$(dirname "$0")/fault_lib.sh"
require_environment
libfaketime=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n 1)
[ -n "$libfaketime" ] || fail "libfaketime is not installed (scripts/install-deps.sh: faketime)"
unshare --time --monotonic 1 --fork true 2>/dev/null || skip "time namespaces are not available here"
fault_lab_setup
start_mirror a --lag-ms 2 --seed 81
start_mirror b --lag-ms 2 --seed 82
clock_file=$E2E_RUN/faketime
echo "+0" >"$clock_file"
# ASan's runtime must come first in the preload list, or an ASan vnicd refuses to start.
NODE_ENV_a="LD_PRELOAD=${LIBASAN:+$LIBASAN:}$libfaketime FAKETIME_TIMESTAMP_FILE=$clock_file FAKETIME_DONT_FAKE_MONOTONIC=1 FAKETIME_CACHE_DURATION=1"
NODE_WRAP_b="unshare --time --monotonic 2592000 --boottime 2592000 --kill-child"
fault_lab_up
grep -q libfaketime "/proc/$(vnicd_pid a)/maps" || fail "libfaketime is not loaded into vnicd a"
mono_a=$(ip netns exec "$NS_A" cat /proc/uptime | cut -d' ' -f1)
mono_b=$(nsenter --time --target "$(vnicd_pid b)" cat /proc/uptime | cut -d' ' -f1)
note "uptime (CLOCK_BOOTTIME) seen by A: $mono_a s, by B: $mono_b s"
probe warmup 5000 20000 200 1200 1
changes_a=$(status_field a .counters.carrier_changes)
changes_b=$(status_field b .counters.carrier_changes)

snapshot before
PROBE_BACKGROUND=1 probe clocks 80000 10000 200 1200 12
for jump in +3y -5y +1d -20m +10y -1y +0; do
  echo "$jump" >"$clock_file"
  # Proof that the jump is real for a process set up like vnicd a.
  note "A's wall clock now: $(env LD_PRELOAD="$libfaketime" FAKETIME_TIMESTAMP_FILE="$clock_file" FAKETIME_DONT_FAKE_MONOTONIC=1 date -u +%F)"
  sleep 1.1
done
probe_wait
quiesce
snapshot after
reconcile clocks before after 0
[ "$(delta b_delivered after before)" = "$(delta a_placed after before)" ] ||
  fail "B lost frames while the clocks jumped"
[ "$(delta b_too_old after before)" = 0 ] || fail "B dropped frames as too old: a clock was compared across nodes"
[ "$(status_field a .counters.carrier_changes)" = "$changes_a" ] || fail "A's carrier flapped when its wall clock jumped"
[ "$(status_field b .counters.carrier_changes)" = "$changes_b" ] || fail "B's carrier flapped when A's wall clock jumped"
# unshare ignores SIGTERM while it waits: stop B itself so that its clean stop is seen.
kill -TERM "$(vnicd_pid b)"
wait_until 10 "vnicd b to stop" grep -q "stopped cleanly" "$E2E_RUN/b.log"
echo "PASS"
