#!/usr/bin/env bash
# Builds the .deb as an admin would (scripts/package-deb.sh) and checks what an admin relies on:
# lintian has no error and no warning; the files, dependencies and maintainer scripts are right
# (the vnic user from sysusers.d, running instances restarted after an upgrade and stopped on
# removal, no systemctl calls); the binaries are hardened and run; the unit passes
# systemd-analyze; and dpkg installs, reinstalls (the upgrade path), removes and purges it in a
# scratch root (dpkg --root, maintainer scripts outside a chroot with DPKG_ROOT): removal keeps
# /etc/vnic and the admin's enablement, purge takes them and /var/lib/vnic, and the vnic user stays.
# The vnic-dkms package: its sources where DKMS looks, and dh_dkms's maintainer scripts
# (tests/vm/test_kmod_dkms.sh installs it in a booted guest, where DKMS builds and loads the module).
# Cost: one package build, a full compile (about 9 CPU-minutes: 5 minutes on an idle 2-core
# machine, 20-30 with the machine shared; less with CMAKE_CXX_COMPILER_LAUNCHER=ccache and a warm
# cache), lintian 15-35 s, the rest seconds.
set -euo pipefail
. "$(dirname "$0")/package_test_lib.sh"
package_test_build deb dpkg-buildpackage dh lintian dpkg-deb readelf nm systemd-analyze systemd-sysusers
debs=$built
deb=$(grep '/vnic_[^/]*\.deb$' <<<"$debs") || fail "scripts/package-deb.sh printed no vnic_*.deb: $debs"
changes=$(ls "$out"/vnic_*.changes)

# lintian on the .changes judges every .deb and the .buildinfo.
start=$SECONDS
lintian_status=0
lintian --fail-on error,warning --tag-display-limit 0 "$changes" >"$work/lintian.log" 2>&1 || lintian_status=$?
echo "lintian in $((SECONDS - start)) s, exit $lintian_status: $(grep -c '^[EWIPX]: ' "$work/lintian.log" || true) tag line(s)"
cat "$work/lintian.log"
! grep -q '^[EW]: ' "$work/lintian.log" || fail "lintian reports errors or warnings (above)"
[ "$lintian_status" -eq 0 ] || fail "lintian exited $lintian_status (above)"

