#!/usr/bin/env bash
# Configures and builds with warnings as errors.
# Usage: scripts/build.sh [release|asan]   (release: build/, asan: build-asan/ with ASan+UBSan)
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-release}
case "$kind" in
  release) dir=build; extra=() ;;
  asan) dir=build-asan; extra=(-DVNIC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug) ;;
  *) echo "build.sh: unknown build kind '$kind' (expected release or asan)" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" -G Ninja -DVNIC_WERROR=ON "${extra[@]}" >/dev/null
cmake --build "$dir"
