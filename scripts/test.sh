#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs every dependency, builds with
# warnings as errors, runs the fuzz targets for a bounded time, the suite under ASan+UBSan, the
# threaded suites under TSan, and the suite on the release build (its CTest summary is the last
# thing printed).
# Usage (as root): scripts/test.sh      (VNIC_FUZZ_SECONDS=N: seconds per fuzz target, default 20)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

# What runs under TSan. vnicd itself is single-threaded (one epoll loop; io_uring and libaio
# complete I/O in the kernel, not on threads of ours; spdlog's loggers are synchronous), so the
# threads TSan can judge are the tests': daemon_tests serves the control socket from a thread
# while the test thread is the client, and vnic_tests runs frame forwarders, namespace helpers and
# TCP transfers on threads against the TAP code. unit rides along (cheap, and it covers blockxport
# the day it gains a thread). Not tools: its tests only run vnicctl and vnic-bench as
# single-threaded subprocesses, and building those under TSan would double this stage's time.
# Nor e2e: whole processes, one thread each.
tsan_targets=(unit_tests daemon_tests vnic_tests)
tsan_labels='^(unit|daemon|vnic)$'

# ctest exits 0 when tests were skipped, but here a skip is a failure: a test that could not run
# its real prerequisite (root, a TAP, io_uring, a loop device, a tool) proved nothing, and this
# script is what CI runs. A plain ctest run elsewhere still just lists its skips.
# Usage: strict_ctest STAGE COMMAND...  (COMMAND runs ctest in the build directory)
strict_ctest() {
  local stage=$1
  shift
  local log
  log=$(mktemp)
  local status=0
  "$@" 2>&1 | tee "$log" || status=$?
  # CTest lists every test it did not run (SKIP_RETURN_CODE 77, SKIP_REGULAR_EXPRESSION "VNIC-SKIP:",
  # disabled) after this heading, one per line, until a blank line.
  local not_run
  not_run=$(sed -n '/^The following tests did not run:/,/^$/{/^[[:space:]]*[0-9][0-9]* - /p}' "$log")
  rm -f "$log"
  if [ "$status" -ne 0 ]; then exit "$status"; fi
  if [ -n "$not_run" ]; then
    echo "test.sh: FAILED: $stage: these tests were skipped, and a skipped test counts as failed here:" >&2
    echo "$not_run" >&2
    exit 1
  fi
}

echo "== build (release, -Werror)"
scripts/build.sh release
echo "== build (ASan+UBSan, -Werror)"
scripts/build.sh asan
echo "== build (TSan, -Werror: ${tsan_targets[*]})"
scripts/build.sh tsan "${tsan_targets[@]}"

echo "== fuzz"
scripts/fuzz.sh "${VNIC_FUZZ_SECONDS:-20}"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Not the cluster label: those tests judge corosync, keepalived and Pacemaker riding on vnic0, with
# timing bounds a 2-3x slower vnicd only blurs; vnicd's memory errors are what ASan is for, and the
# e2e and fault tests drive the same daemon harder. They run on the release build below.
# Nor the vm label: its guests run the packaged vnicd (the .deb), not this build's, so ASan would
# add nothing but a second 10-minute run of booted VMs.
# Nor packaging: it builds the .deb and the .rpm from the tree with their own compiler flags and
# judges what they hold, which no sanitizer changes; a second run would only cost 8 minutes.
# (The kmod VM tests carry the vm label too.) Nor the two lab benchmarks (e2e.bench_lab,
# shared.bench_lab_nodes): they publish speed, which means nothing under ASan, and their daemons
# carry the traffic the e2e and shared tests check. About 4 minutes of this stage. Nor kmod.build:
# it compiles vnic.ko with Kbuild, which no sanitizer of ours touches.
asan_skip='^(e2e\.bench_lab|shared\.bench_lab_nodes|kmod\.build)$'
echo "== tests under ASan+UBSan (all but the cluster, vm and packaging labels and $asan_skip)"
(cd build-asan && strict_ctest "tests under ASan+UBSan" ctest -LE '^(cluster|vm|packaging)$' -E "$asan_skip" \
  --output-on-failure --timeout 600)

echo "== tests under TSan (labels unit, daemon, vnic)"
# TSan's shadow memory needs the address layout of at most 28 random mmap bits; newer kernels
# default to more, so then run without address randomisation (for these tests only).
tsan_run=()
if [ "$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 28)" -gt 28 ]; then tsan_run=(setarch "$(uname -m)" -R); fi
(cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:history_size=4 \
  strict_ctest "tests under TSan" "${tsan_run[@]}" ctest -L "$tsan_labels" --output-on-failure --timeout 300)

echo "== tests (release)"
cd build && strict_ctest "tests (release)" ctest --output-on-failure --timeout 600
