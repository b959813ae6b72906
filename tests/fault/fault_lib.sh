# Helpers for the fault tests, on top of tests/e2e/lib.sh: a two-node lab whose receive volumes
# are copies kept by vnic-mirror (A's send volume a.vol -> a.mirror, read by B; b.vol ->
# b.mirror, read by A), UDP traffic A -> B, and the frame accounting that must add up.
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
# VNIC_MIRROR may name another build's mirror (to run an older vnicd against today's faults).
export VNIC_MIRROR=${VNIC_MIRROR:-$VNIC_BUILD/tests/fault/vnic-mirror}
export E2E_VOLUME_SIZE=${E2E_VOLUME_SIZE:-32M}
# A test that claims a fault never flaps the carrier under a flood may set a longer one (see
# test_engine_eio.sh); the timing tests keep 1000.
DEAD_AFTER_MS=${DEAD_AFTER_MS:-1000}
# Under ASan+UBSan (CI runs the suite twice) the same faults go with half the traffic, and the
# daemons, two to three times slower, get more slack to bring carrier back.
FAULT_SCALE_PCT=${FAULT_SCALE_PCT:-$([ -n "$LIBASAN" ] && echo 50 || echo 100)}
scaled() { echo $(( $1 * FAULT_SCALE_PCT / 100 )); }
# Polling and scheduling slack on a busy 2-core machine.
CARRIER_MARGIN_MS=${CARRIER_MARGIN_MS:-$([ -n "$LIBASAN" ] && echo 1000 || echo 300)}
# How long the receiver of a test whose outage stops delivery for seconds waits for the next
# datagram before it reports: the outage (carrier off, then a second more) and the return of
# carrier, each up to its own limit. Under ASan those limits are wider and the outage runs longer
# (CI once saw the frames held back by a 5 s silence arrive after a 5000 ms receiver had gone).
OUTAGE_PROBE_IDLE_MS=$(( 2 * (DEAD_AFTER_MS + CARRIER_MARGIN_MS) + 4000 ))

fault_cleanup() {
  local status=$?
  for side in a b; do stop_mirror $side KILL >/dev/null 2>&1 || true; done
  # FAULT_KEEP=1: keep the volumes and logs of a failed run for a post-mortem.
  if [ $status -ne 0 ] && [ "${FAULT_KEEP:-0}" = 1 ]; then
    stop_node a KILL >/dev/null 2>&1 || true
    stop_node b KILL >/dev/null 2>&1 || true
    mkdir -p "/var/tmp/keep-$E2E_NAME" && cp -r "$E2E_VOL" "$E2E_RUN" "/var/tmp/keep-$E2E_NAME/" 2>/dev/null || true
  fi
  set +e  # cleanup reads the test's status from $? and must run whatever happens
  (exit $status)
  cleanup
}

# fault_lab_setup: namespaces, formatted send volumes, and their mirrors as exact copies.
fault_lab_setup() {
  lab_setup 64K
  trap fault_cleanup EXIT
  for side in a b; do cp --sparse=never "$E2E_VOL/$side.vol" "$E2E_VOL/$side.mirror"; done
}

# start_mirror SIDE [vnic-mirror options]: copies SIDE's send volume to its mirror.
# The mirror plays the storage array, which a busy host does not starve: it runs at vnicd's
# real-time priority (vnicd's default, SCHED_RR 40) where the kernel allows it. At normal priority
# it fell seconds behind whenever the two vnicds kept both cores busy (under ASan: the peer's state
# records reached the other side over a second late, and the carrier flapped).
start_mirror() {
  local side=$1 realtime=()
  shift
  chrt -r 40 true 2>/dev/null && realtime=(chrt -r 40)
  "${realtime[@]}" "$VNIC_MIRROR" --src "$E2E_VOL/$side.vol" --dst "$E2E_VOL/$side.mirror" --stats "$E2E_RUN/mirror-$side.json" \
    --control "$E2E_RUN/mirror-$side.ctl" "$@" >"$E2E_RUN/mirror-$side.out" 2>>"$E2E_RUN/mirror-$side.log" &
  echo $! >"$E2E_RUN/mirror-$side.pid"
  wait_until 10 "vnic-mirror $side to start" grep -q running "$E2E_RUN/mirror-$side.log"
}