files=$(dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./||')
for f in usr/sbin/vnicd usr/bin/vnicctl usr/bin/vnic-bench usr/bin/vnic-lab \
         lib/systemd/system/vnicd@.service usr/lib/sysusers.d/vnic.conf etc/vnic/ \
         usr/share/man/man8/vnicd.8.gz usr/share/man/man8/vnicctl.8.gz usr/share/man/man8/vnic-lab.8.gz \
         usr/share/man/man1/vnic-bench.1.gz usr/share/man/man5/vnic.json.5.gz \
         usr/share/doc/vnic/copyright usr/share/doc/vnic/changelog.gz \
         usr/share/doc/vnic/examples/vnic0.json.example \
         usr/share/doc/vnic/README.md usr/share/doc/vnic/CONFIG.md usr/share/doc/vnic/SECURITY.md; do
  grep -qx "$f" <<<"$files" || fail "the .deb lacks /$f"
done
# /etc/vnic is the admin's: the package ships it empty, so dpkg tracks no conffile there.
[ "$(grep '^etc/.' <<<"$files")" = "etc/vnic/" ] || fail "the .deb ships files in /etc: $(grep '^etc/.' <<<"$files")"
control_files=$(dpkg-deb --ctrl-tarfile "$deb" | tar -t)
! grep -q conffiles <<<"$control_files" || fail "the .deb has conffiles"

depends=$(dpkg-deb -f "$deb" Depends)
for dep in liburing2 libcap-ng0 libsodium23 iproute2 'systemd | systemd-standalone-sysusers'; do
  grep -qF "$dep" <<<"$depends" || fail "the .deb does not depend on $dep: $depends"
done
[ "$(dpkg-deb -f "$deb" Version)" = "$(dpkg-parsechangelog -l "$src/packaging/debian/changelog" -S Version)" ] ||
  fail "the .deb's version is not debian/changelog's"

mkdir "$work/ctrl"
dpkg-deb -e "$deb" "$work/ctrl"
grep -q '^ *systemd-sysusers .*vnic.conf' "$work/ctrl/postinst" || fail "the postinst does not make the vnic user (dh_installsysusers)"
grep -q "deb-systemd-invoke try-restart 'vnicd@\*.service'" "$work/ctrl/postinst" ||
  fail "the postinst does not restart running vnicd@ instances after an upgrade"
grep -q "deb-systemd-invoke stop 'vnicd@\*.service'" "$work/ctrl/prerm" || fail "the prerm does not stop vnicd@ instances on removal"

# vnic-dkms: kmod-shim/ as DKMS source under /usr/src/vnic-VERSION, with dh_dkms's scripts (the
# module built for the installed kernels at configure, removed from DKMS before removal).
dkms_deb=$(grep '/vnic-dkms_[^/]*_all\.deb$' <<<"$debs") || fail "scripts/package-deb.sh printed no vnic-dkms_*_all.deb: $debs"
upstream=$(dpkg-deb -f "$deb" Version | sed 's/-[^-]*$//')
dkms_files=$(dpkg-deb -c "$dkms_deb" | awk '{ print $6 }' | sed 's|^\./||')
for f in dkms.conf Kbuild Makefile $(cd "$src/kmod-shim" && ls ./*.c ./*.h | sed 's|^\./||'); do
  grep -qx "usr/src/vnic-$upstream/$f" <<<"$dkms_files" || fail "vnic-dkms lacks /usr/src/vnic-$upstream/$f"
done
grep -qx usr/share/doc/vnic-dkms/copyright <<<"$dkms_files" || fail "vnic-dkms lacks its copyright file"
dpkg-deb -f "$dkms_deb" Depends | grep -q '\bdkms\b' || fail "vnic-dkms does not depend on dkms: $(dpkg-deb -f "$dkms_deb" Depends)"
mkdir "$work/dkms-ctrl"
dpkg-deb -e "$dkms_deb" "$work/dkms-ctrl"
grep -q '/usr/lib/dkms/common.postinst' "$work/dkms-ctrl/postinst" || fail "vnic-dkms's postinst does not build the module (dh_dkms)"
grep -q "DKMS_VERSION=$upstream\$" "$work/dkms-ctrl/postinst" || fail "vnic-dkms's postinst does not name version $upstream"
grep -q 'dkms remove -m $DKMS_NAME' "$work/dkms-ctrl/prerm" || fail "vnic-dkms's prerm does not remove the module from DKMS"

# Hardening (DEB_BUILD_MAINT_OPTIONS=hardening=+all): PIE, full RELRO (BIND_NOW), stack protector.
dpkg-deb -x "$deb" "$work/files"
# (Each tool's output is read whole first: grep -q would end the pipe early, and pipefail fail it.)
for binary in usr/sbin/vnicd usr/bin/vnicctl usr/bin/vnic-bench; do
  header=$(readelf -hW "$work/files/$binary") dynamic=$(readelf -dW "$work/files/$binary")
  segments=$(readelf -lW "$work/files/$binary") symbols=$(nm -D "$work/files/$binary")
  grep -q 'Type:.*DYN' <<<"$header" || fail "/$binary is not PIE"
  grep -q 'BIND_NOW' <<<"$dynamic" || fail "/$binary is not linked with -z now"
  grep -q GNU_RELRO <<<"$segments" || fail "/$binary has no RELRO"
  grep -q ' U __stack_chk_fail' <<<"$symbols" || fail "/$binary has no stack protector"
  grep -q ' U __[a-z]*_chk@' <<<"$symbols" || fail "/$binary is not built with _FORTIFY_SOURCE"
done
[[ "$("$work/files/usr/sbin/vnicd" --version)" == *vnicd* ]] || fail "the packaged vnicd does not run"
"$work/files/usr/bin/vnicctl" --help >/dev/null || fail "the packaged vnicctl does not run"

# The unit: systemd-analyze verify (against the extracted vnicd) and the exposure score.
unit=$work/files/lib/systemd/system/vnicd@.service
sed "s|/usr/sbin/vnicd|$work/files/usr/sbin/vnicd|" "$unit" >"$work/vnicd@.service"
# MANPATH: verify runs man for the unit's Documentation=, which the package's own pages answer.
MANPATH=$work/files/usr/share/man systemd-analyze verify "$work/vnicd@.service" >"$work/verify.log" 2>&1 || true
if grep -v "ConditionPathExists" "$work/verify.log" | grep -q .; then
  cat "$work/verify.log"
  fail "systemd-analyze verify reports problems in the unit"
fi
max_exposure=2.0
systemd-analyze security --offline=yes --no-pager "$work/vnicd@.service" >"$work/security.log" 2>&1 || true
exposure=$(sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p' "$work/security.log")
[ -n "$exposure" ] || { cat "$work/security.log"; fail "systemd-analyze security gave no exposure level"; }
echo "systemd-analyze security: exposure $exposure (at most $max_exposure)"
awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }' ||
  { grep "✗" "$work/security.log"; fail "the unit's exposure $exposure is above $max_exposure"; }
# Decisions systemd-analyze cannot see: vnicd drops to vnic itself, and root without CAP_KILL
# could not signal it afterwards, so the reload must run with full privileges.
grep -q '^ExecStart=/usr/sbin/vnicd .*--user vnic' "$unit" || fail "the unit does not run vnicd --user vnic"
grep -q '^ExecReload=+' "$unit" || fail "the unit's ExecReload lacks '+': it could not signal vnicd running as vnic"
! grep '^CapabilityBoundingSet=' "$unit" | grep -q 'DAC_' || fail "the unit's bounding set has a CAP_DAC_* capability"

# Install, reinstall, remove and purge in a scratch root. The maintainer scripts run on this
# machine with DPKG_ROOT set; each guards its systemd calls with it, so the host's services are
# never touched. The libraries are not in the scratch root, hence --force-depends.
root=$work/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/etc"
touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
dpkg_root() { dpkg --root="$root" --force-script-chrootless --force-depends --log=/dev/null "$@" >>"$work/dpkg.log" 2>&1 ||
  { cat "$work/dpkg.log"; fail "dpkg $* failed in the scratch root"; }; }
dpkg_root -i "$deb"
[ -x "$root/usr/sbin/vnicd" ] || fail "dpkg -i did not install /usr/sbin/vnicd"
# Proof that the scripts saw DPKG_ROOT (systemd-sysusers --root): else stop before remove and purge.
grep -q '^vnic:x:[0-9]*:[0-9]*:.*:/nonexistent:' "$root/etc/passwd" 2>/dev/null ||
  { cat "$work/dpkg.log"; fail "the postinst did not make the vnic user in the scratch root"; }
echo '{"volume": "/dev/mapper/mpatha", "slot": 0}' >"$root/etc/vnic/vnic0.json"
mkdir -p "$root/var/lib/vnic" "$root/etc/systemd/system/multi-user.target.wants"
touch "$root/var/lib/vnic/lab.vol"
ln -s /lib/systemd/system/vnicd@.service "$root/etc/systemd/system/multi-user.target.wants/vnicd@vnic0.service"
dpkg_root -i "$deb"
[ -f "$root/etc/vnic/vnic0.json" ] || fail "reinstalling (the upgrade path) lost /etc/vnic/vnic0.json"
dpkg_root -r vnic
[ ! -e "$root/usr/sbin/vnicd" ] || fail "dpkg -r left /usr/sbin/vnicd"
[ -f "$root/etc/vnic/vnic0.json" ] || fail "dpkg -r removed /etc/vnic/vnic0.json (remove keeps the config)"
[ -L "$root/etc/systemd/system/multi-user.target.wants/vnicd@vnic0.service" ] || fail "dpkg -r dropped the admin's enablement"
dpkg_root -P vnic
[ ! -e "$root/etc/vnic" ] || fail "dpkg -P left /etc/vnic"
[ ! -e "$root/var/lib/vnic" ] || fail "dpkg -P left /var/lib/vnic"
[ ! -L "$root/etc/systemd/system/multi-user.target.wants/vnicd@vnic0.service" ] || fail "dpkg -P left the enablement of vnicd@vnic0"
grep -q '^vnic:' "$root/etc/passwd" || fail "dpkg -P removed the vnic user (Debian keeps system users)"
echo "PASS"
