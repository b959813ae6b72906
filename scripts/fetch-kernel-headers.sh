#!/usr/bin/env bash
# The newest kernel headers Debian 12 offers, from bookworm-backports (6.12 today), unpacked under
# /var/cache/vnic/kernel-headers, so that vnic.ko is built in CI against a kernel newer than the
# 6.1 that bookworm boots (tests/kmod/test_kmod_build.sh). apt runs with a private state there:
# the machine's sources, package lists and installed packages are untouched. Idempotent.
# Prints the headers' directory (a Kbuild KDIR) on its last line.
# Usage (as root): scripts/fetch-kernel-headers.sh
set -euo pipefail
cache=${VNIC_KERNEL_HEADERS_CACHE:-/var/cache/vnic/kernel-headers}
suite=bookworm-backports
mkdir -p "$cache/apt/lists/partial" "$cache/debs"
echo "deb http://deb.debian.org/debian $suite main" >"$cache/apt/sources.list"
apt_opts=(-o Dir::Etc::SourceList="$cache/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o Dir::State::Lists="$cache/apt/lists" -o Dir::Cache::Archives="$cache/debs" -o APT::Sandbox::User=root)

# What the suite's linux-headers-amd64 names: linux-headers-<abi>-amd64.
flavour_package() {
  apt-cache "${apt_opts[@]}" show "linux-headers-amd64=$1" |
    sed -n 's/^Depends: \(linux-headers-[^ ,]*-amd64\).*/\1/p' | head -n 1
}
newest() { apt-cache "${apt_opts[@]}" madison linux-headers-amd64 | awk -F'|' -v s="$suite" '$3 ~ s { gsub(/ /, "", $2); print $2; exit }'; }

apt-get "${apt_opts[@]}" update -qq
version=$(newest)
[ -n "$version" ] || { echo "fetch-kernel-headers.sh: $suite lists no linux-headers-amd64" >&2; exit 1; }
flavour=$(flavour_package "$version")
[ -n "$flavour" ] || { echo "fetch-kernel-headers.sh: linux-headers-amd64=$version names no headers package" >&2; exit 1; }
abi=${flavour#linux-headers-}
abi=${abi%-amd64}
kdir=$cache/root/usr/src/$flavour
if [ ! -f "$kdir/.vnic-ready" ]; then
  (cd "$cache/debs" && apt-get "${apt_opts[@]}" download -qq "$flavour" "linux-headers-$abi-common" "linux-kbuild-$abi" >/dev/null)
  rm -rf "$cache/root"
  mkdir -p "$cache/root"
  for deb in "$cache/debs/"*"$abi"*.deb; do dpkg-deb -x "$deb" "$cache/root"; done
  # The flavour's Makefile includes the common tree by its installed path; point it at ours.
  sed -i "s|^include /usr/src/|include $cache/root/usr/src/|" "$kdir/Makefile"
  touch "$kdir/.vnic-ready"
fi
echo "$kdir"
