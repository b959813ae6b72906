#!/usr/bin/env bash
# Pacemaker bad input: with corosync installed but Pacemaker missing, the Pacemaker test says so
# in one line and exits 77 (skipped), never passes.
source "$(dirname "$0")/pacemaker_lib.sh"
require_pacemaker
here=$(cd "$(dirname "$0")" && pwd)

note "corosync on PATH, pacemakerd not: the test skips with one line"
# /usr/sbin holds corosync and Pacemaker; everything else the tests need is in /usr/bin. A
# directory with corosync's programs alone stands for a node without Pacemaker.
bin=$E2E_RUN/bin
trap 'rm -rf "$E2E_RUN"' EXIT
mkdir -p "$bin"
for tool in corosync corosync-quorumtool corosync-cfgtool corosync-cmapctl corosync-keygen; do
  ln -s "$(command -v $tool)" "$bin/$tool"
done
status=0
out=$(env PATH="$bin:/usr/bin:/bin" E2E_NAME="$E2E_NAME-nopacemaker" "$here/test_pacemaker_switch.sh" 2>&1) || status=$?
echo "$out"
[ $status = 77 ] || fail "without Pacemaker the test exited $status, not 77 (skipped)"
[ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && [[ $out == "SKIPPED: pacemakerd is not installed"* ]] ||
  fail "without Pacemaker the test did not say so in one line"
echo PASS