# stop_mirror SIDE [TERM|KILL]: its counts are then in mirror-SIDE.out.
stop_mirror() {
  local side=$1 signal=${2:-TERM} pid
  [ -f "$E2E_RUN/mirror-$side.pid" ] || return 0
  pid=$(cat "$E2E_RUN/mirror-$side.pid")
  kill -"$signal" "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$E2E_RUN/mirror-$side.pid"
}

mirror_signal() { kill -"$2" "$(cat "$E2E_RUN/mirror-$1.pid")"; }
mirror_control() { echo "$2" >"$E2E_RUN/mirror-$1.ctl"; }
# The mirror's counts while it runs (SIGHUP makes it write them).
mirror_stats() {
  rm -f "$E2E_RUN/mirror-$1.json"
  mirror_signal $1 HUP
  wait_until 5 "vnic-mirror $1 counts" test -s "$E2E_RUN/mirror-$1.json"
  cat "$E2E_RUN/mirror-$1.json"
}

# fault_start_node SIDE [vnicd flags]: vnicd reading the peer's mirror. NODE_ENV_a / NODE_ENV_b
# add environment (VNIC_FAULT_INJECT=..., LD_PRELOAD=...), NODE_WRAP_a / NODE_WRAP_b a command
# prefix (unshare ...).
fault_start_node() {
  local side=$1; shift
  local ns env_var=NODE_ENV_$side wrap_var=NODE_WRAP_$side
  ns=$(ns_of $side)
  # shellcheck disable=SC2086
  ip netns exec "$ns" env ${!env_var:-} ${!wrap_var:-} "$VNIC_BIN_VNICD" --ifname vnic0 --send "$E2E_VOL/$side.vol" \
    --recv "$E2E_VOL/$(peer_of $side).mirror" --address "$(addr_of $side)/24" --control-socket "$(socket_of $side)" \
    --dead-after-ms $DEAD_AFTER_MS --log-level debug "$@" >>"$E2E_RUN/$side.log" 2>&1 &
  echo $! >"$E2E_RUN/$side.pid"
  wait_until 10 "vnicd $side to answer on its control socket" status_json $side
  ip netns exec "$ns" ip link set vnic0 up
}

fault_lab_up() {
  fault_start_node a "$@"
  fault_start_node b "$@"
  wait_link_up a
  wait_link_up b
  static_neighbours
}

# The probe's datagrams must be the only frames on the link for the accounting to be exact: no
# ARP (permanent neighbours) and no IPv6 (lab_setup turned it off).
static_neighbours() {
  local mac_a mac_b
  mac_a=$(ip netns exec "$NS_A" cat /sys/class/net/vnic0/address)
  mac_b=$(ip netns exec "$NS_B" cat /sys/class/net/vnic0/address)
  ip netns exec "$NS_A" ip neigh replace "$ADDR_B" lladdr "$mac_b" dev vnic0 nud permanent
  ip netns exec "$NS_B" ip neigh replace "$ADDR_A" lladdr "$mac_a" dev vnic0 nud permanent
}

