#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: installs every dependency, builds, formats a
# file-backed volume on disk and measures the block transport over it with vnic-bench raw.
# Usage: sudo scripts/demo.sh [VOLUME_PATH]   (default /var/tmp/vnic-demo.vol, 256 MiB)
set -euo pipefail
cd "$(dirname "$0")/.."
volume=${1:-/var/tmp/vnic-demo.vol}

scripts/install-deps.sh
scripts/build.sh release

echo "== formatting $volume (256 MiB, 64 KiB blocks)"
# The default file is the demo's own, made afresh each run; a path you name is never forced.
if [ "$#" -eq 0 ] && [ -f "$volume" ]; then rm -f "$volume"; fi
build/tools/vnicctl/vnicctl format "$volume" --size 256M --block-size 64K --label demo
build/tools/vnicctl/vnicctl inspect "$volume" --blocks 0
echo "== vnic-bench raw: 1500-byte frames through the ring for 10 s, then the storage ceiling"
build/tools/vnic-bench/vnic-bench raw --volume "$volume" --block-size 64K --frame-size 1500 --duration 10
