# Helpers for the shared-LUN tests, on top of tests/e2e/lib.sh (and through it tools/vnic-lab):
# N nodes (namespaces NAME-a, NAME-b, ...) whose vnicd share one volume of N slots, node i on
# slot i-1 with vnic0 PREFIX.i/24. Everything asserted comes from the kernel (ping, sockets,
# carrier) and from vnicd's status JSON ("peers": one entry per other slot).
E2E_SUBNET=${E2E_SUBNET:-30}
# 16 MiB per node: 255 ring blocks of 64 KiB per slot, and a volume formatted in a moment.
E2E_VOLUME_SIZE=${E2E_VOLUME_SIZE:-16M}
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
DEAD_AFTER_MS=${DEAD_AFTER_MS:-1000}
# Scheduling slack on a busy 2-core machine (more under ASan, where vnicd runs 2-3x slower).
SHARED_MARGIN_MS=${SHARED_MARGIN_MS:-$([ -n "$LIBASAN" ] && echo 1500 || echo 500)}

# shared_setup NODES [file|loop]: namespaces and one volume of NODES slots, no daemons yet.
shared_setup() {
  lab_set_shared "$1"
  lab_setup 64K "${2:-file}"
}

shared_volume() { lab_volume a; }
# others SIDE: every node of the lab but SIDE.
others() { local side; for side in $(lab_sides); do [ "$side" = "$1" ] || echo "$side"; done; }

# peer_json SIDE PEER: SIDE's view of PEER (its entry in SIDE's status "peers").
peer_json() { status_json "$1" | jq -c ".peers[] | select(.slot == $(lab_slot "$2"))"; }
peer_state() { peer_json "$1" "$2" | jq -r .state; }
peer_state_is() { [ "$(peer_state "$1" "$2")" = "$3" ]; }

# peer_state_within SIDE PEER STATE T0_MS LIMIT_MS: waits until SIDE sees PEER in STATE and prints
# when SIDE's daemon made the change, in milliseconds since T0_MS (the daemon's own clock at its
# answer, time_unix_ms, less the state's since_ms: what the daemon did, not how fast this loop
# polled nor how late a starved shell read the answer); fails if that is over LIMIT_MS, or once
# LIMIT_MS + 3 s have passed without the change.
peer_state_within() {
  local side=$1 peer=$2 state=$3 t0=$4 limit=$5 status entry took
  while true; do
    status=$(status_json "$side")
    entry=$(jq -c ".peers[] | select(.slot == $(lab_slot "$peer"))" <<<"$status")
    if [ "$(jq -r .state <<<"$entry")" = "$state" ]; then
      took=$(jq -n --argjson s "$status" --argjson e "$entry" --argjson t0 "$t0" '$s.time_unix_ms - $e.since_ms - $t0 | floor')
      break
    fi
    [ $(( $(now_ms) - t0 )) -le $((limit + 3000)) ] || fail "$side never saw $peer $state (it says: $entry)"
    # since_ms makes the figure exact however seldom this asks; asking often only loads the daemon.
    sleep 0.1
  done
  [ $took -le "$limit" ] || fail "$side saw $peer $state after $took ms (limit $limit ms)"
  echo $took
}

# ping_all: five pings between every ordered pair of nodes, every one answered.
ping_all() {
  local from to
  for from in $(lab_sides); do
    for to in $(others "$from"); do
      ip netns exec "$(lab_ns $from)" ping -c 5 -i 0.02 -W 2 -q "$(lab_addr $to)" >/dev/null ||
        fail "ping $from -> $to ($(lab_addr $to)) lost packets"
    done
  done
}

# The drops vnicd counts where a datagram can be lost: tx on the sender, rx on the receiver, plus
# the receiving kernel's own UDP buffer overflows (outside vnic, as in tests/e2e/test_traffic.sh).
tx_drops() { status_json "$1" | jq '[.drops.tx_ring_full, .drops.tx_too_big, .drops.tx_tap_queue_full] | add'; }
rx_drops() {
  local counted rcvbuf
  counted=$(status_json "$1" | jq '[.drops.rx_too_old, .drops.rx_partial_frames, .drops.rx_admin_down, .drops.rx_tap_rejected, .drops.rx_kernel_dropped] | add')
  rcvbuf=$(ip netns exec "$(lab_ns "$1")" awk '/^Udp:/ { getline; print $6 }' /proc/net/snmp)
  echo $((counted + rcvbuf))
}
# lost_blocks SIDE: blocks SIDE's readers lost, skipped as corrupt or lost to a lap, over all peers.
lost_blocks() {
  status_json "$1" | jq '[.peers[].rx | .lost_blocks + .corrupt_blocks + .blocks_lost_lapped] | add'
}

# udp_port FROM TO: the port of the FROM -> TO stream.
udp_port() { echo $((7000 + 10 * $(lab_host "$1") + $(lab_host "$2"))); }

