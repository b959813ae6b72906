# The VM harness (CTest label vm; API in tests/vm/README.md): Debian 12 guests under qemu,
# booting Debian's own kernel with systemd as PID 1 on a copy-on-write overlay of one cached
# image, on a LAN and a SAN (host TAPs on two bridges in a network namespace this harness makes),
# with a command channel to each guest, an iSCSI target on the host (tgt), and teardown of all of
# it. Sourced by tests/vm/*.sh; needs root.
#
# Why TCG: this machine (and CI's) has no usable KVM. qemu's TCG boots the guest kernel with the
# harness's small initramfs and reaches systemd's multi-user target in tens of seconds; every bound
# the tests assert is chosen with that in mind and says so where it matters.
set -euo pipefail

VM_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_REPO=$(cd "$VM_LIB_DIR/../.." && pwd)
: "${VNIC_BUILD:=$VM_REPO/build}"
# The image cache: kept across runs in the build tree (not in git), rebuilt when its key changes.
VM_CACHE=${VM_CACHE:-$VNIC_BUILD/vm-cache}
# One run's state (overlays, sockets, logs, pids): per process unless a fixture shares it.
VM_RUN=${VM_RUN:-/tmp/vnicvm-$$}
VM_NS=${VM_NS:-vnicvm-$$}
# 10.77.$VM_SUBNET.0/24 is the LAN, the next /24 the SAN (the iSCSI target is .1 there).
VM_SUBNET=${VM_SUBNET:-210}
VM_SUITE=bookworm
VM_TARGET_IQN=iqn.2026-12.org.vnic:vm

# What the guest image holds. Everything a test runs in a guest must be here: the guests have no
# network beyond the test's LAN and SAN, so apt inside them resolves from what is installed.
VM_PACKAGES=(
  systemd systemd-sysv udev linux-image-amd64 kmod
  iproute2 iputils-ping procps socat jq
  open-iscsi corosync
  # kmod.dkms (tests/vm/test_kmod_dkms.sh): DKMS builds the vnic-dkms package in the guest, for its own kernel.
  dkms linux-headers-amd64
  # vnic's own dependencies (dpkg-deb -f vnic_*.deb Depends): the .deb then installs offline.
  libfmt9 liburing2 libaio1 libnl-3-200 libnl-route-3-200 libsodium23 libsystemd0 libspdlog1.10
  libcap-ng0 libuuid1
)
# Modules the initramfs loads to mount the root disk; quick mode's adds what its tests use.
VM_ROOT_MODULES=(virtio_pci virtio_blk crc32c_generic ext4)
VM_QUICK_MODULES=(virtio_net 9p 9pnet_virtio tun brd af_packet ${VM_EXTRA_QUICK_MODULES:-})

vm_say() { echo "-- [vm $(date +%T)] $*" >&2; }
vm_die() { echo "FAIL: $*" >&2; exit 1; }
vm_skip() { echo "VNIC-SKIP: $*"; exit 77; }

vm_require() {
  [ "$(id -u)" -eq 0 ] || vm_skip "the VM harness needs root (namespaces, TAPs, debootstrap)"
  local tool
  for tool in qemu-system-x86_64 qemu-img debootstrap mkfs.ext4 busybox cpio xz socat tgtd tgtadm ip flock depmod dpkg-deb; do
    command -v "$tool" >/dev/null || vm_skip "$tool is not installed (scripts/install-deps.sh installs it)"
  done
  [ -c /dev/net/tun ] || vm_skip "/dev/net/tun is missing"
}

# The Debian mirror apt on this machine uses: the guest comes from the same archive.
vm_mirror() {
  if [ -n "${VM_MIRROR:-}" ]; then echo "$VM_MIRROR"; return; fi
  local uri
  uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
    awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }')
  [ -n "$uri" ] || uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '$1 == "deb" && $3 ~ /^bookworm$/ { print $2; exit }')
  echo "${uri:-http://deb.debian.org/debian}"
}

# ---------------------------------------------------------------------------------------------
# The image: debootstrap --variant=minbase, the kernel, two initramfs, an ext4 root file.

# What the image is made from: a change to any of it builds a new one. The initramfs are not
# part of it: they are made from the image's modules in seconds (vm_initramfs).
vm_image_key() {
  {
    echo "$VM_SUITE ${VM_PACKAGES[*]}"
    declare -f vm_build_image vm_customize_root vm_extract_vmlinux
    cat "$VM_LIB_DIR"/guest/vnicvm-*
  } | sha256sum | cut -c1-16
}

