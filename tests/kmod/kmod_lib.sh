# Helpers for the kmod tests: vnic.ko built for the VM harness's guest kernel, a quick-mode guest
# (tests/vm/vm_lib.sh) that loads it, and a host vnicd (tools/vnic-lab) in a namespace, the two
# a mirrored pair: the host writes a.vol, which vnic-mirror (tests/fault) copies to a.mirror as a
# storage array would, and reads b.vol; the guest reads a.mirror (its /dev/vda) and writes b.vol
# (/dev/vdb). qemu opens both with cache=none, so each side reads what the other wrote with
# O_DIRECT. The mirror is also where a test damages blocks. Sourced by tests/kmod/test_*.sh.
set -euo pipefail

KMOD_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KMOD_REPO=$(cd "$KMOD_DIR/../.." && pwd)
: "${VNIC_BUILD:?VNIC_BUILD must name the build directory}"
# 10.77.220.0/24 is vnic0's, 222 and 223 the harness's (unused LAN and SAN of quick guests).
export VM_SUBNET=${VM_SUBNET:-222}
# Namespaces, run and volume directories are named after the test (CTest's E2E_NAME begins vnickm).
KMOD_NAME=${KMOD_NAME:-${E2E_NAME:-vnickm-$$}}
export VM_RUN=/tmp/$KMOD_NAME-vm VM_NS=$KMOD_NAME-vm
source "$KMOD_REPO/tests/vm/vm_lib.sh"
VNIC_LAB_ADDR_PREFIX=10.77.220
source "$KMOD_REPO/tools/vnic-lab/vnic-lab"
lab_init "$KMOD_NAME" "/run/$KMOD_NAME" "/var/tmp/$KMOD_NAME"
LAB_VNICD=$VNIC_BUILD/daemon/vnicd
LAB_VNICCTL=$VNIC_BUILD/tools/vnicctl/vnicctl
KMOD_SHARE=$VM_RUN/share
VNIC_MIRROR=$VNIC_BUILD/tests/fault/vnic-mirror
HOST_ADDR=10.77.220.1
GUEST_ADDR=10.77.220.2
GUEST=km1
KMOD_TOOLS=()  # more host binaries the guest needs (kmod_bundle)

KMOD_T0=$(date +%s%N)
note() { echo "-- [$(( ($(date +%s%N) - KMOD_T0) / 1000000 )) ms] $*"; }
kmod_dump() {
  echo "---- host vnicd log"; tail -n 30 "$LAB_RUN/a.log" 2>/dev/null || true
  echo "---- host vnicctl status"; "$LAB_VNICCTL" status --socket "$(lab_socket a)" 2>/dev/null || true
  echo "---- guest kernel log"; vm_exec "$GUEST" --timeout 10 'dmesg | grep -i vnic | tail -n 40' 2>/dev/null || true
  echo "---- guest ethtool -S vnic0"; vm_exec "$GUEST" --timeout 10 "$(guest_tool ethtool) -S vnic0 | grep -v ': 0$'" 2>/dev/null || true
  echo "---- guest console"; vm_console "$GUEST" 20 2>/dev/null || true
}
fail() { echo "FAIL: $*" >&2; kmod_dump >&2; exit 1; }
lab_fail() { fail "$@"; }

kmod_cleanup() {
  local status=$? side
  for side in $(lab_sides); do lab_stop_vnicd "$side" KILL 2>/dev/null || true; done
  stop_mirror
  local leftover
  leftover=$(jobs -p)
  [ -z "$leftover" ] || kill $leftover 2>/dev/null || true
  vm_teardown
  lab_teardown 2>/dev/null || true
  exit $status
}

kmod_require() {
  vm_require
  local tool
  for tool in ethtool make gcc ldd; do
    command -v $tool >/dev/null || vm_skip "$tool is not installed (scripts/install-deps.sh installs it)"
  done
  for tool in "$LAB_VNICD" "$LAB_VNICCTL" "$VNIC_BUILD/tests/e2e/udp_probe" "$VNIC_MIRROR"; do
    [ -x "$tool" ] || vm_skip "$tool is not built"
  done
}

