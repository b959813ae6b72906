#!/usr/bin/env bash
# Configures and builds with warnings as errors.
# Usage: scripts/build.sh [release|asan|tsan] [TARGET...]
#   release: build/; asan: build-asan/ with ASan+UBSan; tsan: build-tsan/ with ThreadSanitizer.
#   TARGETs limit the build to those (default: everything). VNIC_BUILD_DIR=DIR builds elsewhere,
#   so an experiment never disturbs the directories the suite uses.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-release}
shift || true
case "$kind" in
  release) dir=build; extra=() ;;
  asan) dir=build-asan; extra=(-DVNIC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug) ;;
  # -O1 -g1: TSan slows code 5-15x and -O0 would double that, while -O2 -g costs 40% more
  # compile time than -O1 -g1 for nothing TSan needs (line tables give its stacks file:line).
  # Debug, so assertions stay on.
  tsan) dir=build-tsan; extra=(-DVNIC_SANITIZE=thread -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g1") ;;
  *) echo "build.sh: unknown build kind '$kind' (expected release, asan or tsan)" >&2; exit 2 ;;
esac
dir=${VNIC_BUILD_DIR:-$dir}
cmake -S . -B "$dir" -G Ninja -DVNIC_WERROR=ON "${extra[@]}" >/dev/null
if [ $# -gt 0 ]; then
  cmake --build "$dir" --target "$@"
else
  cmake --build "$dir"
fi