# vm_image: sets VM_IMAGE to the cached image's directory, building it first if needed (about
# 3 minutes, most of it debootstrap), and VM_INITRD and VM_QUICK_INITRD to its two initramfs.
# The image holds root.raw (the ext4 root, the overlays' backing file), vmlinux (the guest
# kernel, uncompressed), modules/ (the kernel's /lib/modules/KVER) and kver.
vm_image() {
  VM_IMAGE=$VM_CACHE/image-$(vm_image_key)
  if [ ! -f "$VM_IMAGE/ready" ]; then
    mkdir -p "$VM_CACHE"
    local lock
    exec {lock}>"$VM_CACHE/.lock"
    flock "$lock"
    if [ ! -f "$VM_IMAGE/ready" ]; then
      local t0=$SECONDS
      vm_build_image "$VM_IMAGE"
      vm_say "image built in $((SECONDS - t0)) s: $VM_IMAGE"
      # Older images (another key) are dead weight of a gigabyte each.
      find "$VM_CACHE" -maxdepth 1 -name 'image-*' ! -path "$VM_IMAGE" -exec rm -rf {} +
    fi
    exec {lock}>&-
  fi
  vm_initramfs
}

# vm_initramfs: the image's two initramfs, made when their inputs change: initrd (mounts
# /dev/vda, then systemd) and quick (busybox, the agent and VM_QUICK_MODULES; stays there).
vm_initramfs() {
  local key
  key=$( { echo "${VM_ROOT_MODULES[*]} | ${VM_QUICK_MODULES[*]}"; declare -f vm_build_initramfs
           cat "$VM_LIB_DIR/guest/init" "$VM_LIB_DIR/guest/vnicvm-agent" "$(command -v busybox)"; } | sha256sum | cut -c1-16)
  VM_INITRD=$VM_IMAGE/initrd-$key.img
  VM_QUICK_INITRD=$VM_IMAGE/quick-$key.img
  [ -f "$VM_QUICK_INITRD" ] && return 0
  local lock
  exec {lock}>"$VM_CACHE/.lock"
  flock "$lock"
  if [ ! -f "$VM_QUICK_INITRD" ]; then
    rm -f "$VM_IMAGE"/initrd-*.img "$VM_IMAGE"/quick-*.img
    vm_build_initramfs "$VM_IMAGE/modules" "$VM_INITRD.tmp" "${VM_ROOT_MODULES[@]}"
    vm_build_initramfs "$VM_IMAGE/modules" "$VM_QUICK_INITRD.tmp" "${VM_ROOT_MODULES[@]}" "${VM_QUICK_MODULES[@]}"
    mv "$VM_INITRD.tmp" "$VM_INITRD"
    mv "$VM_QUICK_INITRD.tmp" "$VM_QUICK_INITRD"
  fi
  exec {lock}>&-
}

vm_build_image() {
  local out=$1
  local tmp=$out.tmp
  rm -rf "$tmp"
  mkdir -p "$tmp"
  local includes
  includes=$(IFS=,; echo "${VM_PACKAGES[*]}")
  vm_say "debootstrap $VM_SUITE from $(vm_mirror) (${#VM_PACKAGES[@]} packages and their dependencies)"
  # INITRD=No: the kernel's postinst hook makes no initramfs-tools image (a minute of CPU); the
  # harness boots its own small initramfs instead.
  INITRD=No debootstrap --variant=minbase --include="$includes" "$VM_SUITE" "$tmp/root" "$(vm_mirror)" \
    >"$tmp/debootstrap.log" 2>&1 || { tail -n 30 "$tmp/debootstrap.log" >&2; vm_die "debootstrap failed (log: $tmp/debootstrap.log)"; }
  vm_customize_root "$tmp/root"
  local kver
  kver=$(ls "$tmp/root/lib/modules")
  [ "$(wc -w <<<"$kver")" -eq 1 ] || vm_die "expected one kernel in the image, found: $kver"
  echo "$kver" >"$tmp/kver"
  vm_extract_vmlinux "$tmp/root/boot/vmlinuz-$kver" "$tmp/vmlinux"
  # The modules, for the initramfs (hard links: they cost no space).
  mkdir -p "$tmp/modules/lib/modules"
  cp -al "$tmp/root/lib/modules/$kver" "$tmp/modules/lib/modules/"
  # The root file system as an ext4 file made from the directory (no loop device, no mount),
  # with room for the tests' packages and logs; sparse, so the free space costs nothing.
  local used_mb
  used_mb=$(du -sm "$tmp/root" | cut -f1)
  mkfs.ext4 -q -F -L vnicvm-root -E root_owner=0:0 -d "$tmp/root" "$tmp/root.raw" "$((used_mb + 1024))M" >/dev/null
  rm -rf "$tmp/root"
  touch "$tmp/ready"
  rm -rf "$out"
  mv "$tmp" "$out"
}

