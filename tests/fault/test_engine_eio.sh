#!/usr/bin/env bash
# EIO and short transfers at the I/O engine seam (VNIC_FAULT_INJECT), on both daemons: 2% of
# reads and of writes fail with EIO, 1% of each are short (a short write leaves a torn block on
# the volume). The writer rewrites, the reader re-reads: nothing is lost, corrupt, duplicated or
# reordered, every count reconciles, the carrier never flaps, memory stays bounded, and the
# daemon's log says loudly that faults are being injected.
# dead_after 3 s here, as an admin sets it over a SAN whose latency can spike past a second: under
# this flood a writeback burst on the shared disk of a CI machine held the mirrors' copies (and so
# the peers' heartbeats) back for over a second, a real silence that a 1 s dead_after must judge as
# death. The faults under test flap the carrier at any dead_after if they break liveness (a failed heartbeat write that is not retried stops the heartbeat for good).
DEAD_AFTER_MS=3000
source "$(dirname "$0")/fault_lib.sh"
require_environment
fault_lab_setup
start_mirror a --lag-ms 2 --seed 51
start_mirror b --lag-ms 2 --seed 52
spec="read_eio=0.02,write_eio=0.02,short_read=0.01,short_write=0.01"
NODE_ENV_a="VNIC_FAULT_INJECT=$spec,seed=1"
NODE_ENV_b="VNIC_FAULT_INJECT=$spec,seed=2"
fault_lab_up
grep -q "FAULT INJECTION ENABLED" "$E2E_RUN/a.log" || fail "vnicd did not announce fault injection"
[[ "$(status_field a .volumes.engine)" == *+faults ]] || fail "status does not name the fault-injecting engine"

probe warmup 5000 20000 200 1400 1
rss_a=$(rss_kib a)
rss_b=$(rss_kib b)
changes_a=$(status_field a .counters.carrier_changes)
changes_b=$(status_field b .counters.carrier_changes)
snapshot before
probe eio 100000 20000 200 1400 6
quiesce
snapshot after
reconcile eio before after 0
[ "$(delta b_delivered after before)" = "$(delta a_placed after before)" ] ||
  fail "B lost frames to I/O errors that were retried"
[ "$(delta a_write_errors after before)" -gt 0 ] || fail "no write error was injected into A"
[ "$(delta b_read_errors after before)" -gt 0 ] || fail "no read error was injected into B"
[ "$(status_field a .counters.carrier_changes)" = "$changes_a" ] || fail "A's carrier flapped under I/O errors"
[ "$(status_field b .counters.carrier_changes)" = "$changes_b" ] || fail "B's carrier flapped under I/O errors"
check_rss a "$rss_a"
check_rss b "$rss_b"
stop_node a TERM
grep "FAULT INJECTION summary" "$E2E_RUN/a.log" || fail "vnicd a did not report the faults it injected"
echo "PASS"