# The real vnicd of SIDE (a wrapper such as unshare --fork sits between it and the recorded pid).
vnicd_pid() {
  local pid
  pid=$(cat "$E2E_RUN/$1.pid")
  [ "$(cat /proc/$pid/comm 2>/dev/null)" = vnicd ] && { echo $pid; return; }
  pgrep -x vnicd -P "$pid" | head -n 1
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$(vnicd_pid $1)/status"; }

# check_rss SIDE BEFORE_KIB: VmRSS stayed below twice what it was once traffic had warmed it up.
check_rss() {
  local now
  now=$(rss_kib $1)
  note "vnicd $1 VmRSS: $2 KiB before the faults, $now KiB after"
  [ "$now" -le $(( $2 * 2 )) ] || fail "vnicd $1 VmRSS grew from $2 KiB to $now KiB"
}

# Datagrams B's kernel dropped on their way to the receiving socket.
kernel_udp_drops() {
  udp_counter InErrors
}
# Datagrams that reached B after the receiver had stopped listening (the harness gave up early).
udp_counter() {
  ip netns exec "$NS_B" awk -v name="$1" '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) n[$i] = i; h = 1 } else print $n[name] }' /proc/net/snmp
}

# snapshot NAME: every counter the accounting needs, from both daemons and both kernels.
snapshot() {
  local a b
  a=$(status_json a)
  b=$(status_json b)
  jq -n --argjson a "$a" --argjson b "$b" --arg kdrop "$(kernel_tx_drops)" --arg kudp "$(kernel_udp_drops)" \
    --arg noport "$(udp_counter NoPorts)" '{
    a_from_tap: $a.interface.tap.from_kernel_frames, a_placed: $a.tx.frames,
    a_tx_drops: ($a.drops.tx_ring_full + $a.drops.tx_too_big + $a.drops.tx_tap_truncated),
    a_ring_full: $a.drops.tx_ring_full, a_blocks: $a.tx.blocks,
    b_delivered: $b.rx.frames, b_rx_frame_drops: ($b.drops.rx_too_old + $b.drops.rx_partial_frames),
    b_rx_after_delivery: ($b.drops.rx_admin_down + $b.drops.rx_tap_rejected),
    b_to_tap: $b.interface.tap.to_kernel_frames,
    b_corrupt_blocks: $b.drops.rx_corrupt_blocks, b_lost_blocks: $b.drops.rx_lost_blocks,
    a_carrier_changes: $a.counters.carrier_changes, b_carrier_changes: $b.counters.carrier_changes,
    a_write_errors: $a.tx.write_errors, b_write_errors: $b.tx.write_errors,
    a_read_errors: $a.rx.read_errors, b_read_errors: $b.rx.read_errors, b_crc_rereads: $b.rx.crc_rereads,
    b_too_old: $b.drops.rx_too_old,
    kernel_tx_drops: ($kdrop | tonumber), kernel_udp_drops: ($kudp | tonumber),
    udp_no_port: ($noport | tonumber)}' >"$E2E_RUN/snap-$1.json"
}
snap() { jq -r ".$2" "$E2E_RUN/snap-$1.json"; }
delta() { echo $(( $(snap $2 $1) - $(snap $3 $1) )); }  # delta FIELD AFTER BEFORE

# probe SENT_NAME COUNT PPS [MIN_SIZE [MAX_SIZE [SEED]]]: numbered datagrams A -> B; the receiver's
# report is in $E2E_RUN/SENT_NAME.json. Runs in the background when PROBE_BACKGROUND=1 (then
# call probe_wait).
probe() {
  local name=$1 count pps=$3 min=${4:-200} max=${5:-0} seed=${6:-1}
  count=$(scaled $2)
  ip netns exec "$NS_B" "$UDP_PROBE" recv 7001 "$count" "${PROBE_IDLE_MS:-4000}" >"$E2E_RUN/$name.json" 2>"$E2E_RUN/$name.err" &
  PROBE_RECEIVER=$!
  wait_until 5 "the UDP receiver" grep -q listening "$E2E_RUN/$name.err"
  local args=("$ADDR_B" 7001 "$count" "$min" "$pps")
  [ "$max" = 0 ] || args+=("$max" "$seed")
  if [ "${PROBE_BACKGROUND:-0}" = 1 ]; then
    ip netns exec "$NS_A" "$UDP_PROBE" send "${args[@]}" >/dev/null &
    PROBE_SENDER=$!
  else
    ip netns exec "$NS_A" "$UDP_PROBE" send "${args[@]}" >/dev/null || fail "udp_probe send failed"
    probe_wait
  fi
}
probe_wait() {
  [ -z "${PROBE_SENDER:-}" ] || wait "$PROBE_SENDER" || fail "udp_probe send failed"
  PROBE_SENDER=
  wait "$PROBE_RECEIVER" || fail "udp_probe recv failed"
}

# Waits until B has delivered everything A placed (or counted it), so the counts are final: both
# A's placed frames and B's delivered and dropped ones stand still for one interval. A's side is
# watched too, because a frame A places after B went quiet (an ICMP error for a late datagram)
# would otherwise be counted as placed and never as delivered.
quiesce() {
  local last="" now
  for _ in $(seq 1 100); do
    now=$(jq -cn --argjson a "$(status_json a)" --argjson b "$(status_json b)" \
      '[$a.tx.frames, $a.tx.blocks, $b.rx.frames, $b.drops.rx_too_old, $b.drops.rx_partial_frames, $b.rx.next_sequence]')
    [ "$now" = "$last" ] && return 0
    last=$now
    sleep 0.3
  done
}

