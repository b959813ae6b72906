#!/usr/bin/env bash
# vnic.ko built as CI builds it, warnings as errors, against both ends of what Debian 12 has headers
# for: the newest 6.1 bookworm installs (the kmod VM tests build for the guests' own 6.1) and the
# newest kernel in bookworm-backports (6.12 today; scripts/fetch-kernel-headers.sh unpacks it). Each module must
# name the kernel it was built for and need nothing but libcrc32c; sparse over the sources, against
# 6.1, must find nothing.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "-- $*"; }
for tool in make gcc modinfo sparse pahole; do
  command -v $tool >/dev/null || skip "$tool is not installed (scripts/install-deps.sh installs it)"
done
shopt -s nullglob
bookworm=($(ls -d /usr/src/linux-headers-6.1.*-amd64 2>/dev/null | sort -V | tail -n 1))
newer=(/var/cache/vnic/kernel-headers/root/usr/src/linux-headers-*-amd64)
[ ${#bookworm[@]} -gt 0 ] || skip "no 6.1 kernel headers under /usr/src (scripts/install-deps.sh installs them)"
[ ${#newer[@]} -gt 0 ] && [ -f "${newer[0]}/.vnic-ready" ] ||
  skip "no bookworm-backports kernel headers under /var/cache/vnic/kernel-headers (scripts/install-deps.sh fetches them)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
build() {  # build KDIR: vnic.ko for that kernel, into $work/<release>
  local kdir=$1 release dir
  release=${kdir##*/linux-headers-}  # Debian's package name is the kernel's release
  dir=$work/$release
  mkdir -p "$dir"
  cp "$REPO"/kmod-shim/{Kbuild,Makefile,*.c,*.h} "$dir/"
  make -s -C "$dir" KDIR="$kdir" >"$dir/build.log" 2>&1 || { cat "$dir/build.log" >&2; fail "vnic.ko does not build against $release"; }
  # Kbuild's own notes are fine; a compiler warning is not (and -Werror made it an error anyway).
  if grep -i "warning:" "$dir/build.log" | grep -v "Skipping BTF generation"; then fail "warnings building against $release"; fi
  [ "$(modinfo -F vermagic "$dir/vnic.ko" | awk '{ print $1 }')" = "$release" ] || fail "vnic.ko built against $release names another kernel"
  [ "$(modinfo -F depends "$dir/vnic.ko")" = libcrc32c ] || fail "vnic.ko for $release needs $(modinfo -F depends "$dir/vnic.ko")"
  note "built against $release: $(stat -c %s "$dir/vnic.ko") bytes"
}
for kdir in "${bookworm[0]}" "${newer[0]}"; do build "$kdir"; done

# sparse (C=2: every file, built or not); its findings go to stderr as "file:line:col: warning/error".
dir=$work/sparse
mkdir -p "$dir"
cp "$REPO"/kmod-shim/{Kbuild,Makefile,*.c,*.h} "$dir/"
make -s -C "$dir" KDIR="${bookworm[0]}" sparse >"$dir/sparse.log" 2>&1 || { cat "$dir/sparse.log" >&2; fail "make sparse failed"; }
if grep -E "^$dir/.*: (warning|error):" "$dir/sparse.log"; then fail "sparse finds the above in kmod-shim/"; fi
note "sparse: nothing found in $(ls "$REPO"/kmod-shim/*.c | wc -l) files"
echo "PASS"
