#!/usr/bin/env bash
# Pacemaker on corosync over vnic (stonith disabled for the test, one ocf:pacemaker:Dummy
# resource). The LAN's switch fails for 30 s: corosync keeps the membership over vnic0, so
# Pacemaker moves no resource and fences nobody: both nodes stay online and clean, the DC stays
# the DC, the resource stays where it ran and is neither stopped nor restarted, and the fence
# history stays empty. The same holds once the switch is back.
source "$(dirname "$0")/pacemaker_lib.sh"
HOLD_S=${HOLD_S:-30}
require_pacemaker

cluster_setup
cluster_vnicd_up
corosync_up
ring=$(ring_id a)
t_pacemaker=$(now_ms)
pacemaker_up
before=$(pcmk_view a)
history=$(pcmk_dummy_history a)
note "Pacemaker up in $(( $(now_ms) - t_pacemaker )) ms: $before; dummy's operations: $history"
lab_exec a crm_resource --locate --resource dummy
[ "$(pcmk_view b)" = "$before" ] || fail "the nodes disagree: a says '$before', b says '$(pcmk_view b)'"

# pcmk_holds SECONDS: every second both nodes' crm_mon shows exactly $before, the corosync ring id
# is unchanged, and the resource's operation history has no new start or stop.
pcmk_holds() {
  local end side view samples=0
  end=$(( $(now_ms) + $1 * 1000 ))
  while [ "$(now_ms)" -lt $end ]; do
    for side in a b; do
      view=$(pcmk_view $side)
      [ "$view" = "$before" ] || fail "crm_mon on $side: '$view', was '$before'"
      [ "$(ring_id $side)" = "$ring" ] || fail "corosync $side: the ring id changed from $ring to $(ring_id $side)"
    done
    [ "$(pcmk_dummy_history a)" = "$history" ] || fail "dummy was stopped or started: $history became $(pcmk_dummy_history a)"
    samples=$((samples + 1))
    sleep 1
  done
  note "$samples samples over $1 s: $before on both nodes, ring id $ring"
}

note "the switch fails for $HOLD_S s"
lab_switch fail
lab_exec a ping -c 1 -W 1 "$(lab_lan_addr b)" >/dev/null 2>&1 && fail "the LAN still forwards after the switch failure"
pcmk_holds "$HOLD_S"
lab_exec a corosync-cfgtool -n | sed -n '/nodeid: *2/,$p'

note "the switch comes back"
lab_switch restore
pcmk_holds 5

for side in a b; do
  fence=$(lab_exec $side stonith_admin --history '*' 2>&1)
  note "stonith_admin --history on $side: $fence"
  [ "$fence" = "0 events found" ] || fail "fence history on $side: $fence"
  grep -E "state is now lost|UNCLEAN|will be fenced|Scheduling node .* for fencing" "$(pcmk_dir $side)/pacemaker.log" &&
    fail "Pacemaker on $side lost its peer or meant to fence it"
done
lab_exec a crm_mon -1
echo PASS
