# Shared helpers for the end-to-end tests: a two-node lab with real vnicd processes, real TAPs in
# real namespaces, and volumes as files on disk. Sourced by each test_*.sh.
set -euo pipefail

: "${VNIC_BUILD:?VNIC_BUILD must name the build directory}"
export VNIC_BIN_VNICD=$VNIC_BUILD/daemon/vnicd
export VNIC_BIN_VNICCTL=$VNIC_BUILD/tools/vnicctl/vnicctl
export UDP_PROBE=$VNIC_BUILD/tests/e2e/udp_probe
E2E_NAME=${E2E_NAME:-e2e-$$}
E2E_RUN=/run/vnic-$E2E_NAME
E2E_VOL=/var/tmp/vnic-$E2E_NAME
NS_A=$E2E_NAME-a
NS_B=$E2E_NAME-b
ADDR_A=10.77.${E2E_SUBNET:-9}.1
ADDR_B=10.77.${E2E_SUBNET:-9}.2

skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; dump_logs >&2; exit 1; }
E2E_T0=$(date +%s%N)
note() { echo "-- [$(( ($(date +%s%N) - E2E_T0) / 1000000 )) ms] $*"; }

require_environment() {
  [ "$(id -u)" -eq 0 ] || skip "needs root (CAP_NET_ADMIN) for namespaces and TAP devices"
  [ -c /dev/net/tun ] || skip "/dev/net/tun is missing"
  for tool in ip iperf3 socat ping jq; do command -v $tool >/dev/null || fail "$tool is not installed (scripts/install-deps.sh)"; done
}

dump_logs() {
  for side in a b; do
    [ -f "$E2E_RUN/$side.log" ] && { echo "---- vnicd $side log"; tail -n 30 "$E2E_RUN/$side.log"; }
  done
  return 0
}

cleanup() {
  local status=$?
  for side in a b; do stop_node $side KILL 2>/dev/null || true; done
  # Whatever else the script left running (socat, probes, mirrors) would hold CTest's output pipe
  # open, and a failure would then show as a timeout minutes later.
  local leftover
  leftover=$(jobs -p)
  [ -z "$leftover" ] || kill $leftover 2>/dev/null || true
  if grep -lE "ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:" "$E2E_RUN"/*.log 2>/dev/null; then
    echo "FAIL: a sanitizer reported an error in vnicd (log above)" >&2
    grep -hE -A20 "ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:" "$E2E_RUN"/*.log >&2 || true
    status=1
  fi
  ip netns del "$NS_A" 2>/dev/null || true
  ip netns del "$NS_B" 2>/dev/null || true
  rm -rf "$E2E_RUN" "$E2E_VOL"
  exit $status
}

# lab_setup [BLOCK_SIZE]: namespaces and two formatted volumes, no daemons yet.
lab_setup() {
  local block_size=${1:-64K}
  trap cleanup EXIT
  mkdir -p "$E2E_RUN" "$E2E_VOL"
  "$VNIC_BIN_VNICCTL" format "$E2E_VOL/a.vol" --size "${E2E_VOLUME_SIZE:-64M}" --block-size "$block_size" >/dev/null
  "$VNIC_BIN_VNICCTL" format "$E2E_VOL/b.vol" --size "${E2E_VOLUME_SIZE:-64M}" --block-size "$block_size" >/dev/null
  ip netns add "$NS_A"
  ip netns add "$NS_B"
  for ns in "$NS_A" "$NS_B"; do
    ip netns exec "$ns" ip link set lo up
    # IPv4 only: IPv6 autoconfiguration chatter would blur the frame accounting.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  done
}

ns_of() { [ "$1" = a ] && echo "$NS_A" || echo "$NS_B"; }
addr_of() { [ "$1" = a ] && echo "$ADDR_A" || echo "$ADDR_B"; }
peer_of() { [ "$1" = a ] && echo b || echo a; }
socket_of() { echo "$E2E_RUN/$1.sock"; }

# start_node SIDE [vnicd flags...]: starts vnicd in SIDE's namespace and brings vnic0 up.
start_node() {
  local side=$1; shift
  local ns send recv
  ns=$(ns_of $side)
  send=$E2E_VOL/$side.vol
  recv=$E2E_VOL/$(peer_of $side).vol
  ip netns exec "$ns" env ${NOTIFY_SOCKET:+NOTIFY_SOCKET=$NOTIFY_SOCKET} "$VNIC_BIN_VNICD" --ifname vnic0 --send "$send" --recv "$recv" --address "$(addr_of $side)/24" \
    --control-socket "$(socket_of $side)" --log-level debug "$@" >>"$E2E_RUN/$side.log" 2>&1 &
  echo $! >"$E2E_RUN/$side.pid"
  # A socket file may be left by a killed daemon: wait for an answer, not for the file.
  wait_until 10 "vnicd $side to answer on its control socket" status_json $side
  ip netns exec "$ns" ip link set vnic0 up
}

# stop_node SIDE [TERM|KILL]
stop_node() {
  local side=$1 signal=${2:-TERM} pid
  [ -f "$E2E_RUN/$side.pid" ] || return 0
  pid=$(cat "$E2E_RUN/$side.pid")
  kill -"$signal" "$pid" 2>/dev/null || true
  for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.025; done
  rm -f "$E2E_RUN/$side.pid"
  local status=0
  wait "$pid" 2>/dev/null || status=$?
  # A clean stop must exit 0: under ASan a leak or a memory error shows up here.
  if [ "$signal" = TERM ] && [ $status -ne 0 ]; then fail "vnicd $side exited with status $status on SIGTERM"; fi
}

wait_until() {  # wait_until SECONDS WHAT COMMAND...
  local seconds=$1 what=$2; shift 2
  local deadline=$(( $(date +%s%N) + seconds * 1000000000 ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s%N)" -lt $deadline ] || fail "timed out after ${seconds}s waiting for $what"
    sleep 0.01
  done
}

carrier() { ip netns exec "$(ns_of $1)" cat /sys/class/net/vnic0/carrier 2>/dev/null || echo 0; }
carrier_is() { [ "$(carrier $1)" = "$2" ]; }
# The kernel's qdisc passes traffic only once operstate is up, a moment after carrier.
operstate_up() { [ "$(ip netns exec "$(ns_of $1)" cat /sys/class/net/vnic0/operstate 2>/dev/null)" = up ]; }
wait_link_up() {
  wait_until 10 "carrier on $1" carrier_is $1 1
  wait_until 10 "operstate up on $1" operstate_up $1
}

status_json() { "$VNIC_BIN_VNICCTL" status --socket "$(socket_of $1)" --json; }
# status_field SIDE FILTER: one value from the status JSON, e.g. status_field a .peer.state
status_field() { status_json $1 | jq -r "$2"; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# lab_up [vnicd flags...]: both nodes with the same flags, links up on both sides.
lab_up() {
  start_node a "$@"
  start_node b "$@"
  wait_link_up a
  wait_link_up b
}
