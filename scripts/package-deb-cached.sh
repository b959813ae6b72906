#!/usr/bin/env bash
# The .deb of this tree, built once: runs scripts/package-deb.sh only when the tree's files differ
# from the last build kept in CACHE, and prints the directory that holds that build's whole output
# (the .debs, the .changes and the .buildinfo). The packaging tests and the VM harness share it,
# so a test run compiles the package once, not once each.
# Usage: scripts/package-deb-cached.sh CACHE
set -euo pipefail
cache=${1:?usage: package-deb-cached.sh CACHE}
repo=$(cd "$(dirname "$0")/.." && pwd)
# The key is the content of every file the package build copies (git's files and the untracked
# ones it does not ignore): a commit of the same tree, or an edit undone, keeps the build.
key=$(cd "$repo" && { git ls-files -z --cached --others --exclude-standard | xargs -0 -r sha256sum 2>/dev/null || true; } |
  sha256sum | cut -c1-16)
built=$cache/deb-$key
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9  # two tests asking at once wait for one build
if ! ls "$built"/vnic_*.deb >/dev/null 2>&1; then
  rm -rf "$cache"/deb-*
  rm -f "$cache"/package-build/*.deb "$cache"/package-build/*.changes "$cache"/package-build/*.buildinfo
  # One build directory whatever the key: the compiler's command lines (absolute -I paths) then
  # stay the same from one commit to the next, and a compiler cache hits.
  "$repo/scripts/package-deb.sh" "$cache/package-build" >"$cache/paths" 2>"$cache/build.log" ||
    { tail -n 20 "$cache/build.log" >&2; echo "package-deb-cached.sh: scripts/package-deb.sh failed" >&2; exit 1; }
  mkdir -p "$built.tmp"
  cp "$cache"/package-build/*.deb "$cache"/package-build/*.changes "$cache"/package-build/*.buildinfo "$built.tmp/"
  mv "$built.tmp" "$built"
fi
echo "$built"
