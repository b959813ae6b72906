#!/usr/bin/env bash
# Builds the RPM from packaging/rpm/vnic.spec with rpmbuild into OUTDIR, and prints the .rpm
# paths, one per line, as the last (and only) output on stdout; the build talks on stderr.
# Usage: scripts/package-rpm.sh OUTDIR
#   Installs nothing: scripts/install-deps.sh installs rpm (rpmbuild) and the build dependencies.
#   --nodeps: the spec's BuildRequires are Fedora's package names, which rpmbuild would look up
#   in an RPM database that a Debian machine does not keep; the libraries come from Debian.
#   rpmbuild works in OUTDIR/.rpm-build, the same path every time, so a compiler launcher
#   (CMAKE_CXX_COMPILER_LAUNCHER=ccache, passed through to CMake) hits its cache on a rebuild.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/scripts/package_lib.sh"
[ $# -eq 1 ] || package_die "usage: scripts/package-rpm.sh OUTDIR"
package_require rpm rpmbuild rpmspec git
spec=$src/packaging/rpm/vnic.spec
mkdir -p "$1"
out=$(cd "$1" && pwd)
version=$(rpmspec -q --srpm --qf '%{version}\n' "$spec")

top=$out/.rpm-build
rm -rf "$top"
mkdir -p "$top/SOURCES"
package_copy_tree "$src" "$top/tree/vnic-$version" "$out"
tar -czf "$top/SOURCES/vnic-$version.tar.gz" -C "$top/tree" "vnic-$version"
rm -rf "$top/tree"
cp "$src/packaging/sysusers.d/vnic.conf" "$top/SOURCES/vnic.sysusers"

defines=(--define "_topdir $top" --define "_smp_mflags -j${VNIC_BUILD_JOBS:-2}")
# Debian's rpm runs its brp-compress (man pages) with /bin/sh, but the script needs bash (read -d):
# under dash it compresses nothing. Run it with bash where /bin/sh is not bash.
post=$(rpm --eval '%{__os_install_post}')
if [[ "$post" == *"/usr/lib/rpm/brp-compress"* && "$(readlink -f /bin/sh)" != */bash ]]; then
  post=$(sed 's|/usr/lib/rpm/brp-compress|bash /usr/lib/rpm/brp-compress|; s/^ *//; /^$/d' <<<"$post" | paste -sd';')
  defines+=(--define "__os_install_post $post")
fi

rpmbuild -bb --nodeps "${defines[@]}" "$spec" >&2 ||
  package_die "rpmbuild failed in $top (its output is above)"

rpms=$(find "$top/RPMS" -name '*.rpm' | sort)
[ -n "$rpms" ] || package_die "rpmbuild made no .rpm"
for f in $rpms; do mv -f "$f" "$out/"; done
rm -rf "$top"
for f in $rpms; do echo "$out/$(basename "$f")"; done