# reconcile NAME BEFORE AFTER [DESTROYED_FRAMES [DESTROYED_BLOCKS]]: the datagrams of probe NAME
# against the counters, with the mirror's count of what it destroyed.
#  - none corrupt, duplicated or reordered;
#  - B skipped (as corrupt or lost) exactly the blocks the mirror destroyed, no more, no fewer;
#  - every datagram sent reached A's vnicd or was counted dropped by A's kernel;
#  - every frame A's vnicd read was placed in a block or counted dropped by it;
#  - every frame placed reached B's TAP or was counted by B (too old, partial, admin down, TAP
#    refused) or sat whole in a block the mirror destroyed (the reader counts those blocks, not
#    their frames);
#  - so: missing datagrams = the sum of all those counted drops, exactly.
reconcile() {
  local name=$1 before=$2 after=$3 destroyed=${4:-0} destroyed_blocks=${5:-0}
  local report=$E2E_RUN/$name.json sent received missing
  received=$(jq .received "$report")
  missing=$(jq .missing "$report")
  sent=$((received + missing))
  [ "$(jq .corrupt "$report")" = 0 ] || fail "$name: $(jq .corrupt "$report") corrupt datagrams delivered"
  [ "$(jq .duplicates "$report")" = 0 ] || fail "$name: $(jq .duplicates "$report") duplicated datagrams delivered"
  [ "$(jq .reordered "$report")" = 0 ] || fail "$name: $(jq .reordered "$report") reordered datagrams delivered"
  local from_tap placed tx_drops kdrop delivered rx_drops after_delivery to_tap udp_drops skips
  from_tap=$(delta a_from_tap $after $before)
  placed=$(delta a_placed $after $before)
  tx_drops=$(delta a_tx_drops $after $before)
  kdrop=$(delta kernel_tx_drops $after $before)
  delivered=$(delta b_delivered $after $before)
  rx_drops=$(delta b_rx_frame_drops $after $before)
  after_delivery=$(delta b_rx_after_delivery $after $before)
  to_tap=$(delta b_to_tap $after $before)
  udp_drops=$(delta kernel_udp_drops $after $before)
  skips=$(( $(delta b_corrupt_blocks $after $before) + $(delta b_lost_blocks $after $before) ))
  note "$name: sent $sent, received $received, missing $missing | A kernel dropped $kdrop, A vnicd read $from_tap," \
    "placed $placed in $(delta a_blocks $after $before) blocks, dropped $tx_drops ($(delta a_ring_full $after $before) ring full) | B delivered $delivered, dropped $rx_drops (+$after_delivery after)," \
    "to TAP $to_tap, skipped $skips blocks | mirror destroyed $destroyed_blocks blocks, $destroyed whole frames" \
    "| B kernel UDP drops $udp_drops"
  [ "${FAULT_VERBOSE:-0}" = 0 ] || status_json b | jq -c '{rx, drops}'
  [ $skips -ge $destroyed_blocks ] || fail "$name: the mirror destroyed $destroyed_blocks blocks but B skipped only $skips"
  [ $skips -le $destroyed_blocks ] || fail "$name: B skipped $((skips - destroyed_blocks)) blocks the mirror never destroyed"
  local unaccounted=$((placed - delivered - rx_drops - destroyed))
  [ $sent -eq $((from_tap + kdrop)) ] || fail "$name: $sent sent but A's vnicd read $from_tap and A's kernel counted $kdrop drops"
  [ $from_tap -eq $(($(delta a_placed $after $before) + tx_drops)) ] ||
    fail "$name: A's vnicd read $from_tap frames but placed $(delta a_placed $after $before) and counted $tx_drops drops"
  [ $placed -eq $((delivered + rx_drops + destroyed)) ] ||
    fail "$name: A placed $placed frames; B delivered $delivered, counted $rx_drops, and the mirror destroyed $destroyed: $unaccounted unaccounted"
  [ $to_tap -eq $((delivered - after_delivery)) ] || fail "$name: B delivered $delivered frames but wrote $to_tap to its TAP ($after_delivery counted)"
  local late
  late=$(delta udp_no_port $after $before)
  [ "$late" -eq 0 ] || fail "$name: $late datagrams reached B after its receiver gave up (PROBE_IDLE_MS ${PROBE_IDLE_MS:-4000} is too short for this outage)"
  [ $missing -eq $((kdrop + tx_drops + rx_drops + destroyed + after_delivery + udp_drops)) ] ||
    fail "$name: $missing datagrams missing but $((kdrop + tx_drops + rx_drops + destroyed + after_delivery + udp_drops)) drops counted"
}

