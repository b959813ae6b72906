#!/usr/bin/env bash
# Builds the DEB and RPM from this build tree and checks what they install: the daemon, the
# tools, the systemd unit (which systemd-analyze must accept), /etc/vnic, and working binaries.
set -euo pipefail
: "${VNIC_BUILD:?}"
work=$(mktemp -d /var/tmp/vnic-pkg-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# Every check below runs, or the test skips (exit 77) naming what is missing: PASS means all ran.
skip() { echo "SKIPPED: $*"; exit 77; }
for tool in cpack rpmbuild rpm dpkg-deb tar systemd-analyze systemd-sysusers; do
  command -v "$tool" >/dev/null || skip "$tool is missing (scripts/install-deps.sh installs it)"
done
systemd-sysusers --help 2>/dev/null | grep -q -- --root || skip "systemd-sysusers has no --root"

(cd "$VNIC_BUILD" && cpack -G DEB -B "$work" >/dev/null 2>&1 && cpack -G RPM -B "$work" >/dev/null 2>&1) || fail "cpack failed"
deb=$(ls "$work"/*.deb) rpm=$(ls "$work"/*.rpm)
echo "built $(basename "$deb") and $(basename "$rpm")"

expected=(usr/sbin/vnicd usr/bin/vnicctl usr/bin/vnic-bench usr/bin/vnic-lab usr/lib/systemd/system/vnicd@.service
          usr/share/doc/vnic/CONFIG.md usr/share/doc/vnic/SECURITY.md usr/share/doc/vnic/vnic0.json.example
          usr/lib/sysusers.d/vnic.conf)
deb_files=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./||')
rpm_files=$(rpm -qlp "$rpm" 2>/dev/null | sed 's|^/||')
for f in "${expected[@]}" etc/vnic/; do
  grep -qx "$f" <<<"$deb_files" || fail "the DEB lacks /$f"
  grep -qx "${f%/}" <<<"$rpm_files" || fail "the RPM lacks /${f%/}"
done
dpkg-deb -f "$deb" Depends | grep -q liburing || fail "the DEB does not depend on liburing"
rpm -qp --requires "$rpm" 2>/dev/null | grep -q 'liburing' || fail "the RPM does not require liburing"
dpkg-deb -f "$deb" Depends | grep -q libcap-ng0 || fail "the DEB does not depend on libcap-ng0 (vnicd drops privileges with it)"
rpm -qp --requires "$rpm" 2>/dev/null | grep -q 'libcap-ng' || fail "the RPM does not require libcap-ng"

# The vnic user: made from the sysusers.d file by the DEB postinst, and by the RPM %pre.
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./postinst | grep -q "systemd-sysusers vnic.conf" ||
  fail "the DEB postinst does not make the vnic user"
rpm -qp --scripts "$rpm" 2>/dev/null | sed -n '/^preinstall/,/^[a-z]* scriptlet/p' | grep -q "useradd -r -g vnic" ||
  fail "the RPM %pre does not make the vnic user"

# What the DEB installs runs.
dpkg-deb -x "$deb" "$work/root"
"$work/root/usr/sbin/vnicd" --version | grep -q vnicd || fail "the packaged vnicd does not run"
"$work/root/usr/bin/vnicctl" --help >/dev/null || fail "the packaged vnicctl does not run"
# The unit refers to /usr/sbin/vnicd; verify it against the extracted copy.
sed "s|/usr/sbin/vnicd|$work/root/usr/sbin/vnicd|" "$work/root/usr/lib/systemd/system/vnicd@.service" \
  >"$work/vnicd@.service"
systemd-analyze verify "$work/vnicd@.service" >"$work/verify.log" 2>&1 || true
if grep -v "ConditionPathExists" "$work/verify.log" | grep -q .; then
  cat "$work/verify.log"
  fail "systemd-analyze verify reports problems in the unit"
fi
mkdir -p "$work/sysroot/etc"
systemd-sysusers --root="$work/sysroot" "$work/root/usr/lib/sysusers.d/vnic.conf" >/dev/null 2>&1 ||
  fail "systemd-sysusers refuses the package's vnic.conf"
grep -q '^vnic:x:[0-9]*:[0-9]*:.*:/nonexistent:' "$work/sysroot/etc/passwd" ||
  fail "vnic.conf does not make a vnic user without a home"
# Hardening: systemd's own exposure score for the unit (0 best, 10 worst), with a ceiling.
max_exposure=2.0
systemd-analyze security --offline=yes --no-pager "$work/vnicd@.service" >"$work/security.log" 2>&1 || true
exposure=$(sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p' "$work/security.log")
[ -n "$exposure" ] || { cat "$work/security.log"; fail "systemd-analyze security gave no exposure level"; }
echo "systemd-analyze security: exposure $exposure (at most $max_exposure)"
awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }' ||
  { grep "✗" "$work/security.log"; fail "the unit's exposure $exposure is above $max_exposure"; }
# Decisions systemd-analyze cannot see: vnicd drops to vnic itself, and root without CAP_KILL
# could not signal it afterwards, so the reload must run with full privileges.
unit=$work/root/usr/lib/systemd/system/vnicd@.service
grep -q '^ExecStart=/usr/sbin/vnicd .*--user vnic' "$unit" || fail "the unit does not run vnicd --user vnic"
grep -q '^ExecReload=+' "$unit" || fail "the unit's ExecReload lacks '+': it could not signal vnicd running as vnic"
! grep '^CapabilityBoundingSet=' "$unit" | grep -q 'DAC_' || fail "the unit's bounding set has a CAP_DAC_* capability"
echo "PASS"