# vm_extract_vmlinux BZIMAGE OUT: the kernel's uncompressed ELF image. qemu boots it through its
# PVH entry point (Debian's kernel has CONFIG_PVH), which skips the bzImage's self-decompression:
# xz under TCG is most of 10 s of every boot.
vm_extract_vmlinux() {
  local offset
  offset=$(LC_ALL=C grep -obUaF $'\xfd7zXZ' "$1" | head -n 1 | cut -d: -f1)
  [ -n "$offset" ] || vm_die "$1: no xz-compressed kernel found in it"
  # xz complains about the bzImage's trailer after the stream; the ELF check below is what counts.
  tail -c +$((offset + 1)) "$1" | xz -dc >"$2" 2>/dev/null || true
  [ "$(head -c 4 "$2" | od -An -c | tr -d ' ')" = '177ELF' ] || vm_die "$1: the kernel did not decompress to an ELF image"
}

vm_customize_root() {
  local root=$1
  install -m 0755 "$VM_LIB_DIR/guest/vnicvm-agent" "$VM_LIB_DIR/guest/vnicvm-setup" "$root/usr/local/sbin/"
  install -m 0644 "$VM_LIB_DIR/guest/vnicvm-agent.service" "$VM_LIB_DIR/guest/vnicvm-setup.service" "$root/etc/systemd/system/"
  mkdir -p "$root/etc/systemd/system/sysinit.target.wants"
  ln -sf ../vnicvm-agent.service ../vnicvm-setup.service "$root/etc/systemd/system/sysinit.target.wants/"
  # Services the tests start themselves (corosync with their config, iscsid on login), and
  # timers that would only spend the guest's emulated CPU.
  local unit
  for unit in corosync.service open-iscsi.service apt-daily.timer apt-daily-upgrade.timer \
    e2scrub_all.timer e2scrub_reap.service fstrim.timer getty.target getty-static.service; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
  done
  echo "/dev/vda / ext4 rw,noatime 0 1" >"$root/etc/fstab"
  # Per guest, made at boot: the machine id (empty: systemd makes one), the host name (from
  # systemd.hostname=), the iSCSI initiator name (vm_iscsi_login).
  : >"$root/etc/machine-id"
  rm -f "$root/etc/hostname" "$root/etc/iscsi/initiatorname.iscsi" "$root/var/lib/dbus/machine-id"
  mkdir -p "$root/etc/systemd/journald.conf.d"
  printf '[Journal]\nStorage=volatile\n' >"$root/etc/systemd/journald.conf.d/vnicvm.conf"
  chroot "$root" passwd -d root >/dev/null
  rm -f "$root"/var/cache/apt/archives/*.deb
}

# vm_build_initramfs ROOT OUT MODULE...: busybox (the host's static one), the harness's /init
# and agent, and MODULE... with what they depend on, from ROOT/lib/modules/KVER.
vm_build_initramfs() {
  local root=$1 out=$2
  shift 2
  local kver
  kver=$(ls "$root/lib/modules")
  local work
  work=$(mktemp -d)
  mkdir -p "$work/bin" "$work/sbin" "$work/etc" "$work/lib/modules/$kver"
  cp "$(command -v busybox)" "$work/bin/busybox"
  ln -s ../bin/busybox "$work/sbin/modprobe"
  install -m 0755 "$VM_LIB_DIR/guest/init" "$work/init"
  install -m 0755 "$VM_LIB_DIR/guest/vnicvm-agent" "$work/bin/vnicvm-agent"
  local module path
  for module in "$@"; do
    for path in $(modprobe -d "$root" -S "$kver" --show-depends "$module" | awk '$1 == "insmod" { print $2 }'); do
      mkdir -p "$work/$(dirname "${path#"$root"}")"
      cp -n "$path" "$work/${path#"$root"}"
    done
  done
  cp "$root/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} "$work/lib/modules/$kver/"
  depmod -b "$work" "$kver"
  echo "$*" >"$work/etc/vnicvm-modules"
  (cd "$work" && find . | cpio -o -H newc --quiet | gzip -1) >"$out"
  rm -rf "$work"
}

# ---------------------------------------------------------------------------------------------
# The network: one namespace holding the LAN's and the SAN's bridges, each guest's TAPs, the
# iSCSI target, and the qemu processes themselves (so their TAPs live there).

vm_lan_bridge=vnicvm-lan
vm_san_bridge=vnicvm-san
vm_lan_prefix() { echo "10.77.$VM_SUBNET"; }
vm_san_prefix() { echo "10.77.$((VM_SUBNET + 1))"; }
vm_in_ns() { ip netns exec "$VM_NS" "$@"; }

vm_net_up() {
  mkdir -p "$VM_RUN"
  ip netns list | grep -qw "^$VM_NS" && return 0
  ip netns add "$VM_NS"
  echo "$VM_NS" >"$VM_RUN/netns"
  vm_in_ns ip link set lo up
  local bridge
  for bridge in $vm_lan_bridge $vm_san_bridge; do
    vm_in_ns ip link add $bridge type bridge
    vm_in_ns ip link set $bridge up
  done
  # The host end of the SAN: where the iSCSI target listens. The LAN has no host address: only
  # the guests talk on it.
  vm_in_ns ip addr add "$(vm_san_prefix).1/24" dev $vm_san_bridge
}

# vm_lan_fail / vm_lan_restore: the LAN's switch dies (every guest keeps its NIC and carrier, as
# when a switch stops forwarding) and comes back.
vm_lan_fail() { vm_in_ns ip link set $vm_lan_bridge down; }
vm_lan_restore() { vm_in_ns ip link set $vm_lan_bridge up; }

# ---------------------------------------------------------------------------------------------
# Guests.

# vm_boot NAME [--quick] [--lan N] [--disk FILE]... [--share DIR] [--mem MB] [--append ARGS]
#   NAME: a short name (a-z0-9, up to 8 characters): the guest's host name and its TAPs' names.
#   --lan N: NICs on the LAN (eth0, 10.77.$VM_SUBNET.N) and the SAN (eth1, next /24, .N).
#   --disk FILE: a raw file or block device as the next virtio disk (/dev/vdb, /dev/vdc, ...;
#     in quick mode, which has no root disk, /dev/vda, /dev/vdb, ...),
#     cache=none: the guest's writes reach the file at once and the host's O_DIRECT writes are
#     what the guest reads, so a host vnicd and a guest can share it.
#   --share DIR: the host directory DIR at /mnt/host in the guest (9p).
#   --quick: the busybox initramfs only (no root disk, no systemd): seconds to boot.
# Returns once qemu runs; vm_wait NAME waits for the guest to answer.
vm_boot() {
  local name=$1
  shift
  [[ $name =~ ^[a-z0-9]{1,8}$ ]] || vm_die "vm_boot: bad guest name '$name' (a-z0-9, 1 to 8 characters)"
  local quick=0 lan= mem=1024 append= share= disks=()
  while [ $# -gt 0 ]; do
    case $1 in
      --quick) quick=1 ;;
      --lan) lan=$2; shift ;;
      --disk) disks+=("$2"); shift ;;
      --share) share=$2; shift ;;
      --mem) mem=$2; shift ;;
      --append) append=$2; shift ;;
      *) vm_die "vm_boot: unknown option $1" ;;
    esac
    shift
  done
  vm_image
  local dir=$VM_RUN/$name
  mkdir -p "$dir"
  rm -f "$dir/agent.sock" "$dir/console.log"
  local args=(
    -name "vnicvm-$name" -machine pc,accel=tcg -cpu max -smp 1 -m "$mem"
    -nodefaults -display none -no-reboot
    -kernel "$VM_IMAGE/vmlinux"
    # qboot rather than SeaBIOS: it loads the kernel and initramfs and jumps, where SeaBIOS
    # spends seconds of emulated CPU on its POST before the kernel's first instruction.
    -bios /usr/share/qemu/qboot.rom
    -serial "file:$dir/console.log"
    -chardev "socket,id=agent,path=$dir/agent.sock,server=on,wait=off" -serial chardev:agent
    -pidfile "$dir/qemu.pid" -daemonize
  )
  # tsc=reliable: under TCG the guest's TSC is the host's clock, but the kernel's watchdog, seeing
  # the emulation's jitter, would move the clock to the HPET, whose every read is a slow exit.
  # panic=-1 with -no-reboot: a guest that panics ends its qemu, and vm_wait says so at once.
  local cmdline="console=ttyS0 loglevel=4 panic=-1 tsc=reliable systemd.hostname=$name net.ifnames=0"
  if [ $quick -eq 1 ]; then
    args+=(-initrd "$VM_QUICK_INITRD")
    cmdline+=" vnicvm.quick"
  else
    qemu-img create -q -f qcow2 -F raw -b "$VM_IMAGE/root.raw" "$dir/root.qcow2"
    # cache=unsafe: the overlay is thrown away with the guest, so its flushes buy nothing.
    args+=(-initrd "$VM_INITRD" -drive "file=$dir/root.qcow2,format=qcow2,if=virtio,cache=unsafe")
    cmdline+=" root=/dev/vda rw init=/lib/systemd/systemd systemd.show_status=error"
  fi
  local disk
  for disk in "${disks[@]}"; do
    args+=(-drive "file=$disk,format=raw,if=virtio,cache=none,aio=threads")
  done
  if [ -n "$share" ]; then
    args+=(-virtfs "local,path=$share,mount_tag=vnicvm-share,security_model=none,id=share")
    cmdline+=" vnicvm.share"
  fi
  local run=()
  if [ -n "$lan" ]; then
    vm_net_up
    local mac_index
    mac_index=$(printf '%02x' "$lan")
    local tap bridge kind
    for kind in l s; do
      tap=vnicvm-$name-$kind
      bridge=$vm_lan_bridge
      [ $kind = s ] && bridge=$vm_san_bridge
      vm_in_ns ip link del "$tap" 2>/dev/null || true
      vm_in_ns ip tuntap add dev "$tap" mode tap
      vm_in_ns ip link set "$tap" master $bridge up
      args+=(-netdev "tap,id=$kind,ifname=$tap,script=no,downscript=no"
             -device "virtio-net-pci,netdev=$kind,mac=52:54:00:77:0$([ $kind = l ] && echo 1 || echo 2):$mac_index")
    done
    cmdline+=" vnicvm.ip=eth0=$(vm_lan_prefix).$lan/24,eth1=$(vm_san_prefix).$lan/24"
    run=(ip netns exec "$VM_NS")
  fi
  echo "$name" >>"$VM_RUN/guests"
  date +%s.%N >"$dir/boot-start"
  "${run[@]}" qemu-system-x86_64 "${args[@]}" -append "$cmdline $append" 2>"$dir/qemu.err" ||
    { cat "$dir/qemu.err" >&2; vm_die "qemu for $name did not start"; }
}

vm_guests() { [ -f "$VM_RUN/guests" ] && sort -u "$VM_RUN/guests" || true; }
vm_console() { tail -n "${2:-40}" "$VM_RUN/$1/console.log"; }  # vm_console NAME [LINES]

# vm_exec NAME [--timeout S] SCRIPT...: runs SCRIPT (joined with spaces; bash in the full guest,
# busybox sh in quick mode) as root in the guest's /, prints its stdout and stderr here, and
# returns its exit status; 124 if it did not finish within S seconds (default 60; the guest goes
# on running it, and the next request waits for it), 125 if the guest's agent did not answer.
# Jobs a script leaves running in the background must redirect their output.
vm_exec() {
  local name=$1
  shift
  local timeout=${VM_EXEC_TIMEOUT:-60}
  if [ "${1:-}" = --timeout ]; then timeout=$2; shift 2; fi
  local dir=$VM_RUN/$name
  [ -S "$dir/agent.sock" ] || { echo "vm_exec: $name has no agent socket ($dir/agent.sock)" >&2; return 125; }
  local id=r$$x$RANDOM$RANDOM
  local lock
  exec {lock}>"$dir/agent.lock"
  flock "$lock"
  local out= err= status=125 line
  local deadline=$((SECONDS + timeout))
  coproc VM_AGENT { exec socat - "UNIX-CONNECT:$dir/agent.sock" 2>/dev/null; }
  local agent_pid=$VM_AGENT_PID
  local to_agent=${VM_AGENT[1]} from_agent=${VM_AGENT[0]}
  if printf 'REQ %s %s\n' "$id" "$(printf '%s' "$*" | base64 -w0)" >&"$to_agent" 2>/dev/null; then
    status=124
    while [ $SECONDS -lt $deadline ] && IFS= read -r -t $((deadline - SECONDS)) line <&"$from_agent"; do
      case $line in
        "OUT $id "*) out=${line#"OUT $id "} ;;
        "ERR $id "*) err=${line#"ERR $id "} ;;
        "RC $id "*) status=${line#"RC $id "}; break ;;
      esac
    done
  fi
  kill "$agent_pid" 2>/dev/null || true
  wait "$agent_pid" 2>/dev/null || true
  exec {lock}>&-
  [ -z "$out" ] || base64 -d <<<"$out"
  [ -z "$err" ] || base64 -d <<<"$err" >&2
  [ "$status" != 124 ] || echo "vm_exec: $name: no answer within $timeout s to: $*" >&2
  return "$status"
}

# vm_wait NAME [SECONDS]: until the guest's agent answers and, in a full guest, systemd has
# finished booting (running or degraded). Prints the boot time.
vm_wait() {
  local name=$1 limit=${2:-180}
  local deadline=$((SECONDS + limit))
  # A request sent before the agent opened its port is lost, hence the short timeout.
  until vm_exec "$name" --timeout 1 true 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { vm_console "$name" >&2; vm_die "$name: no answer from its agent within $limit s"; }
    vm_alive "$name" || { vm_console "$name" >&2; vm_die "$name: qemu exited while booting"; }
    sleep 0.2
  done
  if vm_exec "$name" 'test -d /run/systemd/system'; then
    local state
    state=$(vm_exec "$name" --timeout $((deadline - SECONDS > 5 ? deadline - SECONDS : 5)) systemctl is-system-running --wait || true)
    case $state in
      running|degraded) ;;
      *) vm_exec "$name" systemctl --failed --no-pager >&2 || true; vm_die "$name: systemd did not finish booting ($state)" ;;
    esac
  fi
  local start
  start=$(cat "$VM_RUN/$name/boot-start")
  vm_say "$name up in $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s"
}

vm_alive() {
  local pid
  pid=$(cat "$VM_RUN/$1/qemu.pid" 2>/dev/null) || return 1
  kill -0 "$pid" 2>/dev/null
}

# vm_stop NAME: the guest's qemu is killed (its overlay is thrown away, so nothing needs flushing).
vm_stop() {
  local pid
  pid=$(cat "$VM_RUN/$1/qemu.pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || return 0
  local i
  for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

# vm_teardown: every guest, the iSCSI target, the namespace and the run directory. Safe to call
# twice and after a partial setup; vm_cleanup_on_exit arranges it for the calling script.
vm_teardown() {
  local name
  for name in $(vm_guests); do vm_stop "$name"; done
  vm_target_down
  if [ -f "$VM_RUN/netns" ]; then ip netns del "$(cat "$VM_RUN/netns")" 2>/dev/null || true; fi
  rm -rf "$VM_RUN"
}

vm_cleanup_on_exit() { trap 'vm_status=$?; vm_teardown; exit $vm_status' EXIT; }

# ---------------------------------------------------------------------------------------------
# Storage: an iSCSI target on the host (tgt, userspace, in the namespace) and the guests' logins.

# tgtd's management socket is /var/run/tgtd/socket.N, shared by every tgtd on the machine: N is
# this run's subnet, so two harness runs (or a tgt someone started) never manage each other's.
vm_tgt_port() { echo $((VM_SUBNET * 10)); }
vm_tgtadm() { tgtadm -C "$(vm_tgt_port)" --lld iscsi "$@"; }

# vm_target_up FILE...: exports each FILE (a raw file) as LUN 1, 2, ... of one target,
# $VM_TARGET_IQN, on $(vm_san_prefix).1:3260, open to every guest on the SAN.
vm_target_up() {
  vm_net_up
  # A plain command, not vm_in_ns: $! must be tgtd itself (ip netns exec execs it), not a subshell.
  ip netns exec "$VM_NS" tgtd -f -C "$(vm_tgt_port)" --iscsi "portal=$(vm_san_prefix).1:3260" \
    >"$VM_RUN/tgtd.log" 2>&1 &
  echo $! >"$VM_RUN/tgtd.pid"
  local i
  for i in $(seq 50); do vm_tgtadm --op show --mode target >/dev/null 2>&1 && break; sleep 0.1; done
  vm_tgtadm --op new --mode target --tid 1 -T "$VM_TARGET_IQN" || vm_die "tgtd did not start (log: $VM_RUN/tgtd.log)"
  local lun=1 file
  for file in "$@"; do
    vm_tgtadm --op new --mode logicalunit --tid 1 --lun $lun -b "$file"
    lun=$((lun + 1))
  done
  vm_tgtadm --op bind --mode target --tid 1 -I ALL
}

vm_target_down() {
  [ -f "$VM_RUN/tgtd.pid" ] || return 0
  local pid
  pid=$(cat "$VM_RUN/tgtd.pid")
  # SIGKILL: tgtd ignores SIGTERM while it has targets, and holds nothing worth a clean stop.
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$VM_RUN/tgtd.pid"
}

# vm_lun_path LUN: the LUN's stable name in a guest (udev's by-path link).
vm_lun_path() { echo "/dev/disk/by-path/ip-$(vm_san_prefix).1:3260-iscsi-$VM_TARGET_IQN-lun-$1"; }

# vm_iscsi_login NAME: the guest logs in to the target with open-iscsi (the kernel's iscsi_tcp
# initiator) under an initiator name of its own, and waits for every LUN's by-path link.
vm_iscsi_login() {
  local name=$1
  vm_exec "$name" --timeout 90 "
    set -e
    echo InitiatorName=iqn.2026-12.org.vnic:$name >/etc/iscsi/initiatorname.iscsi
    modprobe iscsi_tcp
    iscsiadm -m discovery -t sendtargets -p $(vm_san_prefix).1 >/dev/null
    iscsiadm -m node -T $VM_TARGET_IQN -p $(vm_san_prefix).1 --login >/dev/null
    udevadm settle
    for i in \$(seq 100); do ls $(vm_lun_path 1) >/dev/null 2>&1 && exit 0; sleep 0.1; done
    echo 'no $(vm_lun_path 1) after login' >&2; exit 1" ||
    vm_die "$name: iSCSI login failed"
}

# ---------------------------------------------------------------------------------------------
# vnic on the guests: the package, the config, the unit.

# vm_build_deb OUTDIR: builds vnic's .deb, copies it to OUTDIR and prints its path. The one place
# that knows how the package is made: scripts/package-deb-cached.sh (scripts/package-deb.sh, once
# per tree state, in a cache the packaging tests share).
vm_build_deb() {
  local outdir=$1 cached deb
  cached=$("$VM_REPO/scripts/package-deb-cached.sh" "$VNIC_BUILD/package-cache") || vm_die "the .deb could not be built"
  mkdir -p "$outdir"
  deb=$(ls "$cached"/vnic_*.deb | grep -v dbgsym | head -n 1)
  cp "$deb" "$outdir/"
  echo "$outdir/$(basename "$deb")"
}

# vm_bump_deb DEB SUFFIX OUTDIR: the same package as version VERSION+SUFFIX (an upgrade of it);
# prints its path.
vm_bump_deb() {
  local deb=$1 suffix=$2 outdir=$3
  local work
  work=$(mktemp -d)
  dpkg-deb -R "$deb" "$work/pkg"
  local version
  version=$(sed -n 's/^Version: //p' "$work/pkg/DEBIAN/control")
  sed -i "s/^Version: .*/Version: $version+$suffix/" "$work/pkg/DEBIAN/control"
  local out=$outdir/vnic_${version}+${suffix}_amd64.deb
  dpkg-deb -b --root-owner-group "$work/pkg" "$out" >/dev/null
  rm -rf "$work"
  echo "$out"
}

