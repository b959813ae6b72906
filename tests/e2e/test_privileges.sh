#!/usr/bin/env bash
# Least privilege: a vnicd given `user` runs as that user with no supplementary groups, only
# CAP_NET_ADMIN (effective and permitted), an empty bounding set and no_new_privs, in every thread
# (io_uring workers included); a root vnicd without `user` keeps only CAP_NET_ADMIN too. Traffic,
# carrier, SIGHUP (config and key file re-read as the user) and the control socket (0600, or 0660
# with its group) keep working, and unknown accounts are refused before anything is created.
source "$(dirname "$0")/lib.sh"
require_environment
command -v setpriv >/dev/null || fail "setpriv is not installed (util-linux)"
getent passwd nobody >/dev/null || skip "there is no user 'nobody' to run as"
sock_group=daemon  # an existing group that 'nobody' is not in
getent group $sock_group >/dev/null || skip "there is no group '$sock_group' for the control socket"
# Small volumes: every refusal hashes both before and after.
E2E_VOLUME_SIZE=${E2E_VOLUME_SIZE:-16M}
lab_setup 64K

user=nobody
uid=$(id -u $user) gid=$(id -g $user) group=$(id -gn $user)
sock_gid=$(getent group $sock_group | cut -d: -f3)
a=$E2E_VOL/a.vol b=$E2E_VOL/b.vol
no_user=vnic-no-such-user no_group=vnic-no-such-group

note "unknown accounts: one error line, exit 1, no TAP, no socket, volumes untouched"
before=$(sha256sum "$a" "$b")
refused() {  # refused WHAT EXPECTED vnicd-args...
  local what=$1 expected=$2; shift 2
  local out=$E2E_RUN/refusal.log status=0
  ip netns exec "$NS_A" "$VNIC_BIN_VNICD" --ifname vnic0 --send "$a" --recv "$b" --control-socket "$(socket_of a)" \
    "$@" >"$out" 2>&1 || status=$?
  [ $status -ne 0 ] || fail "$what: vnicd exited 0"
  [ "$(wc -l <"$out")" = 1 ] && grep -qE '^(critical|error):' "$out" || { cat "$out"; fail "$what: not one error line"; }
  grep -qF -- "$expected" "$out" || { cat "$out"; fail "$what: the error does not say '$expected'"; }
  ! ip netns exec "$NS_A" ip link show vnic0 >/dev/null 2>&1 || fail "$what: a vnic0 interface was left behind"
  [ ! -e "$(socket_of a)" ] || fail "$what: the control socket was left behind"
  [ "$(sha256sum "$a" "$b")" = "$before" ] || fail "$what: a refused start changed a volume"
  note "$what: $(cat "$out")"
}
refused "unknown user" "user '$no_user': no such user" --user $no_user
refused "unknown group" "group '$no_group': no such group" --user $user --group $no_group
refused "unknown socket group" "control_socket_group '$no_group': no such group" --control-socket-group $no_group
refused "group without user" "group '$sock_group': only together with user" --group $sock_group
echo "{\"user\": \"$no_user\"}" >"$E2E_RUN/nouser.json"
refused "unknown user in the config file" "user '$no_user': no such user" --config "$E2E_RUN/nouser.json"

# Like the packaged /run/vnic (root, group of the daemon's user, 0775): the dropped daemon can
# still remove its socket when it stops.
chgrp "$group" "$E2E_RUN"
chmod 0775 "$E2E_RUN"
# A's key file belongs to the user it runs as; B (root) has its own copy.
printf 'vnic-key-v1 %s\n' "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$E2E_RUN/b.key"
install -m 0600 -o $user -g "$group" "$E2E_RUN/b.key" "$E2E_RUN/a.key"
chmod 0600 "$E2E_RUN/b.key"
config=$E2E_RUN/a.json
write_config() {  # write_config HEARTBEAT_MS DEAD_AFTER_MS
  cat >"$config" <<JSON
{"send": "$a", "recv": "$b", "user": "$user", "control_socket_group": "$sock_group",
 "key_file": "$E2E_RUN/a.key", "heartbeat_interval_ms": $1, "dead_after_ms": $2}
JSON
  chmod 0644 "$config"
}
write_config 100 1000

