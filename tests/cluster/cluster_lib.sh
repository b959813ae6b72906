# Helpers for the cluster tests, on top of tests/e2e/lib.sh (and through it tools/vnic-lab's lab
# builder): the two-node lab with a LAN through a bridge in a switch namespace, two real vnicd,
# and real corosync (knet: link0 = LAN, link1 = vnic0) in the node namespaces. Everything the
# tests assert comes from the cluster tools' own output (corosync-quorumtool, -cmapctl, -cfgtool).
E2E_SUBNET=${E2E_SUBNET:-20}
export VNIC_LAB_LAN_PREFIX=${VNIC_LAB_LAN_PREFIX:-10.77.$((E2E_SUBNET + 1))}
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
DEAD_AFTER_MS=${DEAD_AFTER_MS:-1000}
# Scheduling slack on a busy 2-core machine (more under ASan, where vnicd runs 2-3x slower).
LIBASAN=$(ldd "$VNIC_BIN_VNICD" 2>/dev/null | awk '/libasan/ {print $3}')
CLUSTER_MARGIN_MS=${CLUSTER_MARGIN_MS:-$([ -n "$LIBASAN" ] && echo 1500 || echo 500)}

# require_cluster TOOL...: root, a TUN device, and the cluster programs named (skip without).
require_cluster() {
  require_environment
  local tool
  for tool in unshare "$@"; do
    command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/install-deps.sh installs the cluster packages)"
  done
}
require_corosync() { require_cluster corosync corosync-quorumtool corosync-cfgtool corosync-cmapctl corosync-keygen; }

cluster_dump_logs() {
  local side log
  for side in $(lab_sides); do
    log=$(lab_corosync_dir $side)/corosync.log
    [ -f "$log" ] && { echo "---- corosync $side log"; tail -n 25 "$log"; }
  done
  return 0
}
# fail() prints dump_logs: the daemons' logs and the cluster's.
eval "e2e_$(declare -f dump_logs)"
dump_logs() { e2e_dump_logs; cluster_dump_logs; }

# cluster_setup [--supervise]: namespaces, volumes and the LAN; vnicd supervised (restarted after
# a kill -9, as the unit's Restart= does) with --supervise. After lab_set_shared N: N nodes on one
# shared volume (a loop device, like a LUN).
cluster_setup() {
  [ "${1:-}" != --supervise ] || LAB_SUPERVISE=1
  lab_setup 64K "$([ "$LAB_SHARED" = 1 ] && echo loop || echo file)"
  lab_make_lan
}

# cluster_vnicd_up [vnicd flags]: every vnicd, carrier and operstate up on every node.
cluster_vnicd_up() { lab_up --dead-after-ms "$DEAD_AFTER_MS" "$@"; }

# corosync_up: every instance; returns once each is quorate with every node, every knet link is
# connected, and knet has settled (tools/vnic-lab: LAB_KNET_SETTLE_S).
corosync_up() {
  lab_corosync_up
  note "corosync quorate on every node, every knet link connected; ring id $(ring_id a)"
}

ring_id() { lab_quorum_field "$1" "Ring ID"; }
quorate() { lab_quorum_field "$1" Quorate; }
member_count() { lab_quorum_field "$1" Nodes; }
link_connected() { lab_knet_connected "$@"; }  # link_connected SIDE LINK [PEER] -> 1 or 0
# Data packets SIDE's knet sent to PEER (of a pair: the other node) on LINK: in passive mode only
# the link in use carries data (pings go on every link).
link_tx_data() { lab_cmap "$1" "stats.knet.node$(lab_host "${3:-$(lab_peer "$1")}").link$2.tx_data_packets"; }
link_down_count() { lab_cmap "$1" "stats.knet.node$(lab_host "${3:-$(lab_peer "$1")}").link$2.down_count"; }
totem_ms() { lab_cmap "$1" "runtime.config.totem.$2"; }  # the timing corosync runs with (token, consensus)

# wait_ms T0_MS LIMIT_MS WHAT COMMAND...: polls COMMAND (every 20 ms) until it succeeds, prints
# the milliseconds since T0_MS (a now_ms); fails once LIMIT_MS have passed since T0_MS.
wait_ms() {
  local t0=$1 limit=$2 what=$3
  shift 3
  until "$@" >/dev/null 2>&1; do
    [ $(( $(now_ms) - t0 )) -le "$limit" ] || fail "$what: not within $limit ms"
    sleep 0.02
  done
  echo $(( $(now_ms) - t0 ))
}

link_is() { [ "$(link_connected "$1" "$2" "${4:-$(lab_peer "$1")}")" = "$3" ]; }  # link_is SIDE LINK 0|1 [PEER]

# membership_holds RING SECONDS: on every node the ring id stays RING, quorate with every node a
# member, checked every 0.5 s for SECONDS.
membership_holds() {
  local ring=$1 seconds=$2 end side now
  end=$(( $(now_ms) + seconds * 1000 ))
  while [ "$(now_ms)" -lt $end ]; do
    for side in $(lab_sides); do
      now=$(ring_id $side)
      [ "$now" = "$ring" ] || fail "corosync $side: ring id changed from $ring to '$now'"
      [ "$(quorate $side)" = Yes ] || fail "corosync $side lost quorum"
      [ "$(member_count $side)" = "$LAB_NODES" ] || fail "corosync $side: $(member_count $side) members, not $LAB_NODES"
    done
    sleep 0.5
  done
}

# show_cluster SIDE: what the tools say (for the test's output).
show_cluster() {
  echo "---- $1: corosync-quorumtool -s"
  lab_exec "$1" corosync-quorumtool -s | sed -n '/^Ring ID\|^Quorate\|^Nodes\|^Flags/p'
  echo "---- $1: corosync-cfgtool -n"
  lab_exec "$1" corosync-cfgtool -n
}