# vm_install_deb NAME GUEST_PATH: apt installs the package in the guest, offline: its
# dependencies are in the image (VM_PACKAGES), so apt resolves them from the installed ones.
vm_install_deb() {
  vm_exec "$1" --timeout 180 "set -o pipefail; DEBIAN_FRONTEND=noninteractive apt-get install -y -q $2 2>&1 | tail -n 3" ||
    vm_die "$1: apt-get install $2 failed"
}

# vm_vnic_config NAME IFNAME VOLUME SLOT ADDRESS [EXTRA_JSON]: /etc/vnic/IFNAME.json for the
# shared LUN, as an admin writes it (docs/CONFIG.md).
vm_vnic_config() {
  local name=$1 ifname=$2 volume=$3 slot=$4 address=$5 extra=${6:-}
  vm_exec "$name" "mkdir -p /etc/vnic && cat >/etc/vnic/$ifname.json <<'JSON'
{
  \"volume\": \"$volume\",
  \"slot\": $slot,
  \"node_name\": \"$name\",
  \"addresses\": [\"$address\"]${extra:+,
  $extra}
}
JSON"
}

# vm_carrier NAME [IFNAME]: 1 or 0.
vm_carrier() { vm_exec "$1" "cat /sys/class/net/${2:-vnic0}/carrier"; }

