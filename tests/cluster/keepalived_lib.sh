# keepalived on the cluster lab (cluster_lib.sh): one keepalived per node namespace, VRRP adverts
# over vnic0, the VIP on the LAN port, with the configuration in keepalived.conf. Each
# instance reports its state through a notify script into a file of its own, so the tests read
# keepalived's own view of itself, and the VIP's presence from `ip addr`.
# Sourced by test_keepalived_*.sh.
E2E_SUBNET=${E2E_SUBNET:-30}  # vnic0 10.77.30.0/24, the LAN 10.77.31.0/24
source "$(dirname "${BASH_SOURCE[0]}")/cluster_lib.sh"

KA_DIR=$E2E_RUN/keepalived
KA_TEMPLATE=$(dirname "${BASH_SOURCE[0]}")/keepalived.conf
KA_ADVERT_INT_MS=1000  # advert_int in keepalived.conf
KA_PRIORITY_A=150
KA_PRIORITY_B=100
VIP=$LAB_LAN_PREFIX.100

# The longest a BACKUP waits for a silent MASTER (RFC 5798 Master_Down_Interval):
# 3 x advert_int + skew, skew = (256 - priority) / 256 x advert_int.
ka_master_down_ms() { echo $(( 3 * KA_ADVERT_INT_MS + (256 - $1) * KA_ADVERT_INT_MS / 256 )); }

# keepalived_config SIDE: writes SIDE's config (KA_DIR/SIDE.conf) and notify script.
keepalived_config() {
  local side=$1 priority=$KA_PRIORITY_A
  [ "$side" = a ] || priority=$KA_PRIORITY_B
  mkdir -p "$KA_DIR"
  # keepalived runs it as: notify TYPE NAME STATE PRIORITY.
  cat >"$KA_DIR/notify-$side.sh" <<NOTIFY
#!/bin/sh
echo "\$(date +%s%3N) \$3" >>"$KA_DIR/$side.states"
echo "\$3" >"$KA_DIR/$side.state"
NOTIFY
  chmod 755 "$KA_DIR/notify-$side.sh"
  echo INIT >"$KA_DIR/$side.state"
  sed -e "s|@NODE@|$(lab_ns "$side")|; s|@PRIORITY@|$priority|; s|@VIP@|$VIP|" \
      -e "s|@SRC@|$(lab_addr "$side")|; s|@PEER@|$(lab_addr "$(lab_peer "$side")")|" \
      -e "s|@NOTIFY@|$KA_DIR/notify-$side.sh|" "$KA_TEMPLATE" >"$KA_DIR/$side.conf"
}

# keepalived_command SIDE: the command line for SIDE's keepalived: VRRP only, in the foreground,
# logging to stdout, pid files of its own, its VRRP child not respawned (a child a test kills
# stays dead). Under ip netns exec, which execs it.
keepalived_command() {
  printf '%s\n' ip netns exec "$(lab_ns "$1")" keepalived --vrrp --dont-fork --dont-respawn --log-console \
    --log-detail --no-syslog --use-file "$KA_DIR/$1.conf" --pid "$KA_DIR/$1.pid" --vrrp_pid "$KA_DIR/$1.vrrp.pid"
}

# keepalived_start SIDE: SIDE's config, and keepalived in the background (log KA_DIR/SIDE.log).
keepalived_start() {
  local side=$1 argv
  keepalived_config "$side"
  mapfile -t argv < <(keepalived_command "$side")
  "${argv[@]}" </dev/null >>"$KA_DIR/$side.log" 2>&1 &
  echo $! >"$KA_DIR/$side.main.pid"
  disown $!  # its end (a kill -9 in a test) is not the shell's to report
}

