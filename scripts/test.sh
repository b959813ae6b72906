#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs every dependency, builds with
# warnings as errors, runs the fuzz targets for a bounded time, the suite under ASan+UBSan, and
# the suite on the release build (its CTest summary is the last thing printed).
# Usage: sudo scripts/test.sh            (VNIC_FUZZ_SECONDS=N to change the fuzz time, default 30)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

echo "== build (release, -Werror)"
scripts/build.sh release
echo "== build (ASan+UBSan, -Werror)"
scripts/build.sh asan

echo "== fuzz"
scripts/fuzz.sh "${VNIC_FUZZ_SECONDS:-30}"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "== tests under ASan+UBSan"
(cd build-asan && ctest --output-on-failure --timeout 600)

echo "== tests (release)"
cd build && ctest --output-on-failure --timeout 600