# udp_streams_start COUNT PPS SIZE MAX_SIZE SIDE...: a self-checking UDP stream (udp_probe) between
# every ordered pair of the SIDEs, all at once; udp_streams_check waits for them and checks them.
udp_streams_start() {
  local count=$1 pps=$2 size=$3 max_size=$4 from to port
  shift 4
  UDP_STREAMS=()
  UDP_COUNT=$count
  for from in "$@"; do
    for to in "$@"; do
      [ "$from" != "$to" ] || continue
      port=$(udp_port $from $to)
      # 3 s of silence ends a stream, but its sender may start seconds after its receiver: the
      # senders below start one by one, and a loaded machine starts processes slowly.
      ip netns exec "$(lab_ns $to)" "$UDP_PROBE" recv $port $count 3000 30000 >"$E2E_RUN/udp-$from$to.json" 2>"$E2E_RUN/udp-$from$to.err" &
      UDP_STREAMS+=("$from$to:$!")
    done
  done
  for stream in "${UDP_STREAMS[@]}"; do
    wait_until 5 "the UDP receiver of ${stream%%:*}" grep -q listening "$E2E_RUN/udp-${stream%%:*}.err"
  done
  UDP_SENDERS=()
  for stream in "${UDP_STREAMS[@]}"; do
    from=${stream:0:1} to=${stream:1:1}
    ip netns exec "$(lab_ns $from)" "$UDP_PROBE" send "$(lab_addr $to)" "$(udp_port $from $to)" $count $size $pps $max_size \
      "$(lab_host $to)" >/dev/null &
    UDP_SENDERS+=($!)
  done
}

# udp_streams_check: waits for the streams; none may deliver a corrupt, duplicated or reordered
# datagram, and every missing one must be counted as a drop: the datagrams missing at a receiving
# node are at most the senders' tx drops and the receiving node's rx drops, unless that node counted
# lost blocks (a lap past a stall, damage), which hold an unknown number of them. (At most, not exactly:
# on a shared segment every node reads every frame, so a node's rx drops include frames for the
# others.) Sets UDP_RECEIVED and UDP_MISSING (over all streams) and UDP_DROPS (what the nodes
# counted).
udp_streams_check() {
  local stream pair json senders="" receivers="" side tx=0 node_missing node_drops node_lost_blocks
  declare -A missing_at=()
  UDP_RECEIVED=0 UDP_MISSING=0 UDP_DROPS=0
  for pid in "${UDP_SENDERS[@]}"; do wait "$pid" || fail "a udp_probe sender failed"; done
  for stream in "${UDP_STREAMS[@]}"; do
    pair=${stream%%:*}
    wait "${stream##*:}" || fail "udp_probe recv for $pair failed"
    json=$E2E_RUN/udp-$pair.json
    [ "$(jq .corrupt "$json")" = 0 ] || fail "$pair: corrupt datagrams delivered: $(cat "$json")"
    [ "$(jq .duplicates "$json")" = 0 ] || fail "$pair: duplicated datagrams delivered: $(cat "$json")"
    [ "$(jq .reordered "$json")" = 0 ] || fail "$pair: reordered datagrams delivered: $(cat "$json")"
    UDP_RECEIVED=$((UDP_RECEIVED + $(jq .received "$json")))
    UDP_MISSING=$((UDP_MISSING + $(jq .missing "$json")))
    missing_at[${pair:1:1}]=$(( ${missing_at[${pair:1:1}]:-0} + $(jq .missing "$json") ))
    case " $senders " in *" ${pair:0:1} "*) ;; *) senders="$senders ${pair:0:1}" ;; esac
    case " $receivers " in *" ${pair:1:1} "*) ;; *) receivers="$receivers ${pair:1:1}" ;; esac
  done
  for side in $senders; do tx=$((tx + $(tx_drops $side))); done
  UDP_DROPS=$tx
  for side in $receivers; do
    node_drops=$(rx_drops $side)
    UDP_DROPS=$((UDP_DROPS + node_drops))
    node_missing=${missing_at[$side]}
    [ "$node_missing" -gt $((tx + node_drops)) ] || continue
    # Blocks a reader lost (lapped past the stall bound, corrupt, missing) are counted as blocks,
    # not frames: they explain missing datagrams, but not how many.
    node_lost_blocks=$(lost_blocks "$side")
    [ "$node_lost_blocks" -gt 0 ] ||
      fail "$node_missing datagrams missing at $side, but the senders counted $tx tx drops, $side $node_drops rx drops and no lost blocks"
    note "$node_missing datagrams missing at $side: $tx tx drops, $node_drops rx drops, and $node_lost_blocks blocks $side lost (counted as blocks)"
  done
}

# blocks_all_consumed SIDE...: each node's reader of every other node consumed every block that
# node wrote: delivered it, or passed it over as holding nothing for it (a version 2 block whose
# destinations leave it out). Only where no node counted a drop.
blocks_all_consumed() {
  local side peer written seen
  for peer in "$@"; do
    written=$(status_field $peer .tx.blocks)
    for side in "$@"; do
      [ "$side" != "$peer" ] || continue
      seen=$(peer_json $side $peer | jq '.rx.blocks + .rx.not_for_us_blocks')
      [ "$seen" = "$written" ] || fail "$peer wrote $written blocks, $side consumed $seen of them: $(peer_json $side $peer)"
    done
  done
}
