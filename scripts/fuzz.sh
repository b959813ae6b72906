#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan) and runs each for a bounded time, starting
# from its committed corpus (tests/fuzz/corpus/TARGET/) plus the seeds make_fuzz_seeds generates.
# Fails, naming the crashing input, when any target finds a crash, a leak, UB or a hang.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 20; 5 targets, about 2 minutes)
#   VNIC_FUZZ_TARGETS="state config"  run only these targets
#   VNIC_FUZZ_BUILD=DIR               build directory (default build-fuzz)
#   VNIC_FUZZ_MERGE=1                 afterwards, merge what the run found into the committed
#                                     corpora: hand-written seeds plus the few dozen found inputs
#                                     that reach the most edges (needs python3). Run long (e.g.
#                                     300 s), then commit tests/fuzz/corpus.
# Reproduce a crash: DIR/tests/fuzz/fuzz_TARGET DIR/artifacts/TARGET/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
build=${VNIC_FUZZ_BUILD:-build-fuzz}
targets=(${VNIC_FUZZ_TARGETS:-block superblock state config control})

# Per target: the largest input worth trying (a 64 KiB block and a bit; the structures are under
# 1 KiB; configs and requests are short text) and extra libFuzzer flags.
declare -A max_len=([block]=70000 [superblock]=1024 [state]=1024 [config]=4096 [control]=1024)
declare -A extra=([config]="-dict=tests/fuzz/json.dict" [control]="-dict=tests/fuzz/json.dict")

CXX=clang++ cmake -S . -B "$build" -G Ninja -DVNIC_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target make_fuzz_seeds "${targets[@]/#/fuzz_}"

# The working corpus is rebuilt every run, so a run depends only on the tree; new inputs go there,
# never into tests/fuzz/corpus unless VNIC_FUZZ_MERGE asks.
work="$build/corpus"
rm -rf "$work"
mkdir -p "$work"
"$build/tests/fuzz/make_fuzz_seeds" "$work"
for t in "${targets[@]}"; do
  mkdir -p "$work/$t"
  if [ -d "tests/fuzz/corpus/$t" ]; then cp tests/fuzz/corpus/"$t"/* "$work/$t/" 2>/dev/null || true; fi
done

# abort_on_error: a crash kills the process with SIGABRT, which libFuzzer reports and saves.
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:allocator_may_return_null=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for t in "${targets[@]}"; do
  log="$build/fuzz_$t.log"
  artifacts="$build/artifacts/$t"
  rm -rf "$artifacts"
  mkdir -p "$artifacts"
  echo "fuzz_$t: ${seconds}s, $(ls "$work/$t" | wc -l) inputs to start from"
  # shellcheck disable=SC2086
  if ! "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -max_len="${max_len[$t]}" -timeout=10 \
      -print_final_stats=1 -artifact_prefix="$artifacts/" ${extra[$t]:-} "$work/$t" >"$log" 2>&1; then
    status=1
    artifact=$(grep -oE "(Test unit|artifact) written to [^ ]+" "$log" | tail -n 1 | awk '{print $NF}' || true)
    echo "fuzz_$t FAILED: crashing input ${artifact:-(none saved, see the log)}; log $log"
    grep -E "ERROR: |SUMMARY: |runtime error|==[0-9]+==" "$log" | head -n 5 | sed 's/^/  /' || true
    tail -n 40 "$log"
    echo "  reproduce: $build/tests/fuzz/fuzz_$t ${artifact:-CRASH_FILE}"
    continue
  fi
  execs=$(grep -oE "stat::number_of_executed_units: +[0-9]+" "$log" | awk '{print $2}' || true)
  rate=$(grep -oE "stat::average_exec_per_sec: +[0-9]+" "$log" | awk '{print $2}' || true)
  cov=$(grep -oE "cov: [0-9]+ ft: [0-9]+" "$log" | tail -n 1 || true)
  echo "  ok: $execs runs, $rate exec/s, $cov, corpus $(ls "$work/$t" | wc -l)"
  if [ "${VNIC_FUZZ_MERGE:-0}" = 1 ]; then
    # Hand-written seeds (readable names) always stay; the inputs the fuzzer found (named by
    # their SHA-1) are chosen afresh each time from the old ones and this run's: libFuzzer measures
    # the edges every input reaches (into the control file; the directory it merges into is
    # thrown away) and select_corpus.py keeps the few dozen that add the most.
    committed="tests/fuzz/corpus/$t"
    mkdir -p "$committed"
    before=$(ls "$committed" | wc -l)
    rm -rf "$build/merge/$t" && mkdir -p "$build/merge/$t/seeds"
    find "$committed" -type f -regextype posix-extended ! -regex '.*/[0-9a-f]{40}' -exec cp {} "$build/merge/$t/seeds/" \;
    cp "$work/$t"/gen-* "$build/merge/$t/seeds/" 2>/dev/null || true  # make_fuzz_seeds makes these anyway
    "$build/tests/fuzz/fuzz_$t" -merge=1 -use_counters=0 -max_len="${max_len[$t]}" \
      -merge_control_file="$build/merge/$t/control" "$build/merge/$t/seeds" "$work/$t" >"$build/merge/$t/log" 2>&1
    tests/fuzz/select_corpus.py "$build/merge/$t/control" >"$build/merge/$t/chosen"
    find "$committed" -type f -regextype posix-extended -regex '.*/[0-9a-f]{40}' -delete
    while read -r input; do cp "$input" "$committed/$(sha1sum "$input" | cut -c1-40)"; done <"$build/merge/$t/chosen"
    echo "  merged: $committed $before -> $(ls "$committed" | wc -l) files"
  fi
done
exit $status