# kmod_bundle TOOL...: each host binary into $KMOD_SHARE/bin with the libraries it loads in
# $KMOD_SHARE/lib, run in the guest through the bundled loader (guest_tool): quick guests have
# busybox alone, and their kernel is Debian 12's, as the host's user space is.
kmod_bundle() {
  mkdir -p "$KMOD_SHARE/bin" "$KMOD_SHARE/lib"
  local tool lib
  for tool in "$@"; do
    cp "$tool" "$KMOD_SHARE/bin/"
    for lib in $(ldd "$tool" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
      cp -n "$lib" "$KMOD_SHARE/lib/" 2>/dev/null || true
    done
  done
}
guest_tool() {  # guest_tool NAME ARGS...: the shell words that run bundled NAME in the guest
  echo "/mnt/host/lib/ld-linux-x86-64.so.2 --library-path /mnt/host/lib /mnt/host/bin/$*"
}

# kmod_guest_kver: sets KMOD_KVER, the guest kernel's version, once its headers are known to be
# installed.
kmod_guest_kver() {
  vm_image
  KMOD_KVER=$(cat "$VM_IMAGE/kver")
  [ -d "/usr/src/linux-headers-$KMOD_KVER" ] ||
    vm_skip "/usr/src/linux-headers-$KMOD_KVER is missing: the guest boots $KMOD_KVER (scripts/install-deps.sh installs its headers)"
}

# kmod_build_module: vnic.ko for the guest's kernel, with warnings as errors, into the share.
kmod_build_module() {
  kmod_guest_kver
  local kver=$KMOD_KVER
  local build=$VM_RUN/module
  rm -rf "$build"
  mkdir -p "$build" "$KMOD_SHARE"
  cp "$KMOD_REPO"/kmod-shim/{Kbuild,Makefile,*.c,*.h} "$build/"
  make -s -C "$build" KDIR="/usr/src/linux-headers-$kver" >"$VM_RUN/module-build.log" 2>&1 ||
    { cat "$VM_RUN/module-build.log" >&2; fail "vnic.ko does not build against $kver"; }
  cp "$build/vnic.ko" "$KMOD_SHARE/"
  kmod_guest_deps "$kver"
}

# kmod_guest_deps KVER: what vnic.ko needs (libcrc32c), from the guest kernel's own module tree,
# in load order, into the share: the quick initramfs keeps the harness's module list (another
# list would be another initramfs).
kmod_guest_deps() {
  local kver=$1 path
  mkdir -p "$KMOD_SHARE/deps"
  : >"$KMOD_SHARE/deps/order"
  for path in $(modprobe -d "$VM_IMAGE/modules" -S "$kver" --show-depends libcrc32c | awk '$1 == "insmod" { print $2 }'); do
    cp "$path" "$KMOD_SHARE/deps/"
    basename "$path" >>"$KMOD_SHARE/deps/order"
  done
  [ -s "$KMOD_SHARE/deps/order" ] || fail "libcrc32c is not in the guest kernel's modules ($VM_IMAGE/modules)"
}

# kmod_setup: volumes, the module (kmod_build_module), the tools, the guest booted with both volumes, the host's
# namespace. vnicd and the module are started by the test.
kmod_setup() {
  trap kmod_cleanup EXIT
  kmod_require
  mkdir -p "$VM_RUN"
  kmod_build_module
  kmod_bundle "$(command -v ethtool)" "$(command -v ip)" "$VNIC_BUILD/tests/e2e/udp_probe" "${KMOD_TOOLS[@]}"
  mkdir -p "$LAB_RUN" "$LAB_VOL"
  lab_format_volumes "${KMOD_BLOCK_SIZE:-64K}" "${KMOD_VOLUME_SIZE:-32M}"
  cp --sparse=never "$(lab_volume a)" "$LAB_VOL/a.mirror"
  lab_make_namespaces
  vm_boot "$GUEST" --quick --mem 512 --disk "$LAB_VOL/a.mirror" --disk "$(lab_volume b)" --share "$KMOD_SHARE"
  vm_wait "$GUEST" 120
}

# kmod_setup_shared NODES: the shared-LUN variant of kmod_setup: one volume of NODES slots
# (shared.vol), the host's nodes a, b, ... in namespaces (their vnicds started by the test), and
# the guest booted with the LUN as its /dev/vda (cache=none: its bios and the host's O_DIRECT meet
# in the same file, as two hosts meet on one SAN LUN). The guest's vnic0 takes the last slot.
kmod_setup_shared() {
  trap kmod_cleanup EXIT
  kmod_require
  lab_set_shared "$1"
  mkdir -p "$VM_RUN"
  kmod_build_module
  kmod_bundle "$(command -v ethtool)" "$(command -v ip)" "$VNIC_BUILD/tests/e2e/udp_probe" "${KMOD_TOOLS[@]}"
  mkdir -p "$LAB_RUN" "$LAB_VOL"
  lab_format_volumes "${KMOD_BLOCK_SIZE:-64K}" "${KMOD_VOLUME_SIZE:-32M}"
  lab_make_namespaces
  vm_boot "$GUEST" --quick --mem 512 --disk "$(lab_volume a)" --share "$KMOD_SHARE"
  vm_wait "$GUEST" 120
}

# start_mirror [vnic-mirror options]: a.vol copied to a.mirror, as an array mirrors a LUN.
start_mirror() {
  "$VNIC_MIRROR" --src "$(lab_volume a)" --dst "$LAB_VOL/a.mirror" --stats "$LAB_RUN/mirror.json" \
    --control "$LAB_RUN/mirror.ctl" "$@" >"$LAB_RUN/mirror.out" 2>>"$LAB_RUN/mirror.log" &
  echo $! >"$LAB_RUN/mirror.pid"
  lab_wait_until 10 "vnic-mirror to start" grep -q running "$LAB_RUN/mirror.log"
}
stop_mirror() {
  [ -f "$LAB_RUN/mirror.pid" ] || return 0
  kill "$(cat "$LAB_RUN/mirror.pid")" 2>/dev/null || true
  wait "$(cat "$LAB_RUN/mirror.pid")" 2>/dev/null || true
  rm -f "$LAB_RUN/mirror.pid"
}
mirror_control() { echo "$1" >"$LAB_RUN/mirror.ctl"; }
mirror_stats() {
  rm -f "$LAB_RUN/mirror.json"
  kill -HUP "$(cat "$LAB_RUN/mirror.pid")"
  lab_wait_until 5 "vnic-mirror's counts" test -s "$LAB_RUN/mirror.json"
  cat "$LAB_RUN/mirror.json"
}

gx() { vm_exec "$GUEST" "$@"; }  # gx SCRIPT...: in the guest

# guest_insmod: vnic.ko and what it needs, unless loaded (a dependency already loaded, or one the
# emulated CPU cannot run, such as crc32c-intel without SSE 4.2, is refused by insmod and skipped:
# vnic.ko's own insmod says whether what it needs is there).
guest_insmod() {
  gx "grep -q '^vnic ' /proc/modules && exit 0
      for m in \$(cat /mnt/host/deps/order); do insmod /mnt/host/deps/\$m 2>/dev/null; done
      insmod /mnt/host/vnic.ko" || fail "insmod vnic.ko failed"
}

# guest_vnic_up [SYSFS_SETTINGS...]: loads vnic.ko if needed, makes vnic0, configures it for the
# pair (sends on b.vol = /dev/vdb, reads a.vol = /dev/vda) and brings it up with its address.
guest_vnic_up() {
  local settings="echo /dev/vdb >/sys/class/net/vnic0/vnic/send_device && echo /dev/vda >/sys/class/net/vnic0/vnic/recv_device"
  local extra
  for extra in "$@"; do settings+=" && echo ${extra#*=} >/sys/class/net/vnic0/vnic/${extra%%=*}"; done
  guest_insmod
  gx "$(guest_tool ip) link add vnic0 type vnic && $settings && $(guest_tool ip) addr add $GUEST_ADDR/24 dev vnic0 && $(guest_tool ip) link set vnic0 up" ||
    fail "vnic0 did not come up in the guest"
}

guest_carrier() { gx "cat /sys/class/net/vnic0/carrier" 2>/dev/null || echo 0; }
guest_carrier_is() { [ "$(guest_carrier)" = "$1" ]; }
# guest_stat NAME: one counter of `ethtool -S vnic0` in the guest.
guest_stat() { gx "$(guest_tool ethtool) -S vnic0" | awk -v n="$1:" '$1 == n { print $2 }'; }
host_ns() { ip netns exec "$(lab_ns a)" "$@"; }
node_ns() { local side=$1; shift; ip netns exec "$(lab_ns "$side")" "$@"; }  # node_ns SIDE CMD...
node_stat() { lab_status_json "$1" | jq -r "$2"; }  # node_stat SIDE JQ: a host vnicd's status
host_stat() { lab_status_json a | jq -r "$1"; }
host_peer_is() { [ "$(host_stat .peer.state)" = "$1" ]; }
# host_send_drops: frames on their way to the guest that the host dropped and counted: vnicd on
# a full ring, and the host kernel (qdisc, or vnic0's TAP queue while vnicd holds for ring room).
host_send_drops() {
  local qdisc tap
  qdisc=$(host_ns tc -s -j qdisc show dev vnic0 2>/dev/null | jq '[.[].drops // 0] | add // 0')
  tap=$(host_ns cat /sys/class/net/vnic0/statistics/tx_dropped)
  echo $(( $(host_stat .drops.tx_ring_full) + qdisc + tap ))
}
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# guest_udp_receiver PORT COUNT: a checking receiver in the guest, writing /tmp/udp.json; returns
# once it listens (a bundled binary takes a while to start in an emulated guest).
guest_udp_receiver() {
  gx "rm -f /tmp/udp.json; $(guest_tool udp_probe) recv $1 $2 3000 >/tmp/udp.json 2>/tmp/udp.err &"
  lab_wait_until 20 "the guest's UDP receiver on port $1" gx "grep -q ':$(printf %04X "$1") ' /proc/net/udp"
}
host_udp_listening() { host_ns grep -q ":$(printf %04X "$1") " /proc/net/udp; }

# udp_to_guest COUNT PPS: a checked UDP stream from the host to the guest; prints the receiver's
# JSON ({"received", "corrupt", "duplicates", "reordered", "missing"}).
UDP_PROBE=$VNIC_BUILD/tests/e2e/udp_probe
udp_to_guest() {
  local port=$((5000 + RANDOM % 1000))
  guest_udp_receiver $port "$1"
  host_ns "$UDP_PROBE" send "$GUEST_ADDR" $port "$1" 100 "$2" 1400 >/dev/null || fail "the host's UDP sender failed"
  local i
  for i in $(seq 100); do gx "test -s /tmp/udp.json" && break; sleep 0.2; done
  gx "cat /tmp/udp.json; rm -f /tmp/udp.json"
}
# udp_to_host COUNT PPS: the same the other way.
udp_to_host() {
  local port=$((6000 + RANDOM % 1000))
  host_ns "$UDP_PROBE" recv $port "$1" 3000 >"$LAB_RUN/udp.json" 2>/dev/null &
  local receiver=$!
  lab_wait_until 10 "the host's UDP receiver on port $port" host_udp_listening $port
  gx --timeout 120 "$(guest_tool udp_probe) send $HOST_ADDR $port $1 100 $2 1400 >/dev/null" || fail "the guest's UDP sender failed"
  wait $receiver
  cat "$LAB_RUN/udp.json"
}
# stream_clean JSON COUNT: every datagram arrived once, in order, intact.
# stream_accounted RESULT COUNT DROPS: nothing corrupt, duplicated or reordered, and every missing
# datagram is among DROPS drops counted by a sender (a ring full while an emulated guest's
# acknowledgements lag).
stream_accounted() {
  [ "$(jq -c '[.corrupt, .duplicates, .reordered]' <<<"$1")" = "[0,0,0]" ] &&
    [ "$(( $(jq .received <<<"$1") + $(jq .missing <<<"$1") ))" = "$2" ] && [ "$(jq .missing <<<"$1")" -le "$3" ]
}
stream_clean() {
  [ "$(jq -c '[.received, .corrupt, .duplicates, .reordered, .missing]' <<<"$1")" = "[$2,0,0,0,0]" ]
}
