# Sourced by test_deb.sh and test_rpm.sh: the build of one package by its script, timed.
: "${VNIC_BUILD:?}"
src=$(cd "$(dirname "$0")/../.." && pwd)
skip() { echo "VNIC-SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# package_test_build KIND TOOL...: skips unless every TOOL is on PATH, then runs
# scripts/package-KIND.sh into $VNIC_BUILD/packaging-test/KIND (the same path every run, so a
# compiler launcher's cache hits; the .deb through scripts/package-deb-cached.sh, shared with the
# VM tests) and sets $work (a scratch directory, removed at exit with the
# output), $out and $built (the paths the script printed, each checked to exist).
package_test_build() {
  local kind=$1 tool f start
  shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null || skip "$tool is missing (scripts/install-deps.sh installs it)"
  done
  work=$(mktemp -d "/var/tmp/vnic-$kind-XXXXXX")
  start=$SECONDS
  if [ "$kind" = deb ]; then
    # The .deb is built once per tree state and kept: the VM tests install the same one.
    trap 'rm -rf "$work"' EXIT
    out=$("$src/scripts/package-deb-cached.sh" "$VNIC_BUILD/package-cache" 2>"$work/build.log") ||
      { tail -40 "$work/build.log"; fail "scripts/package-deb-cached.sh failed"; }
    built=$(ls "$out"/*.deb)
  else
    out=$VNIC_BUILD/packaging-test/$kind
    rm -rf "$out"
    trap 'rm -rf "$work" "$out"' EXIT
    built=$("$src/scripts/package-$kind.sh" "$out" 2>"$work/build.log") ||
      { tail -40 "$work/build.log"; fail "scripts/package-$kind.sh failed"; }
  fi
  echo "built in $((SECONDS - start)) s:" $built
  [ -n "$built" ] || fail "scripts/package-$kind.sh printed no path"
  for f in $built; do [ -f "$f" ] || fail "scripts/package-$kind.sh printed $f, which does not exist"; done
}
