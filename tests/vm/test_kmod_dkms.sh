#!/usr/bin/env bash
# The vnic-dkms package as an admin installs it on a cluster node: apt installs it on n1 (a booted
# Debian 12 guest whose image carries linux-headers-amd64, its kernel's own headers), and DKMS
# builds vnic.ko there, in the guest, for the running kernel; modprobe loads that build. The module
# then joins the fixture's shared iSCSI LUN on free slot 2, beside vnicd on n1 (slot 0) and n2
# (slot 1), as a device in a network namespace of its own on n1: carrier on, ping with n2 both
# ways, n2's vnicd sees slot 2 alive and owned by n1's vnick, and ip link del leaves a clean stop
# that n2 sees. apt purge then removes the module (dkms remove), leaving n1 as it was.
# Budget: the DKMS build runs on the guest's one emulated CPU, about two minutes of the test's
# three or four (docs/BENCHMARKS.md has no figure for it: it is a cost, not a speed).
source "$(dirname "$0")/vm_lib.sh"
vm_fixture_attach

share=$VM_RUN/share
cached=$("$VM_REPO/scripts/package-deb-cached.sh" "$VNIC_BUILD/package-cache") || vm_die "the .deb could not be built"
deb=$(ls "$cached"/vnic-dkms_*_all.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || vm_die "the package build made no vnic-dkms .deb: $(ls "$cached")"
cp "$deb" "$share/"
version=$(dpkg-deb -f "$deb" Version)
version=${version%-*}
kver=$(vm_exec n1 "uname -r")
vm_exec n1 "[ -d /usr/src/linux-headers-$kver ]" ||
  vm_fail "n1 has no headers for its kernel $kver (the image's VM_PACKAGES carry linux-headers-amd64)"

KMOD_NS=vnickm
cleanup() {
  vm_exec n1 --timeout 180 "ip netns del $KMOD_NS 2>/dev/null; modprobe -r vnic 2>/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -q vnic-dkms >/dev/null 2>&1; true" >/dev/null 2>&1 || true
}
trap 'status=$?; cleanup; exit $status' EXIT

t0=$SECONDS
out=$(vm_exec n1 --timeout 900 "set -o pipefail; DEBIAN_FRONTEND=noninteractive apt-get install -y -q /mnt/host/$(basename "$deb") 2>&1 | tail -n 15") ||
  { echo "$out"; vm_exec n1 "cat /var/lib/dkms/vnic/*/build/make.log" 2>/dev/null | tail -n 30; vm_fail "apt-get install vnic-dkms failed on n1"; }
echo "n1: apt-get install $(basename "$deb"), DKMS build included: $((SECONDS - t0)) s"
dkms_status=$(vm_exec n1 "dkms status vnic")
echo "n1: dkms status: $dkms_status"
[[ $dkms_status == *"vnic/$version, $kver, x86_64: installed"* ]] || vm_fail "dkms status does not show vnic/$version installed for $kver: $dkms_status"
path=$(vm_exec n1 "modinfo -n vnic")
[[ $path == /lib/modules/$kver/updates/dkms/vnic.ko* ]] || vm_fail "modinfo finds vnic at '$path', not in DKMS's tree for $kver"
vm_exec n1 "modprobe vnic" || vm_fail "modprobe vnic failed"
[ "$(vm_exec n1 "cat /sys/module/vnic/srcversion")" = "$(vm_exec n1 "modinfo -F srcversion vnic")" ] ||
  vm_fail "the loaded vnic is not the one DKMS installed"
[ "$(vm_exec n1 "cat /sys/module/vnic/version")" = "$version" ] || vm_fail "the loaded vnic does not report version $version"

lun=$(vm_lun_path 1)
addr=$(vm_vnic_prefix).13
sys=/sys/class/net/vnick/vnic
echo "n1: vnick in namespace $KMOD_NS, $lun slot 2, $addr"
vm_exec n1 "ip netns add $KMOD_NS && ip -n $KMOD_NS link add vnick type vnic &&
  ip netns exec $KMOD_NS sh -c 'echo $lun > $sys/volume && echo 2 > $sys/slot' &&
  ip -n $KMOD_NS addr add $addr/24 dev vnick && ip -n $KMOD_NS link set vnick up" ||
  { vm_exec n1 "ip netns exec $KMOD_NS cat $sys/last_error" || true; vm_fail "n1: vnick did not come up on slot 2"; }
vm_exec n1 "ip -n $KMOD_NS -d link show vnick" | grep -qw vnic || vm_fail "ip -d link does not name vnick's type vnic"
took=$(vm_wait_for n1 15 "[ \"\$(ip netns exec $KMOD_NS cat /sys/class/net/vnick/carrier)\" = 1 ]") ||
  { vm_exec n1 "ip netns exec $KMOD_NS cat $sys/peers; dmesg | grep vnick | tail -n 20" || true; vm_fail "n1: no carrier on vnick"; }
echo "n1: vnick carrier on after $took ms; peers:"
vm_exec n1 "ip netns exec $KMOD_NS cat $sys/peers"
out=$(vm_exec n1 --timeout 60 "ip netns exec $KMOD_NS ping -c 5 -i 0.2 -W 5 $(vm_vnic_addr n2)") ||
  { echo "$out"; vm_fail "n1's vnick cannot ping n2's vnic0"; }
tail -n 1 <<<"$out"
out=$(vm_exec n2 --timeout 60 "ping -I vnic0 -c 5 -i 0.2 -W 5 $addr") || { echo "$out"; vm_fail "n2 cannot ping n1's vnick"; }
tail -n 1 <<<"$out"
slot2() { vm_exec n2 "vnicctl status vnic0 --json | jq -r '.peers[] | select(.slot == 2) | $1'"; }
[ "$(slot2 .state)" = alive ] || vm_fail "n2 sees slot 2 $(slot2 .state), not alive"
[ "$(slot2 .owner)/$(slot2 .ifname)" = n1/vnick ] || vm_fail "n2 names slot 2's owner $(slot2 .owner)/$(slot2 .ifname), not n1/vnick"

vm_exec n1 "ip -n $KMOD_NS link del vnick && modprobe -r vnic" || vm_fail "n1: ip link del vnick and modprobe -r vnic failed"
vm_wait_for n2 5 "[ \"\$(vnicctl status vnic0 --json | jq -r '.peers[] | select(.slot == 2) | .state')\" = stopped ]" >/dev/null ||
  vm_fail "n2 does not see slot 2 stopped after ip link del vnick"
vm_exec n1 "systemctl is-active -q vnicd@vnic0" || vm_fail "n1: vnicd@vnic0 is not active after the module left"
vm_exec n1 --timeout 180 "DEBIAN_FRONTEND=noninteractive apt-get purge -y -q vnic-dkms >/dev/null 2>&1" || vm_fail "apt-get purge vnic-dkms failed"
vm_exec n1 "modinfo vnic" >/dev/null 2>&1 && vm_fail "vnic.ko is still installed after apt-get purge vnic-dkms"
echo PASS
