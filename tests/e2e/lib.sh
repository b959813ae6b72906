# Shared helpers for the end-to-end tests: a two-node lab with real vnicd processes, real TAPs in
# real namespaces, and volumes as files on disk. Sourced by each test_*.sh. The lab itself
# (namespaces, volumes, daemons, waiting, teardown) is tools/vnic-lab/vnic-lab's, sourced here.
set -euo pipefail

: "${VNIC_BUILD:?VNIC_BUILD must name the build directory}"
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/vnic-lab/vnic-lab"
export VNIC_BIN_VNICD=$VNIC_BUILD/daemon/vnicd
export VNIC_BIN_VNICCTL=$VNIC_BUILD/tools/vnicctl/vnicctl
export UDP_PROBE=$VNIC_BUILD/tests/e2e/udp_probe
# Set when vnicd is the ASan+UBSan build (two to three times slower): tests that bound a latency
# give it SANITIZER_TIME_FACTOR times the time there. The release stage judges the bounds as
# documented; the ASan stage is there for memory errors, and a hang still fails it.
LIBASAN=$(ldd "$VNIC_BIN_VNICD" 2>/dev/null | awk '/libasan/ {print $3}')
SANITIZER_TIME_FACTOR=$([ -n "$LIBASAN" ] && echo 3 || echo 1)
E2E_NAME=${E2E_NAME:-e2e-$$}
E2E_RUN=/run/vnic-$E2E_NAME
E2E_VOL=/var/tmp/vnic-$E2E_NAME
NS_A=$E2E_NAME-a
NS_B=$E2E_NAME-b
ADDR_A=10.77.${E2E_SUBNET:-9}.1
ADDR_B=10.77.${E2E_SUBNET:-9}.2
VNIC_LAB_ADDR_PREFIX=10.77.${E2E_SUBNET:-9} lab_init "$E2E_NAME" "$E2E_RUN" "$E2E_VOL"
LAB_VNICD=$VNIC_BIN_VNICD
LAB_VNICCTL=$VNIC_BIN_VNICCTL

skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; dump_logs >&2; exit 1; }
lab_fail() { fail "$@"; }
E2E_T0=$(date +%s%N)
note() { echo "-- [$(( ($(date +%s%N) - E2E_T0) / 1000000 )) ms] $*"; }

require_environment() {
  [ "$(id -u)" -eq 0 ] || skip "needs root (CAP_NET_ADMIN) for namespaces and TAP devices"
  [ -c /dev/net/tun ] || skip "/dev/net/tun is missing"
  for tool in ip iperf3 socat ping jq; do command -v $tool >/dev/null || fail "$tool is not installed (scripts/install-deps.sh)"; done
}

dump_logs() {
  for side in $(lab_sides); do
    [ -f "$E2E_RUN/$side.log" ] && { echo "---- vnicd $side log"; tail -n 30 "$E2E_RUN/$side.log"; }
  done
  return 0
}

cleanup() {
  local status=$?
  for side in $(lab_sides); do stop_node $side KILL 2>/dev/null || true; done
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
  lab_teardown
  exit $status
}

# lab_setup [BLOCK_SIZE [file|loop]]: namespaces and two formatted volumes (after lab_set_shared N:
# N namespaces and one volume of N slots), no daemons yet.
lab_setup() {
  local block_size=${1:-64K}
  trap cleanup EXIT
  mkdir -p "$E2E_RUN" "$E2E_VOL"
  lab_format_volumes "$block_size" "${E2E_VOLUME_SIZE:-64M}" "${2:-file}"
  lab_make_namespaces
}

ns_of() { lab_ns "$1"; }
addr_of() { lab_addr "$1"; }
peer_of() { lab_peer "$1"; }
socket_of() { lab_socket "$1"; }

# start_node SIDE [vnicd flags...]: starts vnicd in SIDE's namespace and brings vnic0 up.
start_node() {
  local side=$1; shift
  lab_start_vnicd $side --log-level debug "$@"
}

# stop_node SIDE [TERM|KILL]
stop_node() {
  local side=$1 signal=${2:-TERM} pid supervised=0
  [ -f "$E2E_RUN/$side.pid" ] || return 0
  pid=$(cat "$E2E_RUN/$side.pid")
  [ -f "$E2E_RUN/$side.supervisor" ] && supervised=1
  lab_stop_vnicd $side "$signal"
  # A supervised daemon is the supervisor's child, not ours: no exit status to read.
  [ $supervised = 0 ] || return 0
  local status=0
  wait "$pid" 2>/dev/null || status=$?
  # A clean stop must exit 0: under ASan a leak or a memory error shows up here.
  if [ "$signal" = TERM ] && [ $status -ne 0 ]; then fail "vnicd $side exited with status $status on SIGTERM"; fi
}

wait_until() { lab_wait_until "$@"; }  # wait_until SECONDS WHAT COMMAND...
carrier() { lab_carrier "$1"; }
carrier_is() { lab_carrier_is "$@"; }
wait_link_up() { lab_wait_link_up "$1"; }

status_json() { lab_status_json "$1"; }
# status_field SIDE FILTER: one value from the status JSON, e.g. status_field a .peer.state
status_field() { status_json $1 | jq -r "$2"; }
kernel_counter() {  # kernel_counter SIDE FILE (under /sys/class/net/vnic0/statistics)
  ip netns exec "$(ns_of $1)" cat /sys/class/net/vnic0/statistics/$2
}
# Datagrams the kernel dropped on their way to A's vnicd (qdisc or TAP queue full, no carrier).
kernel_tx_drops() {
  local qdisc
  qdisc=$(ip netns exec "$NS_A" tc -s -j qdisc show dev vnic0 2>/dev/null | jq '[.[].drops // 0] | add // 0')
  echo $(( $(kernel_counter a tx_dropped) + qdisc ))
}

# lab_up [vnicd flags...]: every node with the same flags, links up on every node.
lab_up() {
  local side
  for side in $(lab_sides); do start_node $side "$@"; done
  for side in $(lab_sides); do wait_link_up $side; done
}
