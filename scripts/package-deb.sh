#!/usr/bin/env bash
# Builds the Debian package(s) from this tree into OUTDIR with dpkg-buildpackage, and prints the
# .deb paths, one per line, as the last (and only) output on stdout; the build talks on stderr.
# Usage: scripts/package-deb.sh OUTDIR
#   Installs nothing: scripts/install-deps.sh installs debhelper and the build dependencies.
#   The top-level layout has no debian/, so the build runs in a copy of the tree (the files git
#   knows and the ones it does not ignore, edits included) with packaging/debian as debian/.
#   That copy is OUTDIR/.deb-build/vnic-VERSION, the same path every time, so a compiler launcher
#   (CMAKE_CXX_COMPILER_LAUNCHER=ccache, passed through to CMake) hits its cache on a rebuild.
#   VNIC_DEB_VERSION=V builds version V (a newer changelog entry in the copy only): the package
#   to upgrade to in an upgrade test.
#   OUTDIR also gets the .changes and .buildinfo, for lintian.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/scripts/package_lib.sh"
die() { package_die "$@"; }
[ $# -eq 1 ] || die "usage: scripts/package-deb.sh OUTDIR"
package_require dpkg-buildpackage dpkg-parsechangelog dh git
mkdir -p "$1"
out=$(cd "$1" && pwd)
version=$(dpkg-parsechangelog -l "$src/packaging/debian/changelog" -S Version)

build_root=$out/.deb-build
stage=$build_root/vnic-$version
rm -rf "$build_root"
package_copy_tree "$src" "$stage" "$out"
cp -a "$stage/packaging/debian" "$stage/debian"

if [ -n "${VNIC_DEB_VERSION:-}" ]; then
  dpkg --validate-version "$VNIC_DEB_VERSION" 2>/dev/null || die "VNIC_DEB_VERSION '$VNIC_DEB_VERSION': not a Debian version"
  maintainer=$(dpkg-parsechangelog -l "$stage/debian/changelog" -S Maintainer)
  { printf 'vnic (%s) unstable; urgency=medium\n\n  * Rebuilt as %s (VNIC_DEB_VERSION).\n\n -- %s  %s\n\n' \
      "$VNIC_DEB_VERSION" "$VNIC_DEB_VERSION" "$maintainer" "$(date -R)"
    cat "$src/packaging/debian/changelog"; } >"$stage/debian/changelog"
fi

# debhelper (compat 13) gives the build a HOME of its own inside the copy, where ccache would
# start an empty cache every time: point it at the one the caller uses.
if [[ "${CMAKE_CXX_COMPILER_LAUNCHER:-}" == *ccache* && -z "${CCACHE_DIR:-}" ]] && command -v ccache >/dev/null; then
  CCACHE_DIR=$(ccache --get-config cache_dir)
  export CCACHE_DIR
fi
# Two jobs: the machines this builds on have two cores, shared.
(cd "$stage" && dpkg-buildpackage -us -uc -b -j"${VNIC_BUILD_JOBS:-2}") >&2 ||
  die "dpkg-buildpackage failed in $stage (its output is above)"

changes=$(ls "$build_root"/vnic_*.changes)
debs=$(awk '/^Files:/ { files = 1; next } /^[^ ]/ { files = 0 } files && $NF ~ /\.deb$/ { print $NF }' "$changes")
[ -n "$debs" ] || die "$changes lists no .deb"
for f in $debs "$(basename "$changes")" $(cd "$build_root" && ls ./*.buildinfo); do
  mv -f "$build_root/$f" "$out/"
done
rm -rf "$build_root"
for f in $debs; do echo "$out/$f"; done
