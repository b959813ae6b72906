#!/usr/bin/env bash
# keepalived bad input. keepalived missing: the keepalived tests say so in one line and exit 77
# (skipped), never pass. The configuration names an interface that does not exist (vnic0 before
# vnicd has made it): keepalived's config test and keepalived itself refuse it in one clear line
# and exit non-zero, rather than run an instance that cannot advertise.
source "$(dirname "$0")/keepalived_lib.sh"
require_cluster keepalived
here=$(cd "$(dirname "$0")" && pwd)

note "keepalived not on PATH: the test skips with one line"
# /usr/sbin holds keepalived (and corosync, pacemakerd); everything else the tests need is in /usr/bin.
status=0
out=$(env PATH=/usr/bin:/bin E2E_NAME="$E2E_NAME-nokeepalived" "$here/test_keepalived_switch.sh" 2>&1) || status=$?
echo "$out"
[ $status = 77 ] || fail "without keepalived the test exited $status, not 77 (skipped)"
[ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && [[ $out == "SKIPPED: keepalived is not installed"* ]] ||
  fail "without keepalived the test did not say so in one line"

note "vnic0 does not exist yet (no vnicd): keepalived refuses the configuration"
cluster_setup  # namespaces and the LAN, no vnicd
keepalived_config a
status=0
lab_exec a keepalived --config-test="$KA_DIR/config-test.log" --use-file "$KA_DIR/a.conf" || status=$?
cat "$KA_DIR/config-test.log"
[ $status != 0 ] || fail "keepalived --config-test accepted a configuration naming a missing vnic0"
grep -q "interface vnic0 for vrrp_instance VI_VNIC doesn't exist" "$KA_DIR/config-test.log" ||
  fail "keepalived --config-test did not name the missing vnic0"
mapfile -t argv < <(keepalived_command a)
status=0
timeout 20 "${argv[@]}" </dev/null >"$KA_DIR/a.log" 2>&1 || status=$?
grep -E "doesn't exist|Non-existent|permanent error" "$KA_DIR/a.log"
note "keepalived exited with status $status"
[ $status != 0 ] && [ $status != 124 ] || fail "keepalived did not exit non-zero on the missing vnic0 (status $status)"
grep -q "Non-existent interface specified in configuration" "$KA_DIR/a.log" ||
  fail "keepalived did not say that an interface is missing"
! grep -qE "MASTER|BACKUP" "$KA_DIR/a.states" 2>/dev/null || fail "keepalived ran the instance without vnic0"
echo PASS