start_node a --config "$config"
start_node b --key-file "$E2E_RUN/b.key"
pid_a=$(cat "$E2E_RUN/a.pid") pid_b=$(cat "$E2E_RUN/b.pid")
grep -q "privileges: running as $user:$group (uid $uid, gid $gid), no supplementary groups; kept CAP_NET_ADMIN only" \
  "$E2E_RUN/a.log" || fail "A did not log what it kept"

# field KEY: the value of KEY in $task/status, its columns joined by single spaces.
field() { awk -v key="$1:" '$1 == key {$1 = ""; sub(/^ +/, ""); print}' "$task/status"; }
# expect_creds PID UID GID: every thread of PID has these ids, no groups, CAP_NET_ADMIN (bit 12)
# alone in the effective and permitted sets, nothing inheritable or ambient, an empty bounding
# set and no_new_privs.
expect_creds() {
  local pid=$1 want_uid=$2 want_gid=$3 task threads=0 name
  for task in /proc/"$pid"/task/*; do
    threads=$((threads + 1))
    name=$(field Name)
    [ "$(field Uid)" = "$want_uid $want_uid $want_uid $want_uid" ] || fail "$name ($task): Uid $(field Uid)"
    [ "$(field Gid)" = "$want_gid $want_gid $want_gid $want_gid" ] || fail "$name ($task): Gid $(field Gid)"
    [ -z "$(field Groups)" ] || fail "$name ($task): supplementary groups $(field Groups)"
    [ "$(field CapEff)" = 0000000000001000 ] || fail "$name ($task): CapEff $(field CapEff), not CAP_NET_ADMIN alone"
    [ "$(field CapPrm)" = 0000000000001000 ] || fail "$name ($task): CapPrm $(field CapPrm), not CAP_NET_ADMIN alone"
    [ "$(field CapInh)" = 0000000000000000 ] || fail "$name ($task): CapInh $(field CapInh)"
    [ "$(field CapAmb)" = 0000000000000000 ] || fail "$name ($task): CapAmb $(field CapAmb)"
    [ "$(field CapBnd)" = 0000000000000000 ] || fail "$name ($task): CapBnd $(field CapBnd), not empty"
    [ "$(field NoNewPrivs)" = 1 ] || fail "$name ($task): NoNewPrivs $(field NoNewPrivs)"
  done
  note "pid $pid: $threads thread(s) with uid $want_uid, gid $want_gid, CAP_NET_ADMIN only, no_new_privs"
}

note "traffic both ways after the drop"
wait_link_up a
wait_link_up b
ip netns exec "$NS_A" ping -c 3 -i 0.1 -W 2 "$ADDR_B" >/dev/null || fail "ping A -> B"
ip netns exec "$NS_B" ping -c 3 -i 0.1 -W 2 "$ADDR_A" >/dev/null || fail "ping B -> A"
# After traffic, so io_uring workers (if any were started) are among the threads checked.
expect_creds "$pid_a" "$uid" "$gid"
note "B, root without user, keeps CAP_NET_ADMIN alone too"
expect_creds "$pid_b" 0 0

note "control socket: A's 0660 with its group, B's 0600"
[ "$(stat -c '%a %G' "$(socket_of a)")" = "660 $sock_group" ] || fail "A's socket: $(stat -c '%a %G' "$(socket_of a)")"
[ "$(stat -c '%a %U' "$(socket_of b)")" = "600 root" ] || fail "B's socket: $(stat -c '%a %U' "$(socket_of b)")"
status_json a >/dev/null || fail "root cannot ask A for status"
status_json b >/dev/null || fail "root cannot ask B for status"
as_user() { setpriv --reuid="$uid" --regid="$gid" "$@"; }
as_user --groups="$sock_gid" "$VNIC_BIN_VNICCTL" status --socket "$(socket_of a)" --json >/dev/null ||
  fail "a member of $sock_group cannot ask A for status"
! as_user --clear-groups "$VNIC_BIN_VNICCTL" status --socket "$(socket_of a)" --json >/dev/null 2>&1 ||
  fail "a user outside $sock_group got A's status"
! as_user --groups="$sock_gid" "$VNIC_BIN_VNICCTL" status --socket "$(socket_of b)" --json >/dev/null 2>&1 ||
  fail "a non-root user got B's status through a 0600 socket"

note "carrier on A (dropped) follows B: kill -9 B, then restart it"
stop_node b KILL
wait_until 5 "carrier off on A after B died" carrier_is a 0
start_node b --key-file "$E2E_RUN/b.key"
wait_link_up a
wait_link_up b
ip netns exec "$NS_A" ping -c 3 -i 0.1 -W 2 "$ADDR_B" >/dev/null || fail "ping A -> B after B restarted"

note "SIGHUP on A re-reads its config and key file as $user"
write_config 50 600
kill -HUP "$pid_a"
wait_until 5 "A's reload" grep -q "SIGHUP: reloaded log level debug, heartbeat 50 ms, dead after 600 ms" "$E2E_RUN/a.log"
! grep -q "SIGHUP: keeping the running configuration\|cannot be read after the drop" "$E2E_RUN/a.log" ||
  fail "A could not re-read its files after the drop"
ip netns exec "$NS_A" ping -c 3 -i 0.1 -W 2 "$ADDR_B" >/dev/null || fail "ping A -> B after the reload"

note "clean stop of A: exit 0, B loses carrier, A removed its socket"
stop_node a TERM
grep -q "stopped cleanly" "$E2E_RUN/a.log" || fail "A did not log its clean stop"
wait_until 2 "carrier off on B after A stopped" carrier_is b 0
[ ! -e "$(socket_of a)" ] || fail "A left its control socket behind"
stop_node b TERM

note "as the packaged unit starts it: root's uid with the unit's bounding set, on block devices"
# The unit gives vnicd no CAP_DAC_OVERRIDE: root's uid must open the (root-owned) devices as their
# owner, and the bounding set must be enough to become the user and empty it.
# Loop devices stand in for the LUNs; without them this last part is left out (and says so).
if ! loop_a=$(losetup -f --show "$a" 2>/dev/null); then
  note "no loop device to stand in for a LUN: the block-device part is left out"
  echo "PASS"
  exit 0
fi
loop_b=$(losetup -f --show "$b") || { losetup -d "$loop_a"; fail "no second loop device"; }
trap 'status=$?; stop_node a KILL; stop_node b KILL; losetup -d "$loop_a" "$loop_b"; (exit $status); cleanup' EXIT
start_like_unit() {  # start_like_unit SIDE SEND RECV: vnicd under the unit's credentials
  local side=$1 send=$2 recv=$3
  ip netns exec "$(ns_of $side)" setpriv --regid="$gid" --clear-groups --inh-caps=-all --ambient-caps=-all \
    --bounding-set=-all,+net_admin,+setuid,+setgid,+setpcap --no-new-privs \
    "$VNIC_BIN_VNICD" --ifname vnic0 --send "$send" --recv "$recv" --address "$(addr_of $side)/24" \
    --control-socket "$(socket_of $side)" --log-level debug --user $user >>"$E2E_RUN/$side.log" 2>&1 &
  echo $! >"$E2E_RUN/$side.pid"
  wait_until 10 "vnicd $side to answer on its control socket" status_json $side
  ip netns exec "$(ns_of $side)" ip link set vnic0 up
}
start_like_unit a "$loop_a" "$loop_b"
start_like_unit b "$loop_b" "$loop_a"
grep -qF "send $loop_a (" "$E2E_RUN/a.log" && ! grep -qF "send $loop_a (file" "$E2E_RUN/a.log" ||
  fail "A does not say it writes to the block device $loop_a"
wait_link_up a
wait_link_up b
ip netns exec "$NS_A" ping -c 3 -i 0.1 -W 2 "$ADDR_B" >/dev/null || fail "ping A -> B on block devices"
ip netns exec "$NS_B" ping -c 3 -i 0.1 -W 2 "$ADDR_A" >/dev/null || fail "ping B -> A on block devices"
expect_creds "$(cat "$E2E_RUN/a.pid")" "$uid" "$gid"
stop_node a TERM
stop_node b TERM
echo "PASS"