# keepalived_kill SIDE: kill -9 to the VRRP child and the parent, as a node crash does. The child
# first: killed after its parent it would see the parent die and resign cleanly (a priority 0
# advert), which is a clean stop, not a crash.
keepalived_kill() {
  local side=$1 pid
  for pid in $(cat "$KA_DIR/$side.vrrp.pid" "$KA_DIR/$side.main.pid" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  rm -f "$KA_DIR/$side.main.pid"
}

keepalived_stop() {
  local side=$1 pid
  [ -f "$KA_DIR/$side.main.pid" ] || return 0
  pid=$(cat "$KA_DIR/$side.main.pid")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do lab_running "$pid" || break; sleep 0.05; done
  keepalived_kill "$side"
}

keepalived_state() { local state=NONE; read -r state <"$KA_DIR/$1.state" 2>/dev/null || true; echo "$state"; }
keepalived_state_is() { [ "$(keepalived_state "$1")" = "$2" ]; }

KA_DEAD=  # the node a test has killed, if any
# ka_sample: sets KA_A and KA_B to one word per node, e.g. KA_A=MASTER+vip KA_B=BACKUP:
# keepalived's own state (from its notify script) and "+vip" where the VIP is on lan0. Forks
# only ip: the samplers run on busy CI machines.
ka_sample() {
  local side state addrs
  for side in a b; do
    if [ "$KA_DEAD" = $side ]; then
      state=dead  # a dead node's last words (its state file, an address on its dark port) mean nothing
    else
      state=NONE
      read -r state <"$KA_DIR/$side.state" 2>/dev/null || true
      addrs=" $(ip -n "$(lab_ns $side)" -br addr show lan0 2>/dev/null) "
      [[ $addrs == *" $VIP/24 "* ]] && state+=+vip
    fi
    if [ $side = a ]; then KA_A=$state; else KA_B=$state; fi
  done
}

# only_master SIDE: the last sample shows SIDE as MASTER with the VIP, the other node neither.
only_master() {
  local mine=$KA_A other=$KA_B
  [ "$1" = a ] || { mine=$KA_B other=$KA_A; }
  [ "$mine" = MASTER+vip ] && [[ $other != MASTER* && $other != *+vip ]]
}

# wait_master SIDE LIMIT_MS START_MS: waits until SIDE is the only MASTER and the only VIP holder;
# prints the time from START_MS; fails past LIMIT_MS.
wait_master() {
  local side=$1 limit=$2 start=$3 took
  while :; do
    ka_sample
    took=$(( $(now_ms) - start ))
    only_master "$side" && break
    [ $took -le $((limit + 5000)) ] || fail "node $side did not become the only MASTER within $((limit + 5000)) ms (a=$KA_A b=$KA_B)"
    sleep 0.02
  done
  note "node $side MASTER with the VIP after $took ms (limit $limit ms): a=$KA_A b=$KA_B"
  [ $took -le "$limit" ] || fail "node $side took $took ms to take over (limit $limit ms)"
}

# hold_single_master SIDE SECONDS: samples both nodes every 200 ms; every sample must show SIDE
# as the only MASTER and the only node holding the VIP.
hold_single_master() {
  local side=$1 seconds=$2 samples=0 start end now
  start=$(now_ms)
  end=$(( start + seconds * 1000 ))
  while now=$(now_ms); [ "$now" -lt $end ]; do
    ka_sample
    only_master "$side" || fail "sample $samples: expected node $side the only MASTER with the VIP, saw a=$KA_A b=$KA_B"
    samples=$((samples + 1))
    sleep 0.2
  done
  note "$samples samples over ${seconds} s (one per $(( (now - start) / samples )) ms): node $side the only MASTER every time (a=$KA_A b=$KA_B)"
}

# fail() prints dump_logs, and the EXIT trap runs cleanup: both learn about keepalived.
eval "without_keepalived_$(declare -f dump_logs)"
dump_logs() {
  without_keepalived_dump_logs
  local side
  for side in a b; do
    [ -f "$KA_DIR/$side.log" ] && { echo "---- keepalived $side log"; grep -v "Sending gratuitous ARP" "$KA_DIR/$side.log" | tail -n 20; }
    [ -f "$KA_DIR/$side.states" ] && { echo "---- keepalived $side notify (ms, state)"; cat "$KA_DIR/$side.states"; }
  done
  return 0
}
eval "without_keepalived_$(declare -f cleanup)"
cleanup() {
  local status=$? side
  for side in a b; do keepalived_stop $side; done
  set +e  # the lab's cleanup takes the test's status from $?
  (exit $status)
  without_keepalived_cleanup
}

# keepalived_lab_up [--supervise]: the lab with its LAN and both vnicd (supervised: restarted
# after a kill -9), keepalived on both nodes; returns once node a (priority 150) is MASTER with
# the VIP and node b BACKUP.
keepalived_lab_up() {
  require_cluster keepalived
  cluster_setup "$@"
  cluster_vnicd_up
  local start
  start=$(now_ms)
  keepalived_start a
  keepalived_start b
  wait_master a 10000 "$start"
  [ "$(keepalived_state b)" = BACKUP ] || fail "node b is $(keepalived_state b), not BACKUP"
}
