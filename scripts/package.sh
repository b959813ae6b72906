#!/usr/bin/env bash
# Builds the DEB and RPM packages from a release build into build/packages/.
# Usage (as root): scripts/package.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
mkdir -p build/packages
(cd build && cpack -G DEB -B packages >/dev/null && cpack -G RPM -B packages >/dev/null)
rm -rf build/packages/_CPack_Packages
ls -1 build/packages/*.deb build/packages/*.rpm