# vm_wait_carrier NAME 0|1 SECONDS [IFNAME]
vm_wait_carrier() {
  vm_exec "$1" --timeout $(($3 + 5)) "for i in \$(seq $(($3 * 10))); do
      [ \"\$(cat /sys/class/net/${4:-vnic0}/carrier 2>/dev/null)\" = $2 ] && exit 0; sleep 0.1; done; exit 1"
}

# vm_main_pid NAME UNIT: the unit's main pid (0 when it has none).
vm_main_pid() { vm_exec "$1" "systemctl show -p MainPID --value $2"; }

# ---------------------------------------------------------------------------------------------
# The two-node cluster the vm tests share (tests/vm/fixture.sh boots it once; CTest's fixture
# vm_nodes): n1 and n2 on the LAN and the SAN, logged in to one iSCSI LUN in shared-LUN mode
# (slot 0 and 1), vnic installed from the .deb, vnicd@vnic0 enabled and running, vnic0 up.
VM_NODES=(n1 n2)
vm_node_number() { echo $((${1#n} + 10)); }           # n1 -> 11: its LAN, SAN and vnic0 host part
vm_node_slot() { echo $((${1#n} - 1)); }
vm_vnic_prefix() { echo "10.77.$((VM_SUBNET + 2))"; }
vm_vnic_addr() { echo "$(vm_vnic_prefix).$(vm_node_number "$1")"; }
vm_lan_addr() { echo "$(vm_lan_prefix).$(vm_node_number "$1")"; }
vm_peer() { [ "$1" = n1 ] && echo n2 || echo n1; }

# vm_fixture_attach: for a test of the vm label: the fixture's cluster must be up.
vm_fixture_attach() {
  vm_require
  local name
  for name in "${VM_NODES[@]}"; do
    vm_alive "$name" || vm_die "guest $name is not running: the fixture vm.setup did not run or failed"
  done
}

# vm_journal NAME UNIT [LINES]: the unit's journal in the guest, for a failing test's output.
vm_journal() { vm_exec "$1" "journalctl -u $2 --no-pager -o short-precise -n ${3:-30}" || true; }

# vm_fail MESSAGE: fails a vm test, with both nodes' vnicd journals.
vm_fail() {
  echo "FAIL: $*" >&2
  local name
  for name in "${VM_NODES[@]}"; do
    echo "---- $name: journalctl -u vnicd@vnic0" >&2
    vm_journal "$name" vnicd@vnic0 >&2
  done
  exit 1
}

# vm_wait_for NAME SECONDS CONDITION: polls the shell CONDITION in the guest every 50 ms until it
# holds; prints how many ms that took (by the guest's clock), or fails after SECONDS.
vm_wait_for() {
  local name=$1 seconds=$2 condition=$3
  vm_exec "$name" --timeout $((seconds + 10)) "t0=\${EPOCHREALTIME/./}
    while ! { $condition; } >/dev/null 2>&1; do
      [ \$(( \${EPOCHREALTIME/./} - t0 )) -lt $((seconds * 1000000)) ] || exit 1
      sleep 0.05
    done
    echo \$(( (\${EPOCHREALTIME/./} - t0) / 1000 ))"
}
