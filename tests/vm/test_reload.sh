#!/usr/bin/env bash
# `systemctl reload vnicd@vnic0` (ExecReload=+kill -HUP: root signals the vnicd that runs as vnic):
# a changed dead_after_ms is in force at once (vnicctl status), the same process goes on, the
# peer keeps its carrier; a config that no longer parses is reported in the journal and the
# running configuration kept.
source "$(dirname "$0")/vm_lib.sh"
vm_fixture_attach

config=/etc/vnic/vnic0.json
restore() { vm_exec n1 "[ ! -f $config.orig ] || mv $config.orig $config; systemctl reload vnicd@vnic0" >/dev/null 2>&1 || true; }
trap restore EXIT
pid=$(vm_main_pid n1 vnicd@vnic0)
peer_changes() { vm_exec n2 'vnicctl status vnic0 --json | jq .interface.carrier_changes'; }
changes=$(peer_changes)
vm_exec n1 "cp $config $config.orig && jq '.dead_after_ms = 1500' $config.orig >$config
  systemctl reload vnicd@vnic0" || vm_fail "n1: systemctl reload failed"
took=$(vm_wait_for n1 10 '[ "$(vnicctl status vnic0 --json | jq .config.dead_after_ms)" = 1500 ]') ||
  vm_fail "n1: dead_after_ms is not 1500 after the reload: $(vm_exec n1 'vnicctl status vnic0 --json | jq -c .config')"
echo "n1: dead_after_ms 1500 in force ${took} ms after systemctl reload returned"
vm_exec n1 "journalctl -u vnicd@vnic0 --no-pager -o cat | grep 'SIGHUP: reloaded' | tail -n 1"
[ "$(vm_main_pid n1 vnicd@vnic0)" = "$pid" ] || vm_fail "n1: the reload restarted vnicd (pid $pid -> $(vm_main_pid n1 vnicd@vnic0))"

vm_exec n1 "echo '{ not json' >$config; systemctl reload vnicd@vnic0" || vm_fail "n1: systemctl reload (bad file) failed"
line=$(vm_wait_for n1 10 "journalctl -u vnicd@vnic0 --no-pager -o cat | grep -q 'keeping the running configuration'" >/dev/null &&
  vm_exec n1 "journalctl -u vnicd@vnic0 --no-pager -o cat | grep 'keeping the running configuration' | tail -n 1") ||
  vm_fail "n1: no journal line for the config that does not parse"
echo "n1's journal: $line"
grep -q "$config" <<<"$line" || vm_fail "n1: the journal line does not name $config"
[ "$(vm_exec n1 'systemctl is-active vnicd@vnic0')" = active ] && [ "$(vm_main_pid n1 vnicd@vnic0)" = "$pid" ] ||
  vm_fail "n1: vnicd did not survive a reload of a bad config"
[ "$(vm_exec n1 'vnicctl status vnic0 --json | jq .config.dead_after_ms')" = 1500 ] || vm_fail "n1: the running configuration changed"

restore
trap - EXIT
[ "$(peer_changes)" = "$changes" ] || vm_fail "n2's carrier changed during n1's reloads ($changes -> $(peer_changes) changes)"
echo PASS
