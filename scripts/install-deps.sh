#!/usr/bin/env bash
# Installs every build, test and demo dependency from Debian's archive.
# Idempotent: safe to run again; apt-get skips what is already there.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  clang libclang-rt-14-dev
  liburing-dev libaio-dev
  catch2 libfmt-dev nlohmann-json3-dev libcli11-dev libspdlog-dev
  libnl-3-dev libnl-route-3-dev libsodium-dev libsystemd-dev
  uuid-dev libcap-ng-dev
  iproute2 iputils-ping iperf3 socat jq util-linux procps kmod e2fsprogs
  gnuplot-nox
  faketime
  dpkg-dev debhelper lintian rpm rpmlint
  corosync keepalived pacemaker pacemaker-cli-utils
  stress-ng fio
  # The vm tests (tests/vm): Debian 12 guests under qemu, built with debootstrap, on an iSCSI
  # LUN served by tgt.
  qemu-system-x86 qemu-utils debootstrap tgt busybox-static cpio xz-utils
  # kmod-shim/: Debian 12's kernel headers (vnic.ko builds against 6.1), sparse to check it,
  # ethtool (tests/kmod runs it in the guest for the module's counters), and DKMS: dh-dkms builds
  # the vnic-dkms package, dkms builds the module from it in tests/kmod
  linux-headers-amd64 sparse ethtool dkms dh-dkms
  # pahole: newer kernels' Kbuild gives modules BTF with it (vnic.ko against bookworm-backports'
  # headers, which scripts/fetch-kernel-headers.sh unpacks below)
  dwarves
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: must run as root (apt-get install)" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# The headers of the kernel the VM harness's guests boot (tests/vm: debootstrap takes bookworm's
# main suite, not its security updates, so its ABI is usually older than linux-headers-amd64's):
# vnic.ko must be built against exactly that kernel to load in the guests (tests/kmod).
guest_kernel_headers() {
  local version
  main_version() { apt-cache madison linux-headers-amd64 | awk -F'|' '$3 ~ / bookworm\/main / { gsub(/ /, "", $2); print $2; exit }'; }
  version=$(main_version)
  if [ -z "$version" ]; then
    apt-get update -qq >/dev/null  # a fresh machine's package lists are empty
    version=$(main_version)
  fi
  [ -n "$version" ] || return 0
  apt-cache show "linux-headers-amd64=$version" | sed -n 's/^Depends: \(linux-headers-[^ ,]*\).*/\1/p' | head -n 1
}
guest_headers=$(guest_kernel_headers 2>/dev/null || true)
if [ -n "$guest_headers" ] && ! dpkg-query -W -f='${Status}' "$guest_headers" 2>/dev/null | grep -q "install ok installed"; then
  missing+=("$guest_headers")
fi

# The newest kernel headers bookworm-backports has, in a cache of their own (not installed): CI
# builds vnic.ko against them too. Not fatal here: without them that one test fails and says why.
newer_kernel_headers() {
  "$(dirname "$0")/fetch-kernel-headers.sh" >/dev/null ||
    echo "install-deps.sh: warning: bookworm-backports' kernel headers could not be fetched (tests/kmod/test_kmod_build.sh needs them)" >&2
}

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps.sh: all ${#packages[@]} packages already installed"
  newer_kernel_headers
  exit 0
fi

echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"

# The cluster packages are here for the tests and the demo, which run their own instances in
# network namespaces. On a machine with systemd, Debian's packages would also enable and start a
# host-wide corosync (a one-node cluster on 127.0.0.1), Pacemaker and keepalived: stop and
# disable those this run installed; a machine that already had them keeps them as they were.
if [ -d /run/systemd/system ]; then
  for service in corosync pacemaker keepalived; do
    case " ${missing[*]} " in
      *" $service "*) systemctl disable --now "$service.service" >/dev/null 2>&1 || true ;;
    esac
  done
fi

newer_kernel_headers
