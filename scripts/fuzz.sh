#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan) and runs each for a bounded time.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
build=build-fuzz

CXX=clang++ cmake -S . -B "$build" -G Ninja -DVNIC_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target fuzz_block fuzz_superblock make_fuzz_seeds

corpus="$build/corpus"
mkdir -p "$corpus/block" "$corpus/superblock"
"$build/tests/fuzz/make_fuzz_seeds" "$corpus/block" "$corpus/superblock"
for kind in block superblock; do
  if [ -d "tests/fuzz/corpus/$kind" ]; then cp -n tests/fuzz/corpus/$kind/* "$corpus/$kind/" 2>/dev/null || true; fi
done

status=0
for kind in block superblock; do
  echo "fuzz_$kind: ${seconds}s"
  if ! "$build/tests/fuzz/fuzz_$kind" -max_total_time="$seconds" -max_len=70000 -print_final_stats=1 \
      -artifact_prefix="$build/crash-$kind-" "$corpus/$kind" 2>"$build/fuzz_$kind.log"; then
    echo "fuzz_$kind FAILED: see $build/fuzz_$kind.log and $build/crash-$kind-*"
    tail -n 40 "$build/fuzz_$kind.log"
    status=1
  else
    grep -E "stat::number_of_executed_units|Done" "$build/fuzz_$kind.log" | tail -n 2 | sed 's/^/  /'
  fi
done
exit $status
