#!/usr/bin/env bash
# keepalived over vnic, the MASTER's vnicd crashes and its supervisor (the unit's Restart=always,
# RestartSec=100ms) restarts it: the adverts over vnic0 stop for far less than the BACKUP's
# 3 x advert_int + skew, so nobody else becomes MASTER, with the LAN up or down. (vnic0 is
# keepalived's only advert path: a vnicd left dead would make both nodes MASTER.)
source "$(dirname "$0")/keepalived_lib.sh"
keepalived_lab_up --supervise

for lan in up down; do
  if [ $lan = down ]; then note "the switch fails"; lab_switch fail; fi
  old=$(lab_vnicd_pid a)
  note "LAN $lan: kill -9 node a's vnicd (pid $old)"
  lab_kill_vnicd a
  wait_until 10 "a new vnicd on a" bash -c "[ -s '$LAB_RUN/a.pid' ] && [ \"\$(cat '$LAB_RUN/a.pid')\" != $old ]"
  hold_single_master a 8
  grep -q "Entering MASTER STATE" "$KA_DIR/b.log" && fail "node b became MASTER while node a's vnicd restarted"
  note "node a's vnicd is pid $(lab_vnicd_pid a); b never MASTER"
done
echo PASS
