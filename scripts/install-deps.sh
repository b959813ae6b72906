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
  dpkg-dev rpm
  corosync keepalived pacemaker pacemaker-cli-utils
  stress-ng fio
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: must run as root (apt-get install)" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps.sh: all ${#packages[@]} packages already installed"
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