# carrier_back SIDE START_MS [LIMIT_MS]: carrier is on again within LIMIT_MS (default dead_after + margin) of START_MS.
carrier_back() {
  local side=$1 start=$2 limit=${3:-$((DEAD_AFTER_MS + CARRIER_MARGIN_MS))}
  while [ "$(carrier $side)" != 1 ]; do
    [ $(( $(now_ms) - start )) -le $((limit + 5000)) ] || fail "carrier on $side never came back"
    sleep 0.005
  done
  # Dated by the daemon's own clock (its answer's time_unix_ms less carrier_since_ms), not by when
  # this loop, starved on a loaded machine, got to look.
  local took
  # (If it changed again since, the loop's own figure stands.)
  took=$(status_json $side | jq --argjson start "$start" \
    'if .interface.carrier then .time_unix_ms - .interface.carrier_since_ms - $start | floor else empty end')
  [ -n "$took" ] || took=$(( $(now_ms) - start ))
  note "carrier on $side back $took ms after the fault ended (limit $limit ms)"
  [ $took -le $limit ] || fail "carrier on $side came back $took ms after the fault ended (limit $limit ms)"
}

# carrier_goes_off SIDE LIMIT_MS: the fault was felt (carrier dropped) within LIMIT_MS.
carrier_goes_off() {
  local side=$1 limit=$2 start
  start=$(now_ms)
  while [ "$(carrier $side)" != 0 ]; do
    [ $(( $(now_ms) - start )) -le $limit ] || fail "carrier on $side stayed on through the outage"
    sleep 0.005
  done
  note "carrier on $side off $(( $(now_ms) - start )) ms into the outage"
}

# watch_delivery: samples B's delivered frame count every 20 ms (to $E2E_RUN/delivery.log, as
# "MS FRAMES" lines) until unwatch_delivery.
watch_delivery() {
  (
    while :; do
      echo "$(now_ms) $(status_field b .rx.frames)"
      sleep 0.02
    done
  ) >"$E2E_RUN/delivery.log" 2>/dev/null &
  DELIVERY_WATCH=$!
}
unwatch_delivery() {
  kill "$DELIVERY_WATCH" 2>/dev/null || true
  wait "$DELIVERY_WATCH" 2>/dev/null || true
}

# finish_watched_probe: after a background probe (PROBE_BACKGROUND=1) under watch_delivery, waits
# for its sender (traffic_end: when it finished) and its receiver, stops watching, lets both daemons
# go quiet and takes the `after` snapshot.
finish_watched_probe() {
  wait "$PROBE_SENDER" || fail "udp_probe send failed"
  PROBE_SENDER=
  traffic_end=$(now_ms)
  probe_wait
  unwatch_delivery
  quiesce
  snapshot after
}
# longest_stall FROM_MS TO_MS: the longest time between FROM_MS and TO_MS in which B delivered
# nothing (from the samples of watch_delivery), in ms. Traffic must flow through the whole span.
longest_stall() {
  awk -v from="$1" -v to="$2" '
    BEGIN { last = from }
    $1 < from { count = $2; next }
    $1 > to { exit }
    { if (!started) { started = 1; last = from }
      if ($2 != count) { if ($1 - last > worst) worst = $1 - last; last = $1; count = $2 } }
    END { if (to - last > worst) worst = to - last; print worst + 0 }' "$E2E_RUN/delivery.log"
}

# recovery_check NAME FAULT_MS END_MS LIMIT_MS: B delivered something at least every LIMIT_MS
# from the fault (FAULT_MS) to the end of the traffic (END_MS): the link came back within the
# limit, however many blocks the fault damaged.
# Under ASan the limit is SANITIZER_TIME_FACTOR times LIMIT_MS.
recovery_check() {
  local name=$1 stall limit=$(($4 * SANITIZER_TIME_FACTOR))
  stall=$(longest_stall "$2" "$3")
  note "$name: B's longest stall after the fault: $stall ms (limit $limit ms)"
  echo "$stall" >"$E2E_RUN/$name.stall_ms"
  [ "$stall" -le "$limit" ] || fail "$name: B delivered nothing for $stall ms after the fault (limit $limit ms)"
}
