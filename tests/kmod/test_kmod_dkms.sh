#!/usr/bin/env bash
# vnic.ko as the vnic-dkms package delivers it: the package from the project's own .deb build,
# dkms add and dkms build for the guest's kernel (Debian 12's 6.1, against its headers) from
# /usr/src/vnic-VERSION as the package lays it out, then that module loaded in a Debian 12 guest:
# it is the DKMS build that runs (its srcversion), it reports the package's version, and it
# carries a ping both ways to vnicd on the host and stops cleanly on ip link del.
# (DKMS runs on the host against the guest kernel's headers: the harness's quick guest has no
# compiler, and a compiler in the booted guests would cost minutes of emulated CPU per run.)
KMOD_MODULE_BUILD=kmod_build_module_dkms
source "$(dirname "$0")/kmod_lib.sh"
kmod_setup
start_mirror --lag-ms 1

version=$(modinfo -F version "$KMOD_DKMS_KO")
srcversion=$(modinfo -F srcversion "$KMOD_DKMS_KO")
vermagic=$(modinfo -F vermagic "$KMOD_DKMS_KO")
note "dkms built vnic $version (srcversion $srcversion) for $vermagic"
[ "$version" = "$(dpkg-parsechangelog -l "$KMOD_REPO/packaging/debian/changelog" -S Version | sed 's/-[^-]*$//')" ] ||
  fail "the DKMS module's version $version is not the package's"
[ "${vermagic%% *}" = "$KMOD_KVER" ] || fail "the DKMS module was built for '$vermagic', not the guest's $KMOD_KVER"

note "load the DKMS build in the guest, ip link add vnic0 type vnic"
guest_vnic_up
[ "$(gx cat /sys/module/vnic/srcversion)" = "$srcversion" ] || fail "the loaded vnic is not the DKMS build"
[ "$(gx cat /sys/module/vnic/version)" = "$version" ] || fail "the loaded vnic does not report version $version"
[ "$(gx "$(guest_tool ethtool) -i vnic0" | awk '$1 == "version:" { print $2 }')" = "$version" ] ||
  fail "ethtool -i does not report version $version"

note "host vnicd starts: carrier on both sides, ping both ways"
lab_start_vnicd a
lab_wait_link_up a
lab_wait_until 10 "carrier on in the guest" guest_carrier_is 1
host_ns ping -c 3 -i 0.2 -W 2 "$GUEST_ADDR" >"$LAB_RUN/ping1" || { cat "$LAB_RUN/ping1"; fail "the host cannot ping the guest"; }
gx "ping -c 3 -W 2 $HOST_ADDR" >"$LAB_RUN/ping2" || { cat "$LAB_RUN/ping2"; fail "the guest cannot ping the host"; }

note "ip link del vnic0: the host sees a clean stop; rmmod"
gx "$(guest_tool ip) link del vnic0" || fail "ip link del vnic0 failed"
lab_wait_until 5 "the host to see the guest's clean stop" host_peer_is stopped
gx "rmmod vnic" || fail "rmmod vnic failed"
echo "PASS"
